"""Runs left RUNNING by a killed process: who owns a run, and closing only the dead ones.

A SIGKILL (or a power cut) leaves a run RUNNING forever; the next training run of the same
scenario marks it KILLED, so the UI shows no ghosts. Once several pipelines share one store
(parallel DVC experiments, a team server), "RUNNING" no longer means "orphaned": a parallel
experiment may be training the same scenario right now. So every run records its owner, the
process that holds it open (`multitask.process` = host:boot id:pid:start ticks, refreshed when
evaluate or register resume the run), and only runs whose owner is gone are closed:

- owner on this host and boot, and that pid now has another start time or no process: gone;
- owner on another host (a team server's other clients): not ours to judge, left alone;
- no owner tag: a run made before this rule existed, when any RUNNING run was an orphan: closed.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from multitask.tracking.execution import PROC, boot_id, start_ticks

log = logging.getLogger(__name__)

PROCESS_TAG = "multitask.process"


def process_tag(pid: int | None = None, proc: Path = PROC) -> str:
    """host:boot:pid:start-ticks of `pid` (default: this process), unique even when pids recycle."""
    pid = pid or os.getpid()
    ticks = start_ticks(pid, proc)
    return f"{socket.gethostname()}:{boot_id(proc)[:8]}:{pid}:{'' if ticks is None else ticks}"


def owner_gone(tag: str | None, proc: Path = PROC, host: str | None = None) -> bool:
    """Whether the process a run's PROCESS_TAG names is certainly gone (see the module doc)."""
    if not tag:
        return True  # legacy run (no owner recorded): the old rule, any RUNNING run is orphaned
    parts = tag.split(":")
    if len(parts) != 4 or not parts[2].isdigit() or int(parts[2]) < 1:
        return False  # not ours to parse: leave it
    owner_host, owner_boot, pid, ticks = parts
    if owner_host != (host or socket.gethostname()):
        return False  # another machine's run
    if owner_boot != boot_id(proc)[:8]:
        return True  # this machine rebooted since: every process of that boot is gone
    now = start_ticks(int(pid), proc)
    if now is not None:
        return bool(ticks) and str(now) != ticks  # a newer process has that pid now
    if boot_id(proc):
        return True  # /proc is readable and has no such process
    try:  # no /proc (not Linux): ask the kernel whether the pid exists
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def orphaned(runs: list, proc: Path = PROC) -> list:
    """The RUNNING `runs` (MLflow Run objects) whose owner is gone."""
    return [r for r in runs if owner_gone(r.data.tags.get(PROCESS_TAG), proc)]
