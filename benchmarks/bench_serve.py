"""Served throughput: a real `bentoml serve` under bounded load vs in-process `predict`.

The model folder is written by ``from_backbone(...).save(dir)`` (all-MiniLM-L6-v2, or the tiny
random backbone with --quick), put into a fresh BentoML store in a temporary BENTOML_HOME and
built into a bento with the project's helpers (`multitask.bento_store`, as the package stage
does), then served on a free 127.0.0.1 port in its own process group (stopped at the end).

Load: single-text POST /predict requests, each text once per run, from a thread pool with one
keep-alive connection per thread, at concurrency 1, 8 and 32. Measured per run: sentences/s and
the latency percentiles; the in-process baseline is ``model.predict(texts, batch_size=64)`` on
the same texts, in this process, interleaved with the load runs. The mean adaptive batch size
comes from the server's /metrics. Peak RSS of the whole server process tree is sampled
(psutil) throughout.

Sentences/s counts answered requests only: BentoML's batcher sheds load with 503 ("process is
overloaded") when it predicts a request cannot be served within ``max_latency_ms``, and every
failed request is reported (by status) and fails the row. The batching limits come from
params.yaml ``serve`` (stored in the model's metadata, as the package stage does);
BENCH_SERVE_MAX_LATENCY_MS overrides ``max_latency_ms`` to try another latency budget.

Target: served >= 0.7 x in-process at concurrency 32, with no failed request.

    .venv/bin/python benchmarks/bench_serve.py [--quick]
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    ROOT,
    Row,
    backbone_path,
    bench_main,
    bench_texts,
    labels,
    log,
    median,
    paired_ratio,
)

BUILD_SCRIPT = """
import json, sys
from multitask import bento_store as b
model_dir, root, label_sets, serve = json.loads(sys.argv[1])
tag = b.store_model(model_dir, b.MODEL_NAME,
                    {"registered_name": "benchmark", "version": "0", "scenario": "untrained"},
                    {"label_sets": label_sets, "serve": serve})
