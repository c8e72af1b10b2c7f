"""Security basics, statically: no weights through pickle, no shell, servers on loopback only.

The code is parsed (ast), not grepped, so comments and strings do not count and aliases do:
- no ``pickle``/``cloudpickle``/``dill``/``joblib``/``marshal`` load, no ``torch.load`` without
  ``weights_only=True``, no ``numpy.load`` with ``allow_pickle=True``;
- no ``shell=True`` and no ``os.system``;
- every ``--host`` we pass to a server is 127.0.0.1.
The Dockerfile's non-root user and bandit (``make lint``) are checked elsewhere
(tests/test_container_lint.py, the Makefile).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = sorted(
    p
    for folder in ("src", "pipeline", "scripts", "benchmarks", "tests")
    for p in (ROOT / folder).rglob("*.py")
)
PICKLERS = {"pickle", "cloudpickle", "dill", "joblib", "marshal", "shelve"}


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    """(dotted name of the callee, call) for every call, with `import x as y` resolved."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(aliases.get(f.id, f.id))
                yield ".".join(reversed(parts)), node


def _kw(call: ast.Call, name: str) -> object:
    for k in call.keywords:
        if k.arg == name and isinstance(k.value, ast.Constant):
            return k.value.value
    return None


def _findings(path: Path) -> list[str]:
    out = []
    for name, call in _calls(ast.parse(path.read_text(), str(path))):
        where = f"{path.name}:{call.lineno}"
        root, _, leaf = name.rpartition(".")
        if root.split(".")[0] in PICKLERS and leaf in {"load", "loads", "Unpickler", "open"}:
            out.append(f"{where}: {name} (pickle-based loading)")
        if name == "torch.load" and _kw(call, "weights_only") is not True:
            out.append(f"{where}: torch.load without weights_only=True")
        if name in {"numpy.load", "np.load"} and _kw(call, "allow_pickle") is True:
            out.append(f"{where}: numpy.load(allow_pickle=True)")
        if _kw(call, "shell") is True or name in {"os.system", "os.popen"}:
            out.append(f"{where}: {name} through a shell")
    return out


def test_the_scanner_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle as p, torch, subprocess, numpy as np\n"
        "from joblib import load\n"
        "p.loads(b'')\nload('m.joblib')\ntorch.load('w.pt')\n"
        "torch.load('w.pt', weights_only=False)\nnp.load('a.npy', allow_pickle=True)\n"
        "subprocess.run('ls', shell=True)\n"
        "torch.load('ok.pt', weights_only=True)\n# pickle.load(f) in a comment is fine\n"
    )
    findings = [f.split(": ", 1)[1] for f in _findings(bad)]
    assert len(findings) == 6, findings


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_loading_and_no_shell(path: Path) -> None:
    if path.name == "test_security.py":
        return  # its own fixtures spell out the bad patterns in a string
    assert _findings(path) == []


def test_servers_we_start_listen_on_loopback_only() -> None:
    hosts = []
    for path in [*SOURCES, ROOT / "Makefile", *sorted((ROOT / "scripts").rglob("*.sh"))]:
        if path.name == "test_security.py":
            continue
        words = path.read_text().replace("=", " ").replace('"', " ").replace(",", " ").split()
        hosts += [(path.name, w2) for w1, w2 in itertools.pairwise(words) if w1 == "--host"]
    assert hosts, "no --host found: the scan is broken"
    bad = [(f, h) for f, h in hosts if h not in {"127.0.0.1", "HOST", "host", "{HOST}"}]
    assert not bad, bad
