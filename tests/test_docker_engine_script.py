"""scripts/docker/engine.sh starts a daemon that lets go of its caller, and stops only its own.

The engine script is run for real, with stand-ins for the two programs it drives (`docker`,
`dockerd`) first on PATH, so that what is tested is the script's process handling, in a second,
on any machine: `start` must return with the caller's captured stdout/stderr closed (a test or CI
step that reads them to their end would otherwise wait on dockerd for ever: a CI run lost 30
minutes to that), leave exactly one daemon running that init adopted, and `stop` must end it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "scripts" / "docker" / "engine.sh"

# `dockerd` stand-in: writes its pidfile (the path follows --pidfile), then serves until killed.
FAKE_DOCKERD = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --pidfile ] && pidfile="$2"; shift; done
echo $$ > "$pidfile"
trap 'exit 0' TERM
while :; do sleep 0.1; done
"""
# `docker` stand-in: `docker info` answers once the daemon stand-in has written its pidfile.
FAKE_DOCKER = """#!/bin/sh
pidfile="$MT_DOCKER_STATE/dockerd.pid"
[ "$1" = info ] && [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")"
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("engine.sh runs dockerd as root (sudo otherwise)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("dockerd", FAKE_DOCKERD), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "MT_DOCKER_STATE": str(tmp_path / "state"),
    }


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_start_lets_go_of_the_callers_output_and_stop_ends_the_daemon(env, tmp_path):
    t0 = time.monotonic()
    try:
        # capture_output: run() returns only when every holder of the pipes has closed them.
        proc = subprocess.run(
            ["bash", str(ENGINE), "start"], env=env, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("engine.sh start left a process holding the caller's stdout/stderr")
    finally:
        marker = tmp_path / "state" / "started-by-engine-sh"
        pid = int(marker.read_text()) if marker.exists() else None
    assert proc.returncode == 0, proc.stderr
    assert "engine ready" in proc.stdout
    assert time.monotonic() - t0 < 30
    assert pid is not None and _alive(pid), "no daemon left running"
    # Detached: a new session, adopted (the parent is not a shell of engine.sh that waits on it).
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ppid, sid = int(stat[1]), int(stat[3])
    assert sid == pid, "dockerd does not lead a session of its own"
    assert "engine.sh" not in Path(f"/proc/{ppid}/cmdline").read_text(errors="replace")

    again = subprocess.run(
        ["bash", str(ENGINE), "start"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "already running" in again.stdout  # one engine, not two

    stop = subprocess.run(
        ["bash", str(ENGINE), "stop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert stop.returncode == 0, stop.stderr
    assert not _alive(pid)
    assert not marker.exists()
