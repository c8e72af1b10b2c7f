"""A real headless Chromium/Chrome for tests that check what a page renders.

`find_browser()` looks the binary up by name and checks that it runs (Ubuntu's `chromium-browser`
can be a snap stub that only prints a notice). Where none is found and we are root on Debian or
Ubuntu, it installs Debian's `chromium` with apt-get (GitHub's Ubuntu runners ship Google Chrome).
`dump_dom(url)` renders a page with a virtual time budget (the page's XHRs and timers run, the
wall clock does not wait for them) and returns the DOM as HTML.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags that work on this project's machines: no sandbox (root, containers), no GPU, and nothing
# that phones home (no network here beyond loopback).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _works(binary: str) -> bool:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and re.search(r"Chrom(e|ium) \d+", out.stdout) is not None


def _installed() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path and _works(path):
            return path
    return None


def find_browser(install: bool = True) -> str:
    """Path of a working Chromium/Chrome; installs Debian's `chromium` as root where missing."""
    found = _installed()
    if found or not install:
        if found:
            return found
        raise RuntimeError(f"no headless browser found (looked for {', '.join(NAMES)})")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"no headless browser found (looked for {', '.join(NAMES)}); install one, e.g. "
            "`apt-get install -y chromium` as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0"]
    install_cmd = [*apt, "install", "--no-install-recommends", "chromium"]
    done = subprocess.run(install_cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run([*apt, "update"], env=env, capture_output=True, check=False)
        done = subprocess.run(install_cmd, env=env, capture_output=True, text=True, check=False)
    found = _installed()
    if not found:
        raise RuntimeError(f"apt-get install chromium failed:\n{done.stdout[-2000:]}{done.stderr}")
    return found


def dump_dom(browser: str, url: str, budget_ms: int = 20000, timeout: float = 120) -> str:
    """The rendered DOM of `url` after `budget_ms` of virtual time, in a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="browser-profile-") as profile:
        cmd = [
            browser,
            *FLAGS,
            f"--user-data-dir={Path(profile)}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        # Own process group: the renderer/zygote children go too when it is stopped.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{browser} exited {proc.returncode}: {err[-2000:]}")
    return out
