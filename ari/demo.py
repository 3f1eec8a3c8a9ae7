"""``python -m ari demo``: the DTMF example (examples/hello.py) run against the embedded simulator.

Its one job is the demo: start a ``Simulator``, connect a client, load ``main`` from
``examples/hello.py`` (shipped in the package as ``ari/examples/``), place a call, press
digits, wait (bounded) until the call is hung up, and write a transcript of what the
application did and which events it saw.
It must not be imported by the library: it is a command, so it writes to a stream.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TextIO, cast

if TYPE_CHECKING:
    from .types import EventType

APP = "hello"
# The demo's far end: each sound and key press in simulated seconds; generous for the slowest speed.
SIMULATED_SECONDS = 120.0


class DemoError(Exception):
    """The demo could not run; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def examples_dir() -> Path:
    """The examples: ``ari/examples/`` in an installed wheel, the repository's ``examples/`` in a checkout.

    setup.cfg maps the repository's folder onto ``ari.examples``, so a wheel carries it; a
    checkout (and its editable install) has the folder beside the package instead.
    """
    package = Path(__file__).resolve().parent
    shipped = package / "examples"
    return shipped if shipped.is_dir() else package.parent / "examples"


def load_example(path: Path) -> ModuleType:
    if not path.is_file():
        raise DemoError(
            f"the demo runs {path.name} from the package's examples, and {path} does not exist; "
            "reinstall asterisk-ari (pip install --force-reinstall asterisk-ari)",
            2,
        )
    spec = importlib.util.spec_from_file_location("ari_example_hello", path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot load {path}", 2)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise DemoError(f"{path} has no main(client, app, say)", 2)
    return module


def describe(event: Any) -> str:
    """One line for an event: its type and the object it is about."""
    data: Dict[str, Any] = event.to_dict() if hasattr(event, "to_dict") else dict(event)
    kind = data.get("type", "?")
    parts: List[str] = []
    channel = data.get("channel")
    if isinstance(channel, dict):
        parts.append(f"channel {channel.get('name')} ({channel.get('state')})")
    playback = data.get("playback")
    if isinstance(playback, dict):
        parts.append(f"playback {playback.get('media_uri')} ({playback.get('state')})")
    bridge = data.get("bridge")
    if isinstance(bridge, dict):
        parts.append(f"bridge {bridge.get('id')}")
    if "digit" in data:
        parts.append(f"digit {data['digit']}")
    if kind == "StasisStart":
        parts.append(f"args {data.get('args')}")
    if "cause_txt" in data:
        parts.append(f"cause {data.get('cause')} {data['cause_txt']}")
    return f"{kind:<22} {' '.join(parts)}".rstrip()


def run(speed: float = 10.0, digits: str = "12*#", out: TextIO = sys.stdout, example: Optional[Path] = None) -> int:
    """Run the demo; returns the exit status (raises DemoError when it cannot run)."""
    import ari

    hello = load_example(example or examples_dir() / "hello.py")
    try:
        from ari.testing.simulator import Simulator
    except ImportError as e:
        raise DemoError(f"the simulator needs aiohttp ({e}): pip install 'asterisk-ari[testing]'", 2) from e

    lock = threading.Lock()
    progress = threading.Condition()
    seen: List[str] = []
    plays: List[str] = []
    call: Dict[str, str] = {}

    def write(line: str) -> None:
        with lock:
            out.write(line + "\n")
            out.flush()

    def say(line: str) -> None:
        # hello.py says "<channel id>: <what it does>"; the id is in the event lines already.
        what = line.split(": ", 1)[-1]
        write("    -> " + what)
        with progress:
            if what.startswith("play "):
                plays.append(what)
            progress.notify_all()

    def saw(event: Any, *instances: Any) -> None:
        write(describe(event))
        with progress:
            seen.append(event.type)
            channel = event.get("channel")
            # The call entered through the dialplan: StasisEnd is the last the app hears of it.
            if event.type == "StasisEnd" and channel is not None and channel["id"] == call.get("id"):
                seen.append("hung up")
            progress.notify_all()

    def played_more_than(count: int) -> Callable[[], bool]:
        return lambda: len(plays) > count

    timeout = SIMULATED_SECONDS / speed + 5.0

    def wait_until(what: str, ready: Callable[[], bool]) -> None:
        # What the client has seen and done, not what the simulator sent: the transcript
        # then reads in order (the caller presses a key once the app has reacted to the last).
        with progress:
            if not progress.wait_for(ready, timeout):
                raise DemoError(f"{what} did not happen within {timeout:.0f} s")

    with Simulator(speed=speed) as sim, ari.connect(sim.url, sim.username, sim.password) as client:
        write(f"simulated Asterisk at {sim.url} (speed x{speed:g}); running examples/hello.py as app {APP!r}")
        # Registered before the example's own handlers, so each event line comes before the
        # application's reaction to it.
        for event_type in sorted(client.api.event_types):
            client.on(cast("EventType", event_type), saw)
        hello.main(client, APP, say)
        client.start(APP)

        call["id"] = cid = sim.call(APP, caller='"Demo caller" <1000>')
        wait_until("the greeting", lambda: "PlaybackFinished" in seen)
        for digit in digits:
            write(f"(caller presses {digit})")
            before = len(plays)
            sim.dtmf(cid, digit)
            wait_until(f"the reaction to {digit}", played_more_than(before))
        if "#" not in digits:
            write("(caller hangs up)")
            sim.hangup(cid)
        wait_until("the hangup", lambda: "hung up" in seen)
        client.stop()
        write(f"call {cid} hung up; the application saw {len(seen) - 1} events")
    return 0


__all__ = ["DemoError", "describe", "examples_dir", "run"]
