"""Record a caller to a WAV file: answer, record with a beep, fetch the stored file, hang up.

A channel entering the application is answered and recorded (``wav``, 3 seconds at most,
after a beep, overwriting an older recording of that name) into a LiveRecording.  On
RecordingFinished the stored file is fetched with ``recordings.getStoredFile`` and written
to ``path``, then the channel is hung up.  Each step is reported through ``say``.

    python examples/record.py --app record-example --path message.wav
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any, Callable, Union

import ari


def main(
    client: Any,
    app: str,
    path: Union[str, Path] = "recording.wav",
    name: str = "record-example",
    say: Callable[[str], Any] = print,
) -> threading.Event:
    """Register the handlers on ``client``; the returned Event is set once the file is written
    and the channel hung up."""
    finished = threading.Event()

    def stasis_start(event: Any, channel: Any) -> None:
        say(f"{channel.name}: entered {app}, answering")
        channel.answer()
        recording = client.LiveRecording(name)

        def recording_finished(event: Any, recording: Any) -> None:
            say(f"recording {recording.name}: finished, {recording.duration} s")
            data = client.recordings.getStoredFile(recordingName=recording.name)
            Path(path).write_bytes(data)
            say(f"recording {recording.name}: {len(data)} bytes written to {path}")
            try:
                channel.hangup()
            except ari.NotFound:
                pass  # the caller hung up first
            say(f"{channel.name}: hung up")
            finished.set()

        # Listener first: the recording may finish before record() has returned.
        recording.once("RecordingFinished", recording_finished)
        say(f"{channel.name}: record {name} (wav, 3 s at most, beep)")
        # The recording's name comes from the instance, as in Node (channel.record(opts, recording)).
        channel.record({"format": "wav", "maxDurationSeconds": 3, "beep": True, "ifExists": "overwrite"}, recording)

    client.on("StasisStart", stasis_start)
    return finished


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="record-example")
    parser.add_argument("--path", default="recording.wav", help="where to write the WAV file")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        finished = main(client, args.app, args.path)
        client.start(args.app)
        try:
            finished.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    cli()
