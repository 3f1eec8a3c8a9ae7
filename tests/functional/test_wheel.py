"""The built wheel, installed in a fresh virtual environment (not a checkout), gives README's commands.

The wheel is built from this checkout without build isolation (no network: setuptools and
wheel come from the test extra) and installed without dependencies; the environment sees
the running interpreter's site-packages through a path file for requests, aiohttp and the
rest, never this checkout.  Every command runs from an empty folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from ari.testing import Simulator

ROOT = Path(__file__).resolve().parents[2]


def run(command: List[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Path, Path, Path]]:
    """(the wheel, the environment's bin folder, an empty working folder)."""
    base = tmp_path_factory.mktemp("wheel")
    # A copy of the checkout: a build leaves build/ and *.egg-info behind, and a stale build/ of the
    # checkout's own could put deleted modules into the wheel.
    source = base / "source"
    junk = shutil.ignore_patterns(".git", ".venv*", ".tox", "build", "dist", "*.egg-info", "__pycache__", ".*cache")
    shutil.copytree(ROOT, source, ignore=junk)
    wheels = base / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        cwd=base,
        timeout=300,
    )
    (wheel,) = wheels.glob("asterisk_ari-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], cwd=base)
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base)
    # The dependencies: this interpreter's site-packages, appended after the environment's own.
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site.stdout.strip()) / "dependencies.pth").write_text("\n".join(paths) + "\n")
    work = base / "work"
    work.mkdir()
    yield wheel, venv / "bin", work


def test_the_wheel_carries_the_package_its_examples_and_stubs(installed: Tuple[Path, Path, Path]) -> None:
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "ari", "examples"], cwd=ROOT, capture_output=True, text=True)
    expected = {
        ("ari/" + name if name.startswith("examples/") else name)
        for name in tracked.stdout.split()
        if name.endswith((".py", ".pyi", ".json", "py.typed"))
    }
    assert expected, "no tracked files"
    assert expected - names == set(), "missing from the wheel: list new subpackages in setup.cfg's packages"
    assert {"ari/py.typed", "ari/types.pyi", "ari/examples/hello.py", "ari/testing/state/world.py"} <= names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: asterisk-ari" in text and "Requires-Python: >=3.9" in text
    assert "Provides-Extra: testing" in text and "aiohttp" in text and "License" in text
    entry_points = zipfile.ZipFile(wheel).read(metadata.replace("METADATA", "entry_points.txt")).decode()
    assert "ari = ari.cli:main" in entry_points


def test_readme_commands_run_from_the_installed_wheel(installed: Tuple[Path, Path, Path], ari_sim: Simulator) -> None:
    _, bin_dir, work = installed
    python = str(bin_dir / "python")
    where = run([python, "-c", "import ari, ari.examples; print(ari.__file__)"], cwd=work)
    assert where.stdout.strip().startswith(str(bin_dir.parent)), where.stdout
    demo = run([python, "-m", "ari", "demo", "--speed", "50", "--digits", "1#"], cwd=work)
    assert demo.stdout.splitlines()[-1].startswith("call ") and "    -> play sound:digits/1" in demo.stdout
    console = run([str(bin_dir / "ari"), "demo", "--speed", "50", "--digits", "#"], cwd=work)
    assert "    -> hang up" in console.stdout
    options = ["--url", ari_sim.url, "--user", ari_sim.username, "--password", ari_sim.password]
    ping = run([str(bin_dir / "ari"), *options, "asterisk", "ping", "--json"], cwd=work)
    assert json.loads(ping.stdout)["ping"] == "pong"


def test_type_checkers_see_the_installed_stubs(installed: Tuple[Path, Path, Path]) -> None:
    _, bin_dir, work = installed
    sample = work / "app.py"
    sample.write_text(
        "import ari\n"
        "client = ari.connect('http://localhost:8088', 'u', 'p')\n"
        "reveal_type(client.channels.originate(endpoint='PJSIP/1000'))\n"
        "client.channels.originate(endpoint='PJSIP/1000', timeout='soon')\n"
    )
    command = [sys.executable, "-m", "mypy", "--python-executable", str(bin_dir / "python"), "--no-incremental"]
    done = subprocess.run([*command, str(sample)], cwd=work, capture_output=True, text=True, timeout=300)
    assert 'Revealed type is "ari.types.Channel"' in done.stdout, done.stdout + done.stderr
    assert "app.py:4: error: No overload variant" in done.stdout
    assert done.stdout.count("error:") == 1, done.stdout
