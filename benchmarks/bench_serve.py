"""Served throughput, load and overload: a real `bentoml serve` vs in-process PyTorch `predict`.

The model (all-MiniLM-L6-v2 with fresh heads, or the tiny random backbone with --quick) is saved
and made into the three serving backends as the package stage does: ONNX fp32 export, int8
quantization (`model.onnx_export`), and the PyTorch folder. (The accuracy gate is not applied
here: the heads are untrained, and speed does not depend on their weights.) Each is stored and
built into a bento in a fresh BentoML home with the params.yaml ``serve`` settings, then served in
turn on a free 127.0.0.1 port in its own process group, stopped at the end.

1. Throughput, per backend: single-text POST /predict requests, each text once per run, at
   concurrency 1, 8 and 32 (`harness.load.run_load`: one asyncio client in this process),
   interleaved with the in-process baseline ``model.predict(texts, batch_size=64)`` (PyTorch fp32)
   on the same texts. Sentences/s counts answered requests only; any failed request fails the
   row. Latency p50/p95/p99 per level, and the server's CPU per answered request split into the
   worker's event loop (HTTP, validation, JSON, metrics: its main thread), the model (the
   batcher's thread and the model's thread pool: tokenising and inference) and the rest of the
   process tree (BentoML's arbiter), plus the client's. Target: the default backend (params'
   serve.backend) >= 1.0 x in-process PyTorch at concurrency 32 (stretch 1.5 x), 0 errors.
2. Readiness (spawn to the first 200 from /readyz; target <= 3 s) and the server tree's peak RSS
   during the throughput runs (target <= 350 MB with the default backend), per backend.
3. Load and overload, default backend (DESIGN.md's reliability rules): concurrency 32 for 60 s
   with no error; concurrency 256 for 20 s where every request gets 200 or a clean 503; single
   requests right afterwards as fast as before the load; the server's RSS after the run within
   10% of before (measured after a warm-up burst at 256, see tests/test_reliability_http.py).

    .venv/bin/python benchmarks/bench_serve.py [--quick]
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

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

from harness.load import LoadResult, run_load
from harness.local_server import LocalServer, build_in_store, serve_bento, tree_rss
from multitask.config import Serve
from multitask.records import ModelVersion, PackagedModel

MIB = 1024 * 1024
LEVELS = (1, 8, 32)


def serve_settings() -> Serve:
    from multitask.config import load_params

    return load_params(ROOT / "params.yaml").serve


def bodies_of(texts: list[str]) -> list[bytes]:
    return [json.dumps({"texts": [t]}).encode() for t in texts]


def cpu_split(server: LocalServer) -> dict[str, float]:
    """CPU seconds (user + system) so far: the client (this process) and the server tree, split
    into the workers' main threads (the event loop), their other threads (the model) and the
    other processes (BentoML's arbiter)."""
    import psutil

    me = psutil.Process().cpu_times()
    out = {"client": me.user + me.system, "loop": 0.0, "model": 0.0, "rest": 0.0}
    root = psutil.Process(server.proc.pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            if "_bentoml_impl.worker" in " ".join(p.cmdline()):
                for th in p.threads():
                    out["loop" if th.id == p.pid else "model"] += th.user_time + th.system_time
            else:
                t = p.cpu_times()
                out["rest"] += t.user + t.system
        except psutil.Error:
            continue
    return out


def _failed(res: LoadResult) -> str:
    if not res.errors:
        return "none failed"
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(res.failed.items()))
    return f"{res.errors} failed ({counts}; e.g. {res.sample_error[:80]!r})"


def throughput_rows(
    server: LocalServer,
    backend: str,
    default: bool,
    model: Any,
    texts: list[str],
    repeats: int,
    max_latency_ms: int,
) -> list[Row]:
    bodies = bodies_of(texts)
    url = f"{server.url}/predict"
    inproc: list[float] = []
    served: dict[int, list[float]] = {c: [] for c in LEVELS}
    latencies: dict[int, list[float]] = {c: [] for c in LEVELS}
    batches: dict[int, list[float]] = {c: [0.0, 0.0] for c in LEVELS}
    results: dict[int, list[LoadResult]] = {c: [] for c in LEVELS}
    cpu: dict[int, dict[str, float]] = {c: {} for c in LEVELS}
    wall: dict[int, float] = dict.fromkeys(LEVELS, 0.0)
    order = [0, *LEVELS]  # 0 = in-process
    for r in range(repeats):
        for c in order if r % 2 == 0 else reversed(order):
            if c == 0:
                t = time.perf_counter()
                model.predict(texts, batch_size=64)
                inproc.append(len(texts) / (time.perf_counter() - t))
                continue
            before, cpu0 = server.batch_stats(), cpu_split(server)
            res = run_load(url, bodies, c, expect_items=1)
            after, cpu1 = server.batch_stats(), cpu_split(server)
            for k, v in cpu1.items():
                cpu[c][k] = cpu[c].get(k, 0.0) + v - cpu0[k]
            wall[c] += res.seconds
            served[c].append(res.ok / res.seconds)  # goodput: answered texts only
            latencies[c] += res.latencies
            results[c].append(res)
            batches[c][0] += after[0] - before[0]
            batches[c][1] += after[1] - before[1]
            log(f"serve {backend} c={c}: {res.summary()}, {after[0] - before[0]:.0f} batches")
    log(f"serve {backend}: in-process predict: {inproc}")
    base = median(inproc)
    rows = []
    for c in LEVELS:
        merged = LoadResult(0.0, latencies[c])
        for res in results[c]:
            merged.failed.update(res.failed)
            merged.sample_error = merged.sample_error or res.sample_error
        p50, p95, p99 = merged.percentiles_ms()
        mean_batch = batches[c][1] / batches[c][0] if batches[c][0] else float("nan")
        ratio = paired_ratio(served[c], inproc)
        per_req = {k: 1000 * v / max(1, merged.ok) for k, v in cpu[c].items()}
        server_ms = per_req["loop"] + per_req["model"] + per_req["rest"]
        target = ">= 1.0 x, 0 errors" if c == 32 and default else "0 errors"
        name = f"serve /predict c={c} (sentences/s)"
        if not default:
            name = f"serve /predict c={c}, {backend} (sentences/s)"
        rows.append(
            Row(
                name,
                median(served[c]),
                base,
                "/s",
                target,
                ratio=ratio,
                passed=(ratio >= 1.0 if target.startswith(">=") else True) and not merged.errors,
                note=(
                    f"backend {backend}{' (params default)' if default else ''}; c={c}: "
                    f"{repeats} x {len(texts)} single-text requests, {_failed(merged)}; latency "
                    f"p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} ms; mean batch {mean_batch:.1f} "
                    f"texts (max_latency_ms {max_latency_ms}). Server CPU per request "
                    f"{server_ms:.2f} ms = event loop (HTTP, validation, JSON, metrics) "
                    f"{per_req['loop']:.2f} + model (tokenising, inference) "
                    f"{per_req['model']:.2f} + arbiter {per_req['rest']:.2f}; client "
                    f"{per_req['client']:.2f} ms; {wall[c]:.1f} s of wall time on "
                    f"{os.cpu_count()} cores. Baseline = in-process PyTorch fp32 "
                    "predict(batch_size=64) on the same texts, interleaved."
                    + (" Stretch target 1.5 x." if target.startswith(">=") else "")
                ),
                extra={
                    "backend": backend,
                    "ours_all": served[c],
                    "baseline_all": inproc,
                    "p50_ms": p50,
                    "p95_ms": p95,
                    "p99_ms": p99,
                    "mean_batch": mean_batch,
                    "failed": dict(merged.failed),
                    "cpu_ms_per_request": per_req,
                },
            )
        )
    return rows


NOOP_SERVICE = """
import bentoml


@bentoml.service(name="noop", logging={"access": {"enabled": False}})
class Noop:
    @bentoml.api
    async def predict(self, texts: list[str]) -> list[str]:
        return texts
"""


def noop_floor(tmp: Path, texts: list[str], repeats: int) -> tuple[float, LoadResult]:
    """(readiness, c=32 load) of a no-op BentoML endpoint taking the same requests: BentoML's own
    start-up and HTTP cost on this machine in this run, the floor under ours."""
    folder = tmp / "noop"
    folder.mkdir()
    (folder / "noop_service.py").write_text(NOOP_SERVICE)
    with serve_bento("noop_service:Noop", tmp / "bentoml_home", folder) as server:
        run_load(f"{server.url}/predict", bodies_of(texts[:16]), 8)  # warm-up
        res = run_load(f"{server.url}/predict", bodies_of(texts) * repeats, 32, expect_items=1)
        log(f"serve no-op: ready after {server.ready_s:.1f} s; c=32: {res.summary()}")
        return server.ready_s, res


def startup_rows(
    server: LocalServer, backend: str, default: bool, noop_ready: float | None = None
) -> list[Row]:
    """Readiness and the peak RSS of the server tree during the throughput runs."""
    peak, single = server.rss.peak_total, server.rss.peak_single
    suffix = "" if default else f", {backend}"
    return [
        Row(
            f"serve ready: spawn to first 200 from /readyz{suffix} (s)",
            server.ready_s,
            noop_ready,
            "s",
            "<= 3 s" if default else "",
            note=(
                f"backend {backend}: `bentoml serve` of the bento, one worker"
                + (
                    "; baseline = a no-op BentoML service started the same way in this run "
                    "(BentoML's own start-up: it imports the service in the arbiter and again "
                    "in the worker)."
                    if noop_ready
                    else "."
                )
            ),
        ),
        Row(
            f"serve peak RSS, server process tree{suffix} (MB)",
            peak / 1e6,
            None,
            "MB",
            "<= 350 MB" if default else "",
            note=(
                f"backend {backend}: sum over the `bentoml serve` process and its worker, "
                f"sampled every 0.1 s during the throughput runs (largest single process "
                f"{single / 1e6:,.0f} MB)."
            ),
        ),
    ]


def overload_rows(server: LocalServer, texts: list[str], quick: bool) -> list[Row]:
    """c=32 steady, c=256 overload, recovery, memory: DESIGN.md's reliability rules."""
    steady_s, over_s = (5.0, 5.0) if quick else (60.0, 20.0)
    bodies = bodies_of(texts)
    url = f"{server.url}/predict"
    single = bodies[:20]
    calm = run_load(url, single, 1, expect_items=1)
    for _ in range(1 if quick else 2):  # warm-up burst: the working set for 256 connections
        run_load(url, bodies, 256, seconds=5 if quick else 10, timeout_s=60)
    rss_before = tree_rss(server.proc.pid)[0]
    steady = run_load(url, bodies, 32, seconds=steady_s, expect_items=1)
    log(f"serve load c=32 {steady_s:.0f} s: {steady.summary()}")
    over = run_load(url, bodies, 256, seconds=over_s, timeout_s=60, expect_items=1)
    log(f"serve overload c=256 {over_s:.0f} s: {over.summary()}")
    after = run_load(url, single, 1, expect_items=1)
    log(f"serve right after: {after.summary()} (before the load: {calm.summary()})")
    rss_after = tree_rss(server.proc.pid)[0]
    s50, s95, s99 = steady.percentiles_ms()
    o50, o95, o99 = over.percentiles_ms()
    shed = over.failed.get("503", 0)
    clean = set(over.failed) <= {"503"}
    calm50, after50 = calm.percentiles_ms([50])[0], after.percentiles_ms([50])[0]
    return [
        Row(
            f"serve load c=32 for {steady_s:.0f} s (requests/s)",
            steady.throughput,
            None,
            "/s",
            "0 errors",
            passed=steady.errors == 0,
            note=(
                f"{steady.ok} answered, {_failed(steady)}; latency p50/p95/p99 "
                f"{s50:.0f}/{s95:.0f}/{s99:.0f} ms."
            ),
        ),
        Row(
            f"serve overload c=256 for {over_s:.0f} s (requests/s)",
            over.throughput,
            None,
            "/s",
            "200 or 503 only",
            passed=clean and over.ok > 0,
            note=(
                f"{over.ok} answered (p50/p95/p99 {o50:.0f}/{o95:.0f}/{o99:.0f} ms), {shed} shed "
                f"with 503 + Retry-After ({shed / max(1, over.ok + over.errors):.0%}), other "
                f"failures: {sum(v for k, v in over.failed.items() if k != '503')}."
            ),
        ),
        Row(
            "serve recovery: single request right after overload (ms)",
            after50,
            calm50,
            "ms",
            "",
            passed=after.errors == 0,
            note=(
                "p50 of 20 sequential single-text requests right after the overload vs before "
                "any load (BentoML's own batcher: ~100 x slower for minutes; see batching.py)."
            ),
        ),
        Row(
            "serve RSS after load + overload (MiB)",
            rss_after / MIB,
            rss_before / MIB,
            "MiB",
            "",
            passed=rss_after <= 1.10 * rss_before,
            note=(
                "server process tree after the c=32 and c=256 runs vs before them (after the "
                "warm-up burst); rule: within 10% (ratio <= 1.10)."
            ),
        ),
    ]


def build_bentos(model: Any, tmp: Path, serve: Any) -> dict[str, str]:
    """backend -> bento tag, in the BentoML home tmp/bentoml_home, as the package stage builds
    them (without the gate: see the module docstring)."""
    from multitask.model.onnx_export import export_onnx, quantize_folder

    model.save(tmp / "model")
    export_onnx(model, tmp / "onnx-fp32", source_digest="benchmark")
    quantize_folder(tmp / "onnx-fp32", tmp / "onnx-int8", model)
    version = ModelVersion(name="benchmark", version=0, run_id="-", scenario="untrained")
    folders = {"onnx-int8": "onnx-int8", "onnx": "onnx-fp32", "torch": "model"}
    tags = {}
    for backend, folder in folders.items():
        packaged = PackagedModel(
            registered=version, labels=model.labels, dim=model.dim,
            max_length=model.max_length, backend=backend,
        )  # fmt: skip
        settings = serve.model_copy(update={"backend": backend})
        _, tags[backend] = build_in_store(
            tmp / folder, tmp / "bentoml_home", ROOT, packaged, settings
        )
    return tags


def run(quick: bool) -> list[Row]:
    from multitask.model.network import MultiTaskSentenceTransformer

    n_requests = 64 if quick else 256
    repeats = 1 if quick else 3
    texts = bench_texts(n_requests, seed=11)
    serve = serve_settings()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        path = backbone_path(quick, tmp)
        model = MultiTaskSentenceTransformer.from_backbone(path, labels(), max_length=128).eval()
        t0 = time.perf_counter()
        bentos = build_bentos(model, tmp, serve)
        log(f"serve: built {sorted(bentos.values())} in {time.perf_counter() - t0:.1f} s")
        model.predict(texts[:8])  # warm-up, as the service does at start
        # The default backend first (with the load/overload runs), then the others.
        noop_ready, noop = noop_floor(tmp, texts, repeats)
        order = [serve.backend, *(b for b in bentos if b != serve.backend)]
        for backend in order:
            default = backend == serve.backend
            with serve_bento(bentos[backend], tmp / "bentoml_home", tmp) as server:
                log(f"serve {backend}: ready on {server.url} after {server.ready_s:.1f} s")
                run_load(f"{server.url}/predict", bodies_of(texts[:16]), 8)  # warm-up
                rows += throughput_rows(
                    server, backend, default, model, texts, repeats, serve.max_latency_ms
                )
                rows += startup_rows(server, backend, default, noop_ready if default else None)
                if default:
                    rows += overload_rows(server, texts, quick)
    p50, p95, p99 = noop.percentiles_ms()
    rows.append(
        Row(
            "serve no-op BentoML endpoint c=32 (requests/s)",
            noop.throughput,
            None,
            "/s",
            "0 errors",
            passed=noop.errors == 0,
            note=(
                f"the HTTP floor on this machine in this run: a no-op `@bentoml.api` taking the "
                f"same single-text requests (access log off, stock BentoML otherwise), "
                f"{noop.ok} answered, {_failed(noop)}, p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} "
                "ms: stock BentoML's own per-request cost with no model at all (our text "
                "routes skip part of it: the request guard's fast path)."
            ),
        )
    )
    return rows


if __name__ == "__main__":
    bench_main(run, __doc__)
