"""Which pipeline execution a stage process belongs to: the MLflow tag `pipeline_id`.

One execution = one `dvc` process (`dvc repro`, `dvc exp run`, or the `dvc exp exec-run` a queue
worker starts per experiment) and every stage command it runs. DVC starts each stage as a child
(or grandchild, under torchrun) of that process, so a stage finds it among its ancestors, and its
id is derived from what all stages of the execution share and no other process has: the machine's
boot id, the dvc process's pid and its start time (kernel clock ticks, never re-read from the wall
clock). No coordination, no files: `make pipeline` and a plain `dvc repro` group alike.

Resolution order:
1. MULTITASK_PIPELINE_ID, when set (a team grouping a sweep of several dvc runs under one name);
2. the nearest `dvc` ancestor -> `dvc-<12 hex>` (Linux /proc);
3. otherwise (a stage script run by hand, no /proc) a fresh `<UTC time>-<6 hex>`: a group of one.

stdlib only: this sits at the bottom of the package (DESIGN.md, "Which part may use which").
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

ENV_VAR = "MULTITASK_PIPELINE_ID"
PROC = Path("/proc")


def _stat(pid: int, proc: Path) -> tuple[int, int]:
    """(parent pid, start time in clock ticks since boot) from /proc/<pid>/stat."""
    raw = (proc / str(pid) / "stat").read_text()
    # `comm` (field 2) is in parentheses and may hold spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])  # fields 4 (ppid) and 22 (starttime)


def _argv(pid: int, proc: Path) -> list[str]:
    return [a for a in (proc / str(pid) / "cmdline").read_bytes().decode().split("\0") if a]


def is_dvc(argv: list[str]) -> bool:
    """`dvc ...`, `python .../bin/dvc ...` or `python -m dvc ...`."""
    names = [Path(a).name for a in argv[:2]]
    return "dvc" in names or argv[1:3] == ["-m", "dvc"]


def dvc_ancestor(pid: int | None = None, proc: Path = PROC) -> tuple[int, int] | None:
    """(pid, start ticks) of the nearest `dvc` process above `pid` (default: this one)."""
    try:
        current, _ = _stat(pid or os.getpid(), proc)
        while current > 1:
            parent, ticks = _stat(current, proc)
            if is_dvc(_argv(current, proc)):
                return current, ticks
            current = parent
    except (OSError, ValueError, IndexError):  # no /proc, or a process gone meanwhile
        return None
    return None


def boot_id(proc: Path = PROC) -> str:
    """This boot of the machine ("" without /proc): pids and start ticks are unique within it."""
    try:
        return (proc / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_ticks(pid: int, proc: Path = PROC) -> int | None:
    """When process `pid` started (clock ticks since boot); None if no such process runs.

    A zombie (state Z or X) counts as gone: it has exited and only its exit status is left for a
    parent to collect, which in a container whose init never reaps may be forever.
    """
    try:
        raw = (proc / str(pid) / "stat").read_text()
        fields = raw[raw.rindex(")") + 2 :].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def pipeline_id(proc: Path = PROC) -> str:
    """The id shared by every run of this pipeline execution (see the module docstring)."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return explicit
    found = dvc_ancestor(proc=proc)
    if found is not None:
        pid, ticks = found
        key = f"{boot_id(proc)}:{pid}:{ticks}"
        return "dvc-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