print(json.dumps({"model_tag": tag, "bento_tag": b.build_bento(tag, root)}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_settings() -> dict[str, int]:
    """params.yaml `serve`, with BENCH_SERVE_MAX_LATENCY_MS (if set) as the batching budget."""
    from multitask.config import load_params

    serve = load_params(ROOT / "params.yaml").serve.model_dump()
    if os.environ.get("BENCH_SERVE_MAX_LATENCY_MS"):
        serve["max_latency_ms"] = int(os.environ["BENCH_SERVE_MAX_LATENCY_MS"])
    return serve


def build_bento(model_dir: Path, home: Path, serve: dict[str, int]) -> str:
    """Store the model and build the bento in a fresh store `home`; return the bento tag."""
    arg = json.dumps([str(model_dir), str(ROOT), labels(), serve])
    env = {**os.environ, "BENTOML_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", BUILD_SCRIPT, arg],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"building the bento failed:\n{out.stderr[-3000:]}")
    return str(json.loads(out.stdout.strip().splitlines()[-1])["bento_tag"])


class RssSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants; keeps the peak of the sum."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = 0
        self.peak_single = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil ships with the venv
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        rss = p.memory_info().rss
                    except psutil.Error:
                        continue
                    total += rss
                    self.peak_single = max(self.peak_single, rss)
            except psutil.Error:
                return
            self.peak_total = max(self.peak_total, total)
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


@dataclass
class Server:
    url: str
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    ready_s: float
    rss: RssSampler = field(repr=False)


@contextmanager
def serving(bento_tag: str, home: Path, workdir: Path) -> Iterator[Server]:
    """`bentoml serve` the bento on a free port in its own process group; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(BENTOML_HOME=str(home), BENTOML_DO_NOT_TRACK="true", HF_HUB_OFFLINE="1")
    logfile = workdir / "serve.log"
    cmd = [sys.executable, "-m", "bentoml", "serve", bento_tag]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    with open(logfile, "wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        start = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bentoml serve exited {proc.returncode}:\n{_tail(logfile)}")
            if time.monotonic() - start > 180:
                raise RuntimeError(f"server not ready after 180 s:\n{_tail(logfile)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield Server(
            f"http://127.0.0.1:{port}",
            "127.0.0.1",
            port,
            proc,
            logfile,
            time.monotonic() - start,
            sampler,
        )
    finally:
        sampler.stop()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:]


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]  # of the successful requests
    ok: int
    failed: dict[str, int]  # status code (or exception name) -> count
    sample_error: str = ""

    @property
    def errors(self) -> int:
        return sum(self.failed.values())


def fire(server: Server, texts: list[str], concurrency: int) -> LoadResult:
    """Send each text once as a single-text /predict request from `concurrency` threads."""
    bodies = [json.dumps({"texts": [t]}).encode() for t in texts]
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()
    latencies: list[float] = []
    failed: dict[str, int] = {}
    sample: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                conn.close()
                return
            t0 = time.perf_counter()
            why = ""
            try:
                conn.request("POST", "/predict", bodies[i], {"Content-Type": "application/json"})
                resp = conn.getresponse()
                payload = resp.read()
                if resp.status != 200:
                    why = str(resp.status)
                    detail = payload[:200].decode(errors="replace")
                elif len(json.loads(payload)) != 1:
                    why, detail = "bad-body", payload[:200].decode(errors="replace")
            except (OSError, http.client.HTTPException, ValueError) as err:
                why, detail = type(err).__name__, str(err)[:200]
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
            dt = time.perf_counter() - t0
            with lock:
                if why:
                    failed[why] = failed.get(why, 0) + 1
                    if not sample:
                        sample.append(f"{why}: {detail}")
                else:
                    latencies.append(dt)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return LoadResult(seconds, latencies, len(latencies), failed, sample[0] if sample else "")


def batch_stats(server: Server, method: str = "predict") -> tuple[float, float]:
    """(batches, requests) the adaptive batcher has run for `method` (Prometheus counters)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    count = total = 0.0
    for line in text.splitlines():
        if f'method_name="{method}"' not in line:
            continue
        if line.startswith("bentoml_service_adaptive_batch_size_count"):
            count += float(line.rsplit(" ", 1)[1])
        elif line.startswith("bentoml_service_adaptive_batch_size_sum"):
            total += float(line.rsplit(" ", 1)[1])
    return count, total


def padding_efficiency(lengths: list[int], batch: int) -> float:
    """Real / padded tokens when `lengths`, in arrival order, are cut into batches of `batch`.

    In-process `predict` sorts a whole call by length first; the server's adaptive batches are
    whatever arrived together, each padded to its longest text.
    """
    batch = max(1, batch)
    chunks = [lengths[i : i + batch] for i in range(0, len(lengths), batch)]
    return sum(lengths) / sum(len(c) * max(c) for c in chunks)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    import numpy as np

    if not values:
        return float("nan"), float("nan"), float("nan")
    p = np.percentile(np.asarray(values) * 1000, [50, 95, 99])
    return float(p[0]), float(p[1]), float(p[2])


def run(quick: bool) -> list[Row]:
    import psutil

    from multitask.model import MultiTaskSentenceTransformer

    n_requests = 64 if quick else 256
    repeats = 1 if quick else 3
    levels = (1, 8, 32)
    texts = bench_texts(n_requests, seed=11)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        path = backbone_path(quick, tmp)
        model_dir = tmp / "model"
        MultiTaskSentenceTransformer.from_backbone(path, labels(), max_length=128).save(model_dir)
        t0 = time.perf_counter()
        serve = serve_settings()
        max_latency_ms = serve["max_latency_ms"]
        bento_tag = build_bento(model_dir, tmp / "bentoml_home", serve)
        log(f"serve: built {bento_tag} in {time.perf_counter() - t0:.1f} s")
        model = MultiTaskSentenceTransformer.load(model_dir).eval()
        model.predict(texts[:8])  # warm-up, as the service does at start
        inproc_rss = psutil.Process().memory_info().rss

        with serving(bento_tag, tmp / "bentoml_home", tmp) as server:
            log(f"serve: ready on {server.url} after {server.ready_s:.1f} s")
            fire(server, texts[:16], 8)  # warm-up: connections, first batches
            inproc: list[float] = []
            served: dict[int, list[float]] = {c: [] for c in levels}
            lat: dict[int, list[float]] = {c: [] for c in levels}
            batches: dict[int, list[float]] = {c: [0.0, 0.0] for c in levels}
            failed: dict[int, dict[str, int]] = {c: {} for c in levels}
            samples: dict[int, str] = {}
            order = [0, *levels]  # 0 = in-process
            for r in range(repeats):
                for c in order if r % 2 == 0 else reversed(order):
                    if c == 0:
                        t = time.perf_counter()
                        model.predict(texts, batch_size=64)
                        inproc.append(len(texts) / (time.perf_counter() - t))
                        continue
                    before = batch_stats(server)
                    res = fire(server, texts, c)
                    after = batch_stats(server)
                    served[c].append(res.ok / res.seconds)  # goodput: answered texts only
                    lat[c] += res.latencies
                    for why, k in res.failed.items():
                        failed[c][why] = failed[c].get(why, 0) + k
                    if res.sample_error:
                        samples.setdefault(c, res.sample_error)
                    batches[c][0] += after[0] - before[0]
                    batches[c][1] += after[1] - before[1]
                    log(
                        f"serve c={c}: {served[c][-1]:.1f}/s, failed {res.failed}, "
                        f"{after[0] - before[0]:.0f} batches"
                    )
            log(f"serve in-process predict: {inproc}")
            server_peak = server.rss.peak_total
            server_single = server.rss.peak_single
            overloaded = server.log.read_text(errors="replace").count("process is overloaded")

        base = median(inproc)
        lengths = [len(x) for x in model.tokenize_ids(texts)]
        for c in levels:
            p50, p95, p99 = percentiles(lat[c])
            mean_batch = batches[c][1] / batches[c][0] if batches[c][0] else float("nan")
            ratio = paired_ratio(served[c], inproc)
            eff = (
                padding_efficiency(lengths, round(mean_batch))
                if mean_batch == mean_batch  # not NaN
                else float("nan")
            )
            eff_sorted = padding_efficiency(sorted(lengths), 64)
            n_failed = sum(failed[c].values())
            errors = (
                f"{n_failed} failed ({', '.join(f'{k}: {v}' for k, v in failed[c].items())}; "
                f"e.g. {samples.get(c, '')[:80]!r}; the server log says 'process is "
                f"overloaded' {overloaded} times in all)"
                if n_failed
                else "none failed"
            )
            rows.append(
                Row(
                    f"serve /predict c={c} (sentences/s)",
                    median(served[c]),
                    base,
                    "/s",
                    ">= 0.7 x, 0 errors" if c == 32 else "0 errors",
                    ratio=ratio,
                    passed=(ratio >= 0.7 if c == 32 else True) and not n_failed,
                    note=(
                        f"c={c}: {repeats} x {len(texts)} single-text requests, {errors}; "
                        f"sentences/s counts answered texts only; latency p50/p95/p99 "
                        f"{p50:.0f}/{p95:.0f}/{p99:.0f} ms (answered); mean adaptive batch "
                        f"{mean_batch:.1f}, whose arrival-order padding leaves "
                        f"{eff:.0%} of token slots real (in-process, sorted: {eff_sorted:.0%}); "
                        f"max_latency_ms {max_latency_ms}. Baseline = "
                        "in-process predict(batch_size=64) on the same texts."
                    ),
                    extra={
                        "ours_all": served[c],
                        "baseline_all": inproc,
                        "p50_ms": p50,
                        "p95_ms": p95,
                        "p99_ms": p99,
                        "mean_batch": mean_batch,
                        "failed": failed[c],
                        "padding_efficiency": eff,
                    },
                )
            )
        mib = 1024 * 1024
        rows.append(
            Row(
                "serve peak RSS, server process tree (MiB)",
                server_peak / mib,
                inproc_rss / mib,
                "MiB",
                note=(
                    f"sum over the `bentoml serve` process and its workers, sampled every "
                    f"0.1 s (largest single process {server_single / mib:,.0f} MiB); baseline "
                    "= this benchmark process holding the same model in memory."
                ),
            )
        )
    return rows


if __name__ == "__main__":
    bench_main(run, __doc__)
