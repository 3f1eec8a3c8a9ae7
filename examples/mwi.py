"""Node ari-client's MWI example, ported: mailbox counts follow messages recorded and played.

A channel entering the application is answered and hears ``vm-leavemsg`` then ``vm-next``.
Pressing 5 records a message (wav, ends after 2 s of silence, beep); once ``vm-msgsaved``
has played, the mailbox ``mwi-example`` gets one more new message and the channel is hung
up.  Pressing 6 plays the latest stored message, deletes it, takes one off the mailbox and
plays ``vm-next`` (or ``vm-nomore`` when there is none).  After each update the mailbox is
read back with ``get``.  Each step is reported through ``say`` (``print`` by default).

    python examples/mwi.py --app mwi-example
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import ari

MAILBOX = "mwi-example"


def main(client: Any, app: str, mailbox_name: str = MAILBOX, say: Callable[[str], Any] = print) -> None:
    """Register the handlers on ``client``; ``client.start(app)`` then serves calls."""
    # Create new mailbox (an instance: nothing is sent until it is updated).
    mailbox = client.Mailbox(mailbox_name)
    messages = 0

    def update_mailbox() -> None:
        mailbox.update(oldMessages=0, newMessages=messages)
        current = mailbox.get()
        say(f"mailbox {current.name}: {current.new_messages} new, {current.old_messages} old")

    def stasis_start(event: Any, channel: Any) -> None:
        say(f"{channel.name}: entered {app}, answering")

        def dtmf_received(event: Any, channel: Any) -> None:
            nonlocal messages
            digit = event.digit
            say(f"{channel.name}: pressed {digit}")
            if digit == "5":
                # Record a message.
                recording = client.LiveRecording()

                def recording_finished(event: Any, new_recording: Any) -> None:
                    say(f"recording {new_recording.name}: saved ({new_recording.duration} s)")
                    playback = client.Playback()

                    def message_saved(event: Any, new_playback: Any) -> None:
                        # Update MWI.
                        nonlocal messages
                        messages += 1
                        update_mailbox()
                        say(f"{channel.name}: hang up")
                        channel.hangup()

                    playback.once("PlaybackFinished", message_saved)
                    play(channel, "sound:vm-msgsaved", playback)

                recording.once("RecordingFinished", recording_finished)
                say(f"{channel.name}: record {recording.name}")
                channel.record({"format": "wav", "maxSilenceSeconds": 2, "beep": True}, recording)
            elif digit == "6":
                # Play back the latest message.
                recordings = client.recordings.listStored()
                playback = client.Playback()
                if not recordings:
                    play(channel, "sound:vm-nomore", playback)
                    return
                recording = recordings[-1]

                def latest_message(event: Any, new_playback: Any) -> None:
                    nonlocal messages
                    recording.deleteStored()
                    say(f"recording {recording.name}: deleted")
                    # Remove MWI.
                    messages -= 1
                    update_mailbox()
                    play(channel, "sound:vm-next", client.Playback())

                playback.once("PlaybackFinished", latest_message)
                play(channel, f"recording:{recording.name}", playback)

        channel.on("ChannelDtmfReceived", dtmf_received)
        channel.answer()

        # Tell the caller how to leave a message, then how to hear the next one.
        playback = client.Playback()
        playback.once("PlaybackFinished", lambda event, new_playback: play(channel, "sound:vm-next", client.Playback()))
        play(channel, "sound:vm-leavemsg", playback)

    def play(channel: Any, media: str, playback: Any) -> None:
        say(f"{channel.name}: play {media}")
        try:
            channel.play({"media": media}, playback)
        except (ari.NotFound, ari.Conflict):
            pass  # the caller hung up meanwhile

    client.on("StasisStart", stasis_start)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8088")
    parser.add_argument("--user", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--app", default="mwi-example")
    args = parser.parse_args()
    with ari.connect(args.url, args.user, args.password) as client:
        main(client, args.app)
        client.run(args.app)


if __name__ == "__main__":
    cli()
