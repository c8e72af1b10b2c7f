"""One pipeline execution = one `dvc` process: every stage it runs gets the same pipeline id.

Unit tests walk a fake /proc tree; the integration test runs a real `dvc repro` whose two stages
write the id they see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from multitask.tracking.execution import ENV_VAR, dvc_ancestor, is_dvc, pipeline_id

ROOT = Path(__file__).resolve().parents[1]


def fake_proc(tmp: Path, chain: list[tuple[int, int, str, int]]) -> Path:
    """/proc with (pid, ppid, cmdline, start ticks) entries and a boot id."""
    proc = tmp / "proc"
    for pid, ppid, cmdline, ticks in chain:
        d = proc / str(pid)
        d.mkdir(parents=True)
        rest = ["S", str(ppid)] + ["0"] * 17 + [str(ticks), "0"]  # fields 3..23
        (d / "stat").write_text(f"{pid} (py thon) {' '.join(rest)}\n")
        (d / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")
    (proc / "sys/kernel/random").mkdir(parents=True)
    (proc / "sys/kernel/random/boot_id").write_text("b00t\n")
    return proc


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/p/.venv/bin/python", "/p/.venv/bin/dvc", "repro"], True),
        (["dvc", "exp", "run"], True),
        (["python3", "-m", "dvc", "repro"], True),
        (["python", "pipeline/train.py", "--scenario", "dvc"], False),
        (["/bin/sh", "-c", "dvc repro"], False),  # the shell is not the dvc process
        ([], False),
    ],
)
def test_is_dvc(argv: list[str], expected: bool) -> None:
    assert is_dvc(argv) is expected


def test_stages_of_one_dvc_process_share_an_id(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    proc = fake_proc(
        tmp_path,
        [
            (10, 1, "bash", 100),
            (20, 10, "/v/bin/python /v/bin/dvc repro", 200),
            (30, 20, "/bin/sh -c python pipeline/train.py", 300),
            (31, 30, "python pipeline/train.py --scenario a", 301),  # exec'd by the shell
            (40, 20, "python pipeline/train.py --scenario b", 400),  # no shell between
        ],
    )
    assert dvc_ancestor(31, proc) == (20, 200) == dvc_ancestor(40, proc)
    monkeypatch.setattr(os, "getpid", lambda: 31)
    first = pipeline_id(proc)
    monkeypatch.setattr(os, "getpid", lambda: 40)
    assert pipeline_id(proc) == first and first.startswith("dvc-")


def test_another_dvc_process_gets_another_id(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    chain = [(20, 1, "dvc repro", 200), (31, 20, "python train.py", 301)]
    monkeypatch.setattr(os, "getpid", lambda: 31)
    one = pipeline_id(fake_proc(tmp_path / "a", chain))
    chain[0] = (20, 1, "dvc repro", 999)  # same pid reused later: another start time
    assert pipeline_id(fake_proc(tmp_path / "b", chain)) != one


def test_without_dvc_each_call_is_its_own_execution(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    proc = fake_proc(tmp_path, [(10, 1, "bash", 100), (31, 10, "python train.py", 301)])
    monkeypatch.setattr(os, "getpid", lambda: 31)
    assert dvc_ancestor(proc=proc) is None
    assert pipeline_id(proc) != pipeline_id(proc)
    assert pipeline_id(tmp_path / "no-proc") != pipeline_id(tmp_path / "no-proc")


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, "sweep-7")
    assert pipeline_id(fake_proc(tmp_path, [(31, 1, "dvc repro", 1)])) == "sweep-7"


@pytest.mark.integration
def test_a_plain_dvc_repro_groups_its_stages(tmp_path: Path) -> None:
    """Two stages of one real `dvc repro` see one id; the next `dvc repro -f` another."""
    code = "from multitask.tracking.execution import pipeline_id as p; print(p())"
    show = f"'{sys.executable}' -c '{code}'"
    stages = {
        "a": {"cmd": f"{show} > a.txt", "outs": ["a.txt"]},
        "b": {"cmd": f"{show} > b.txt", "deps": ["a.txt"], "outs": ["b.txt"]},
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env.update(DVC_NO_ANALYTICS="1", PYTHONPATH=str(ROOT / "src"))
    dvc = str(Path(sys.executable).parent / "dvc")

    def run(*cmd: str) -> None:
        done = subprocess.run(
            cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{cmd}: {done.stdout}{done.stderr}"

    def ids() -> list[str]:
        return [(tmp_path / f).read_text().strip() for f in ("a.txt", "b.txt")]

    run("git", "init", "-q")
    run(dvc, "init", "-q")
    run(dvc, "repro")
    first = ids()
    assert first[0] == first[1] and first[0].startswith("dvc-"), first
    run(dvc, "repro", "-f")
    second = ids()
    assert second[0] == second[1] != first[0], (first, second)
