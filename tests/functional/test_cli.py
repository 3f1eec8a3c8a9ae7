"""The ``ari`` command line, run as a terminal runs it (a subprocess) against the simulator."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import ari
import ari.cli
from ari.cli import output
from ari.testing import Simulator

SECRET = "s3cret-never-shown"


def env_for(sim: Optional[Simulator] = None, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARI_")}
    env.pop("NO_COLOR", None)
    if sim is not None:
        env.update(ARI_URL=sim.url, ARI_USERNAME=sim.username, ARI_PASSWORD=sim.password)
    env.update(extra)
    return env


def ari_cli(*args: str, sim: Optional[Simulator] = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ari", *args], capture_output=True, text=True, timeout=60, env=env_for(sim, **env)
    )


# -- operations ------------------------------------------------------------------------------
def test_call_operations_as_a_table_and_as_json(ari_sim: Simulator) -> None:
    empty = ari_cli("bridges", "list", sim=ari_sim)
    assert (empty.returncode, empty.stdout.strip(), empty.stderr) == (0, "(none)", "")
    created = ari_cli("bridges", "create", "--type", "mixing", "--name", "conference", sim=ari_sim)
    assert created.returncode == 0, created.stderr
    fields = dict(line.split(None, 1) for line in created.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert fields["name"] == "conference" and fields["technology"] == "simple_bridge"
    listed = ari_cli("bridges", "list", "--json", sim=ari_sim)
    bridges = json.loads(listed.stdout)
    assert [b["id"] for b in bridges] == [fields["id"]] and bridges[0]["bridge_type"] == "mixing"
    table = ari_cli("bridges", "list", sim=ari_sim).stdout.splitlines()
    assert table[0].split()[0] == "id" and table[1].split()[0] == fields["id"]
    # ARI, kebab-case and snake_case spellings of a parameter; the ARI name of the operation.
    for spelling in ("--bridgeId", "--bridge-id", "--bridge_id"):
        got = ari_cli("bridges", "get", spelling, fields["id"], "--json", sim=ari_sim)
        assert json.loads(got.stdout)["name"] == "conference", got.stderr
    with ari.connect(ari_sim.url, ari_sim.username, ari_sim.password) as app:
        app.start("cli-app")  # a channel the simulator's caller places needs its app up
        channel_id = ari_sim.call("cli-app")
        app.stop()
    variable = ari_cli(
        "channels", "getChannelVar", "--channel-id", channel_id, "--variable", "CALLERID(num)", sim=ari_sim
    )
    assert variable.returncode == 0 and variable.stdout.split() == ["value", "1000"], variable.stderr
    # A body parameter given as JSON, and a void operation: nothing printed, status 0.
    done = ari_cli(
        "channels", "set-channel-var", "--channel-id", channel_id, "--variable", "X", "--value", "1", sim=ari_sim
    )
    assert (done.returncode, done.stdout) == (0, "")
    assert ari_cli("channels", "hangup", "--channel-id", channel_id, sim=ari_sim).returncode == 0


def test_server_options_override_the_environment(ari_sim: Simulator) -> None:
    options = ["--url", ari_sim.url, "--user", ari_sim.username, "--password", ari_sim.password]
    before = ari_cli(*options, "asterisk", "ping", "--json", ARI_URL="http://127.0.0.1:1")
    assert json.loads(before.stdout)["ping"] == "pong", before.stderr
    after = ari_cli("asterisk", "ping", *options, ARI_URL="http://127.0.0.1:1")
    assert after.returncode == 0 and "pong" in after.stdout


def test_listing_and_help_of_operations(ari_sim: Simulator) -> None:
    listing = ari_cli("channels", sim=ari_sim)
    assert listing.returncode == 0
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:]]
    assert "originate" in names and "send_dtmf" in names and "sendDTMF" not in names
    helped = ari_cli("channels", "originate", "--help", sim=ari_sim)
    assert helped.returncode == 0
    assert (
        "--endpoint VALUE" in helped.stdout and "--app-args" in helped.stdout and "channels.originate" in helped.stdout
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["chanels", "list"], 2, "unknown resource 'chanels'; did you mean 'channels'?"),
        (["channels", "orignate"], 2, "unknown operation of channels 'orignate'; did you mean 'originate'?"),
        (["channels", "originate"], 2, "the following arguments are required: --endpoint"),
        (["channels", "originate", "--endpoint", "PJSIP/1", "--timeout", "soon"], 2, "expected an integer"),
        (["channels", "get", "--channel-id", "nope"], 1, "404 (Not Found)"),
        (["channels", "--bogus"], 2, "name an operation before the options --bogus"),
        (["device-states", "update", "--device-name", "Stasis:x", "--device-state", "BUZY"], 2, "is not one of"),
    ],
)
def test_errors_have_a_message_and_an_exit_status(ari_sim: Simulator, args: List[str], code: int, message: str) -> None:
    done = ari_cli(*args, sim=ari_sim)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_unreachable_server_and_refused_credentials_exit_3_without_the_password(ari_sim: Simulator) -> None:
    down = ari_cli("channels", "list", ARI_URL="http://127.0.0.1:1", ARI_PASSWORD=SECRET)
    assert down.returncode == 3 and "cannot reach ARI at http://127.0.0.1:1" in down.stderr
    refused = ari_cli("--url", ari_sim.url, "--user", "asterisk", "--password", SECRET, "channels", "list")
    assert refused.returncode == 3
    assert "refused the credentials (401)" in refused.stderr and "ARI_PASSWORD" in refused.stderr
    for done in (down, refused):
        assert SECRET not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_no_command_prints_usage_and_exits_2() -> None:
    done = ari_cli()
    assert done.returncode == 2 and "usage: python -m ari" in done.stderr and "ARI_URL" in done.stderr


# -- events ----------------------------------------------------------------------------------
def _read_line(stream: Any, timeout: float) -> str:
    lines: List[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, f"no output within {timeout}s"
    return lines[0]


@contextlib.contextmanager
def _tail(sim: Simulator, *args: str, **env: str) -> Iterator[subprocess.Popen]:
    """``ari events ARGS`` running; killed if the test fails before it ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ari", "events", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(sim, **env),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_events_tail_filters_by_type_and_stops_after_count(ari_sim: Simulator) -> None:
    with _tail(ari_sim, "tail-app", "--type", "StasisStart", "--type", "ChannelDtmfReceived", "--count", "3") as proc:
        assert _read_line(proc.stderr, 20).startswith("listening as tail-app")
        channel_id = ari_sim.call("tail-app", args=["x"])
        ari_sim.dtmf(channel_id, "1#")
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["StasisStart", "ChannelDtmfReceived", "ChannelDtmfReceived"]
    assert "channel=PJSIP/1000-" in lines[0] and 'args=["x"]' in lines[0]
    assert "digit=1" in lines[1] and "digit=#" in lines[2]
    assert "\x1b[" not in out  # not a terminal: no colour unless asked


