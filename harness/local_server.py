"""A bento served by a real `bentoml serve` on a free 127.0.0.1 port, for tests and benchmarks.

`build_in_store` stores a model folder and builds its bento in a given BentoML home, in a child
process (BentoML memoises its home on first import, so the caller's own store stays untouched),
as the package stage does. `serve_bento` starts ``bentoml serve`` in its own process group, waits
for /readyz, samples the RSS of the whole server process tree, and at the end stops that group,
and only that group. Nothing here listens on anything but loopback.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multitask.config import Serve
from multitask.records import PackagedModel

HOST = "127.0.0.1"

_BUILD = """
import json, sys
from multitask.config import Serve
from multitask.records import PackagedModel
from multitask.serving import bento_store as b
model_dir, root, packaged, serve = json.loads(sys.argv[1])
packaged = PackagedModel.model_validate_json(packaged)
tag = b.store_model(model_dir, packaged)
torch = packaged.backend == "torch"
bento = b.build_bento(tag, Serve.model_validate_json(serve), root, torch=torch)
print(json.dumps([tag, bento]))
"""


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen[Any], grace_s: float = 20.0) -> None:
    """SIGTERM the process group `proc` leads (started with start_new_session), then SIGKILL."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def build_in_store(
    model_dir: str | Path,
    home: str | Path,
    root: str | Path,
    packaged: PackagedModel,
    serve: Serve,
) -> tuple[str, str]:
    """Store `model_dir` (the folder `packaged.backend` serves: a saved model for torch, an ONNX
    export folder otherwise) and build the bento of the project at `root` in store `home`, as the
    package stage does (its `packaged` record, the `serve` settings). Returns (model tag, bento
    tag).
    """
    arg = json.dumps(
        [str(model_dir), str(root), packaged.model_dump_json(), serve.model_dump_json()]
    )
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true"}
    env["PYTHONPATH"] = str(Path(root) / "src")
    out = subprocess.run(
        [sys.executable, "-c", _BUILD, arg],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"building the bento failed:\n{out.stderr[-3000:]}")
    model_tag, bento_tag = json.loads(out.stdout.strip().splitlines()[-1])
    return str(model_tag), str(bento_tag)


def tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) RSS in bytes over process `pid` and all its descendants."""
    import psutil

    total = largest = 0
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            rss = p.memory_info().rss
        except psutil.Error:  # a worker that just exited
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


class RssSampler(threading.Thread):
    """Samples `tree_rss(pid)` every `every` seconds; keeps the peaks."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = 0
        self.peak_single = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._stop_event.is_set():
            try:
                total, largest = tree_rss(self.pid)
            except psutil.Error:  # the server is gone
                return
            self.peak_total = max(self.peak_total, total)
            self.peak_single = max(self.peak_single, largest)
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


@dataclass
class LocalServer:
    """A running `bentoml serve` (see `serve_bento`)."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    ready_s: float
    home: Path
    rss: RssSampler = field(repr=False)
    host: str = HOST

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def is_ready(self, timeout: float = 5.0) -> bool:
        """True when GET /readyz answers 200 within `timeout` seconds."""
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False

    def metrics(self) -> str:
        """The Prometheus text of GET /metrics."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()

    def batch_stats(self) -> tuple[float, float]:
        """(batches, texts) the service's batcher has run (``multitask_batch_size`` histogram)."""
        count = total = 0.0
        for line in self.metrics().splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("multitask_batch_size_count"):
                count += float(value)
            elif name.startswith("multitask_batch_size_sum"):
                total += float(value)
        return count, total


@contextmanager
def serve_bento(
    bento_tag: str,
    home: str | Path,
    workdir: str | Path,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 180.0,
) -> Iterator[LocalServer]:
    """`bentoml serve` the bento from store `home` on a free loopback port; stop it afterwards.

    The server runs in `workdir` (outside the repo, so nothing is imported from the checkout),
    logs to ``workdir/serve.log`` and gets `env` on top of this process's environment (minus
    PYTHONPATH). Raises RuntimeError with the log's tail if it exits or is not ready in time.
    """
    workdir, home = Path(workdir), Path(home)
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    child_env.update(BENTOML_HOME=str(home), BENTOML_DO_NOT_TRACK="true", HF_HUB_OFFLINE="1")
    child_env.update(env or {})
    logfile = workdir / "serve.log"
    cmd = [sys.executable, "-m", "bentoml", "serve", bento_tag, "--host", HOST, "--port", str(port)]
    with open(logfile, "wb") as fh:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=child_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the workers too
        )
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        server = LocalServer(f"http://{HOST}:{port}", port, proc, logfile, 0.0, home, sampler)
        start = time.monotonic()
        while not server.is_ready():
            if proc.poll() is not None:
                tail = server.log_text()[-3000:]
                raise RuntimeError(f"bentoml serve exited {proc.returncode}:\n{tail}")
            if time.monotonic() - start > ready_timeout_s:
                tail = server.log_text()[-3000:]
                raise RuntimeError(f"bentoml serve not ready in {ready_timeout_s:.0f} s:\n{tail}")
            time.sleep(0.1)
        server.ready_s = time.monotonic() - start
        yield server
    finally:
        sampler.stop()
        stop_group(proc)
