"""The shipped stubs (ari/types.pyi): up to date, equal to what the client builds, and useful to type checkers.

mypy and pyright check a sample application (tests/typing/app.py: no error) and a file of
mistakes (tests/typing/mistakes.py: exactly the lines marked ``# E``) against the stubs.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

import ari
from ari import stubs
from ari.model import build_api
from ari.spec import save_description

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ari" / "types.pyi"
HERE = Path(__file__).resolve().parent
MYPY_CONFIG = """\
[mypy]
strict = True
[mypy-ari.*]
# The package's own modules are not what is checked here: only the sample against the stubs.
follow_imports = silent
"""


def marked_lines(path: Path) -> Set[int]:
    return {n for n, line in enumerate(path.read_text().splitlines(), 1) if "  # E: " in line}


# -- the shipped file ------------------------------------------------------------------------
def test_shipped_stubs_are_generated_from_the_carried_description() -> None:
    api = build_api(stubs.carried_description("22.10.1"))
    assert SHIPPED.read_text(encoding="utf-8") == stubs.render(api, "Asterisk 22.10.1"), (
        "ari/types.pyi is stale: python -m ari.stubs 22.10.1 ari/"
    )


def test_command_writes_stubs_from_a_version_a_folder_and_a_url(
    tmp_path: Path, ari_sim: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stubs.main(["22.10.1", str(tmp_path / "v")]) == 0
    assert (tmp_path / "v" / "types.pyi").read_text() == SHIPPED.read_text()
    save_description(stubs.carried_description("22.10.1"), str(tmp_path / "saved"))
    assert stubs.main([str(tmp_path / "saved"), str(tmp_path / "f.pyi")]) == 0
    from_folder = (tmp_path / "f.pyi").read_text()
    assert from_folder.split("\n", 1)[1] == SHIPPED.read_text().split("\n", 1)[1]
    assert "the description in saved" in from_folder.splitlines()[0]
    url_args = [ari_sim.url, str(tmp_path / "u"), "--user", ari_sim.username, "--password", ari_sim.password]
    assert stubs.main(url_args) == 0
    from_url = (tmp_path / "u" / "types.pyi").read_text()
    assert "class ChannelsResource(_Collection):" in from_url and ari_sim.url in from_url.splitlines()[0]
    out = capsys.readouterr().out.split()
    assert out == [str(tmp_path / "v" / "types.pyi"), str(tmp_path / "f.pyi"), str(tmp_path / "u" / "types.pyi")]


def test_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stubs.main(["9.9.9", str(tmp_path)]) == 2
    assert "'9.9.9' is no URL, folder or carried version" in capsys.readouterr().err
    assert stubs.main(["http://127.0.0.1:1", str(tmp_path)]) == 1
    assert "cannot connect" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# -- the stubs against the runtime -----------------------------------------------------------
class StubClass:
    """A class of the stub module: its attributes, and each function's keyword parameters."""

    def __init__(self, node: ast.ClassDef) -> None:
        self.bases = [ast.unparse(b) for b in node.bases]
        self.fields: Dict[str, str] = {}
        self.functions: Dict[str, List[ast.FunctionDef]] = {}
        self.aliases: Dict[str, str] = {}
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                self.fields[item.target.id] = ast.unparse(item.annotation)
            elif isinstance(item, ast.FunctionDef):
                self.functions.setdefault(item.name, []).append(item)
            elif isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
                self.aliases[item.targets[0].id] = ast.unparse(item.value)

    def names(self) -> Set[str]:
        return set(self.functions) | set(self.aliases)

    def keywords(self, name: str) -> Dict[str, bool]:
        """Keyword parameters of the first (typed, ARI-named) overload: name -> required."""
        target = self.aliases.get(name, name)
        first = self.functions[target][0].args
        return {
            a.arg: default is None
            for a, default in zip(first.kwonlyargs, first.kw_defaults)
            if a.arg not in ("callback", "kwargs")
        }


def stub_classes() -> Dict[str, StubClass]:
    tree = ast.parse(SHIPPED.read_text(encoding="utf-8"))
    return {node.name: StubClass(node) for node in tree.body if isinstance(node, ast.ClassDef)}


def runtime_operations(cls: type) -> Dict[str, Dict[str, bool]]:
    """Operation name -> its keyword parameters (name -> required), as the runtime signature shows."""
    found = {}
    for name in dir(cls):
        if name.startswith("_") or name in ("meta", "resource"):
            continue
        method = getattr(cls, name)
        signature = getattr(method, "__signature__", None)
        if signature is None:
            if name.endswith("_async"):
                found[name] = {}
            continue
        found[name] = {
            p.name: p.default is inspect.Parameter.empty
            for p in signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "callback"
        }
    return found


@pytest.fixture
def client(ari_mock: Any) -> Iterator[Any]:
    with ari.connect(ari_mock.url, ari_mock.username, ari_mock.password) as c:
        yield c