def test_events_tail_json_colour_and_exclusions(ari_sim: Simulator) -> None:
    with _tail(ari_sim, "j-app", "--json", "--not-type", "ChannelVarset", "--count", "2") as proc:
        assert _read_line(proc.stderr, 20).startswith("listening as j-app")
        ari_sim.dtmf(ari_sim.call("j-app"), "5")
        out, _ = proc.communicate(timeout=20)
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["type"] == "StasisStart" and events[0]["application"] == "j-app"
    assert all(e["type"] != "ChannelVarset" for e in events)
    with _tail(ari_sim, "c-app", "--color", "always", "--type", "StasisStart", "--count", "1") as proc:
        assert _read_line(proc.stderr, 20).startswith("listening")
        ari_sim.call("c-app")
        out, _ = proc.communicate(timeout=20)
    assert "\x1b[1;36mStasisStart" in out
    with _tail(ari_sim, "n-app", "--color", "auto", "--count", "1", NO_COLOR="1") as proc:
        assert _read_line(proc.stderr, 20).startswith("listening")
        ari_sim.call("n-app")
        out, _ = proc.communicate(timeout=20)
    assert "StasisStart" in out and "\x1b[" not in out


def test_events_tail_unknown_type_is_a_usage_error(ari_sim: Simulator) -> None:
    done = ari_cli("events", "x", "--type", "StasisStrat", sim=ari_sim)
    assert done.returncode == 2 and "unknown event type 'StasisStrat'; did you mean 'StasisStart'?" in done.stderr


