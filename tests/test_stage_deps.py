"""dvc.yaml's `deps` cover every project file a stage's command reads, so `dvc repro` never keeps
a stale output after a code or vocabulary change.

Each stage listed in STAGES runs its real dvc.yaml command (a small params file, in a temporary
folder) under an audit hook that records every file it opens: modules (a ``.pyc`` counts as its
source) and data files such as the generator's vocabulary. Every opened file of the project must
be a dep of the stage, or lie in a folder that is one. Stages run in dvc.yaml order, each in the
folder the previous ones wrote.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

STAGES = ["generate", "validate"]  # in pipeline order

# Runs `script args...` as __main__ and prints (as JSON) every file it opened.
TRACER = """
import json, os, runpy, sys
opened = set()
sys.addaudithook(lambda event, args: event == "open" and isinstance(args[0], str)
                 and opened.add(os.path.realpath(args[0])))
script, *args = sys.argv[1:]
sys.argv = [script, *args]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exit_:
    code = exit_.code or 0
opened |= {os.path.realpath(m.__file__) for m in list(sys.modules.values())
           if getattr(m, "__file__", None)}
print("\\n" + json.dumps({"code": code, "opened": sorted(opened)}))
"""


def _project_file(path: str) -> str | None:
    """`path` relative to the project (a .pyc as its source), or None if outside it."""
    p = Path(path)
    if p.parent.name == "__pycache__":
        p = p.parent.parent / f"{p.name.split('.')[0]}.py"
    venv = Path(sys.prefix).resolve()
    if not p.is_relative_to(ROOT) or p.is_relative_to(venv) or ".venv" in p.parts:
        return None
    return p.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Stage name -> the project files its command opened."""
    work = tmp_path_factory.mktemp("stages")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["generate"]["rows"] = 120
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = {}
    for name in STAGES:
        python, script, *args = shlex.split(stages[name]["cmd"])
        assert python == "python", stages[name]["cmd"]
        cmd = [sys.executable, "-c", TRACER, str(ROOT / script), *args]
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["code"] == 0, proc.stderr
        out[name] = {f for f in map(_project_file, result["opened"]) if f}
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_deps_cover_every_project_file_the_stage_opens(
    stage: str, opened: dict[str, set[str]]
) -> None:
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["deps"]
    deps = [d.rstrip("/") for d in deps]
    missing = sorted(
        f for f in opened[stage] if not any(f == d or f.startswith(f"{d}/") for d in deps)
    )
    assert not missing, f"dvc.yaml stage {stage!r} lacks deps {missing}"
    assert f"pipeline/{stage}.py" in opened[stage]  # the tracer saw the stage itself


def test_generate_reads_the_vocabulary_files(opened: dict[str, set[str]]) -> None:
    """The audit hook sees package data too: the vocabulary is a dep because it is read."""
    assert any(f.endswith(".yaml") and "/vocabulary/" in f for f in opened["generate"])