def test_every_operation_and_parameter_the_client_builds_is_in_the_stubs_and_nothing_else(client: Any) -> None:
    classes = stub_classes()
    checked = 0
    pairs: List[Tuple[str, type, Optional[Set[str]]]] = [
        (stubs.collection_class(name), type(collection), None) for name, collection in client.resources.items()
    ]
    resource_base = {"on", "once", "remove_listener", "remove_all_listeners", "removeListener", "removeAllListeners"}
    resource_base |= {"to_dict", "get"}  # get: an operation on most instances, a dict method on none
    for model, cls in client.meta.instance_classes.items():
        pairs.append((model, cls, resource_base))
    for stub_name, cls, inherited in pairs:
        stub = classes[stub_name]
        runtime = runtime_operations(cls)
        if inherited is not None:
            runtime = {k: v for k, v in runtime.items() if k not in inherited or k in stub.names()}
        assert set(runtime) == stub.names(), stub_name
        for name, keywords in runtime.items():
            # The _async form takes what the blocking form takes (its runtime signature is generic).
            expected = runtime[name[: -len("_async")]] if name.endswith("_async") else keywords
            assert stub.keywords(name) == expected, f"{stub_name}.{name}"
            checked += 1
    assert checked > 500  # every name of every operation, blocking and _async, collections and instances


def test_client_attributes_models_and_events_match(client: Any) -> None:
    classes = stub_classes()
    stub_client = classes["Client"]
    expected = set()
    for name in client.resources:
        expected |= {name, re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()}
        assert stub_client.fields[name] == stubs.collection_class(name)
    assert set(stub_client.fields) == expected
    assert set(stub_client.functions) - {"__enter__", "on", "once"} == set(client.meta.instance_classes)
    for model in client.meta.instance_classes:
        assert callable(getattr(client, model))
    api = client.api
    for name, model in api.models.items():
        assert name in classes, name
        fields = set(classes[name].fields) - {"type"}
        assert fields <= set(model.properties), name
        operations = classes[name].names()
        # Left out only where an operation has the name, or where no attribute can (event.from).
        unreadable = {p for p in model.properties if keyword.iskeyword(p)}
        assert set(model.properties) - fields <= operations | unreadable | {"type"}, name
    for event_type, promoted in api.event_resources.items():
        event = classes[event_type]
        assert event.fields["type"] == f"Literal[{event_type!r}]"
        for field, model in promoted.items():
            assert event.fields[field] == model, (event_type, field)
    tree = ast.parse(SHIPPED.read_text())
    literal = next(n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "EventType")
    assert ast.literal_eval(ast.unparse(literal).removeprefix("Literal")) == [*api.event_types, *stubs.CLIENT_EVENTS]


def test_the_clients_own_events_are_the_runtimes() -> None:
    from ari.events import CLIENT_EVENTS

    assert set(stubs.CLIENT_EVENTS) == set(CLIENT_EVENTS)


def test_connect_signature_matches() -> None:
    from ari import client as runtime

    tree = ast.parse(SHIPPED.read_text())
    connect = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "connect")
    stub_names = [a.arg for a in (*connect.args.args, *connect.args.kwonlyargs)]
    assert stub_names == list(inspect.signature(runtime.connect).parameters)


# -- type checkers -----------------------------------------------------------------------------
def _mypy(tmp_path: Path, *files: Path) -> str:
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_CONFIG)
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental"]
    command += ["--cache-dir", str(tmp_path / "cache"), *map(str, files)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done.stdout + done.stderr


def _pyright(*files: Path) -> str:
    executable = shutil.which("pyright", path=str(Path(sys.executable).parent))
    assert executable, "pyright is a test dependency (pip install -e '.[test]')"
    command = [executable, "--pythonpath", sys.executable, *map(str, files)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done.stdout + done.stderr


def _error_lines(output: str, path: Path) -> Set[int]:
    pattern = re.compile(re.escape(path.name) + r":(\d+)(?::\d+)?(?::| -) error")
    return {int(m.group(1)) for m in pattern.finditer(output)}


def test_mypy_accepts_the_sample_app_and_reports_each_mistake(tmp_path: Path) -> None:
    app, mistakes = HERE / "app.py", HERE / "mistakes.py"
    output = _mypy(tmp_path, app, mistakes)
    assert _error_lines(output, app) == set(), output
    assert _error_lines(output, mistakes) == marked_lines(mistakes), output
    assert "ari/" not in "".join(line for line in output.splitlines() if " error" in line), output


def test_pyright_accepts_the_sample_app_and_reports_each_mistake() -> None:
    app, mistakes = HERE / "app.py", HERE / "mistakes.py"
    output = _pyright(app, mistakes)
    assert _error_lines(output, app) == set(), output
    assert _error_lines(output, mistakes) == marked_lines(mistakes), output


def test_a_runtime_import_of_ari_types_says_what_to_do() -> None:
    with pytest.raises(ImportError, match="TYPE_CHECKING"):
        import ari.types  # noqa: F401