def test_events_tail_stops_on_ctrl_c(ari_sim: Simulator) -> None:
    launcher = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('ari', run_name='__main__', alter_sys=True)"
    )
    command = [sys.executable, "-c", launcher, "events", "i-app"]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env_for(ari_sim)
    ) as p:
        assert _read_line(p.stderr, 20).startswith("listening as i-app")
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=15) == 130


# -- the other commands ----------------------------------------------------------------------
def test_spec_save_then_call_from_the_saved_description(ari_sim: Simulator, tmp_path: Path) -> None:
    saved = ari_cli("spec", "save", str(tmp_path / "spec"), sim=ari_sim)
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "spec" / "resources.json").is_file() and (
        tmp_path / "spec" / "api-docs" / "channels.json"
    ).is_file()
    offline = ari_cli("--spec", str(tmp_path / "spec"), "asterisk", "ping", sim=ari_sim)
    assert offline.returncode == 0 and "pong" in offline.stdout
    missing = ari_cli("--spec", str(tmp_path / "nowhere"), "channels", "list", sim=ari_sim)
    assert (
        missing.returncode == 2 and "unusable API description" in missing.stderr and "file not found" in missing.stderr
    )
    failed = ari_cli("spec", "save", str(tmp_path / "other"), ARI_URL="http://127.0.0.1:1")
    assert failed.returncode == 3 and "cannot connect" in failed.stderr


def test_stubs_command(tmp_path: Path, ari_sim: Simulator) -> None:
    done = ari_cli("stubs", "22.10.1", str(tmp_path))
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path / "types.pyi")
    assert "class ChannelsResource(_Collection):" in (tmp_path / "types.pyi").read_text()
    credentials = ["--user", ari_sim.username, "--password", ari_sim.password]
    from_server = ari_cli("stubs", ari_sim.url, str(tmp_path / "live"), *credentials)
    assert from_server.returncode == 0, from_server.stderr
    assert ari_sim.url in (tmp_path / "live" / "types.pyi").read_text().splitlines()[0]


def test_simulator_command_serves_until_sigint() -> None:
    launcher = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('ari', run_name='__main__', alter_sys=True)"
    )
    command = [sys.executable, "-c", launcher, "simulator", "--port", "0", "--speed", "20"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for()) as proc:
        try:
            banner = _read_line(proc.stdout, 30)
            assert banner.startswith("ARI simulator at http://127.0.0.1:"), banner
            url = banner.split()[3][: -len("/ari")]
            with ari.connect(url, "asterisk", "asterisk") as client:
                assert client.asterisk.ping().ping == "pong"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


# -- in process: output shapes and the layering ----------------------------------------------
def test_table_shapes() -> None:
    rows = [{"id": "1", "name": "a", "caller": {"number": "1000"}}, {"id": "22", "name": "b" * 60, "extra": True}]
    lines = output.table(rows).splitlines()
    assert lines[0].split() == ["id", "name", "extra", "caller"]
    assert lines[2].startswith("22  " + "b" * 37 + "...")
    assert output.table([]) == "(none)" and output.table({}) == "(empty)" and output.table(["a", "b"]) == "a\nb"
    assert output.table({"a": 1, "bb": {"c": 2}}) == 'a   1\nbb  {"c":2}'


def test_command_line_modules_use_only_the_public_api() -> None:
    allowed = {"ari", "ari.cli", "ari.cli.output", "ari.cli.call", "ari.cli.tail", "ari.demo", "ari.spec", "ari.stubs"}
    allowed.add("ari.testing.__main__")
    folder = Path(ari.cli.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = "ari.cli" if node.level == 1 else "ari"
                name = f"{base}.{node.module}" if node.module else base
                assert name in allowed, (path.name, name)
            elif isinstance(node, ast.ImportFrom) or isinstance(node, ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n and n.startswith("ari.") and n not in allowed for n in names), (path.name, names)
