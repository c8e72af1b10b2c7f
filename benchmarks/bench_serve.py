"""Served throughput, load and overload: a real `bentoml serve` vs in-process `predict`.

The model folder is written by ``from_backbone(...).save(dir)`` (all-MiniLM-L6-v2, or the tiny
random backbone with --quick), stored and built into a bento in a fresh BentoML home with the
params.yaml ``serve`` settings (`harness.local_server.build_in_store`, as the package stage
does), then served on a free 127.0.0.1 port in its own process group, stopped at the end.

1. Throughput: single-text POST /predict requests, each text once per run, at concurrency 1, 8
   and 32 (`multitask.load.run_load`: one asyncio client in this process), interleaved with the
   in-process baseline ``model.predict(texts, batch_size=64)`` on the same texts. Sentences/s
   counts answered requests only; any failed request fails the row. Target: served >= 0.7 x
   in-process at concurrency 32.
2. Load and overload (DESIGN.md's reliability rules, with the real model): concurrency 32 for
   60 s with no error; concurrency 256 for 20 s where every request gets 200 or a clean 503;
   single requests right afterwards as fast as before the load; the server's RSS after the run
   within 10% of before (measured after a warm-up burst at 256, see tests/test_reliability_http.py).

    .venv/bin/python benchmarks/bench_serve.py [--quick]
"""

from __future__ import annotations

import json
import os
import tempfile
import time
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

from harness.load import LoadResult, run_load
from harness.local_server import LocalServer, build_in_store, serve_bento, tree_rss
from multitask.config import Serve
from multitask.records import ModelVersion, PackagedModel

MIB = 1024 * 1024


def serve_settings() -> Serve:
    from multitask.config import load_params

    return load_params(ROOT / "params.yaml").serve


def bodies_of(texts: list[str]) -> list[bytes]:
    return [json.dumps({"texts": [t]}).encode() for t in texts]


def cpu_seconds(server: LocalServer) -> tuple[float, float]:
    """(this process, the server's process tree) CPU seconds (user + system) so far."""
    import psutil

    me = psutil.Process().cpu_times()
    root = psutil.Process(server.proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return me.user + me.system, total


def _failed(res: LoadResult) -> str:
    if not res.errors:
        return "none failed"
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(res.failed.items()))
    return f"{res.errors} failed ({counts}; e.g. {res.sample_error[:80]!r})"


def throughput_rows(
    server: LocalServer, model: object, texts: list[str], repeats: int, max_latency_ms: int
) -> list[Row]:
    levels = (1, 8, 32)
    bodies = bodies_of(texts)
    url = f"{server.url}/predict"
    inproc: list[float] = []
    served: dict[int, list[float]] = {c: [] for c in levels}
    latencies: dict[int, list[float]] = {c: [] for c in levels}
    batches: dict[int, list[float]] = {c: [0.0, 0.0] for c in levels}
    results: dict[int, list[LoadResult]] = {c: [] for c in levels}
    cpu: dict[int, list[float]] = {c: [0.0, 0.0, 0.0] for c in levels}  # client, server, wall
    order = [0, *levels]  # 0 = in-process
    for r in range(repeats):
        for c in order if r % 2 == 0 else reversed(order):
            if c == 0:
                t = time.perf_counter()
                model.predict(texts, batch_size=64)  # type: ignore[attr-defined]
                inproc.append(len(texts) / (time.perf_counter() - t))
                continue
            before, cpu0 = server.batch_stats(), cpu_seconds(server)
            res = run_load(url, bodies, c, expect_items=1)
            after, cpu1 = server.batch_stats(), cpu_seconds(server)
            cpu[c][0] += cpu1[0] - cpu0[0]
            cpu[c][1] += cpu1[1] - cpu0[1]
            cpu[c][2] += res.seconds
            served[c].append(res.ok / res.seconds)  # goodput: answered texts only
            latencies[c] += res.latencies
            results[c].append(res)
            batches[c][0] += after[0] - before[0]
            batches[c][1] += after[1] - before[1]
            log(f"serve c={c}: {res.summary()}, {after[0] - before[0]:.0f} batches")
    log(f"serve in-process predict: {inproc}")
    base = median(inproc)
    rows = []
    for c in levels:
        merged = LoadResult(0.0, latencies[c])
        for res in results[c]:
            merged.failed.update(res.failed)
            merged.sample_error = merged.sample_error or res.sample_error
        p50, p95, p99 = merged.percentiles_ms()
        mean_batch = batches[c][1] / batches[c][0] if batches[c][0] else float("nan")
        ratio = paired_ratio(served[c], inproc)
        rows.append(
            Row(
                f"serve /predict c={c} (sentences/s)",
                median(served[c]),
                base,
                "/s",
                ">= 0.7 x, 0 errors" if c == 32 else "0 errors",
                ratio=ratio,
                passed=(ratio >= 0.7 if c == 32 else True) and not merged.errors,
                note=(
                    f"c={c}: {repeats} x {len(texts)} single-text requests, {_failed(merged)}; "
                    f"latency p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} ms; mean batch "
                    f"{mean_batch:.1f} texts (continuous batching; max_latency_ms "
                    f"{max_latency_ms}). CPU: the load client used {cpu[c][0]:.1f} s and the "
                    f"server {cpu[c][1]:.1f} s in {cpu[c][2]:.1f} s of wall time on "
                    f"{os.cpu_count()} cores. Baseline = in-process predict(batch_size=64) on "
                    "the same texts, interleaved."
                ),
                extra={
                    "ours_all": served[c],
                    "baseline_all": inproc,
                    "p50_ms": p50,
                    "p95_ms": p95,
                    "p99_ms": p99,
                    "mean_batch": mean_batch,
                    "failed": dict(merged.failed),
                },
            )
        )
    return rows


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


def run(quick: bool) -> list[Row]:
    import psutil

    from multitask.model.network import MultiTaskSentenceTransformer

    n_requests = 64 if quick else 256
    repeats = 1 if quick else 3
    texts = bench_texts(n_requests, seed=11)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        path = backbone_path(quick, tmp)
        model_dir = tmp / "model"
        model = MultiTaskSentenceTransformer.from_backbone(path, labels(), max_length=128)
        model.save(model_dir)
        t0 = time.perf_counter()
        serve = serve_settings()
        home = tmp / "bentoml_home"
        packaged = PackagedModel(
            registered=ModelVersion(name="benchmark", version=0, run_id="", scenario="untrained"),
            labels=model.labels,
            dim=model.dim,
            max_length=model.max_length,
        )
        _, bento_tag = build_in_store(model_dir, home, ROOT, packaged, serve)
        log(f"serve: built {bento_tag} in {time.perf_counter() - t0:.1f} s")
        model = MultiTaskSentenceTransformer.load(model_dir).eval()
        model.predict(texts[:8])  # warm-up, as the service does at start
        inproc_rss = psutil.Process().memory_info().rss

        with serve_bento(bento_tag, home, tmp) as server:
            log(f"serve: ready on {server.url} after {server.ready_s:.1f} s")
            run_load(f"{server.url}/predict", bodies_of(texts[:16]), 8)  # warm-up
            rows = throughput_rows(server, model, texts, repeats, serve.max_latency_ms)
            server_peak, server_single = server.rss.peak_total, server.rss.peak_single
            rows += overload_rows(server, texts, quick)

    rows.append(
        Row(
            "serve peak RSS, server process tree (MiB)",
            server_peak / MIB,
            inproc_rss / MIB,
            "MiB",
            note=(
                f"during the throughput runs: sum over the `bentoml serve` process and its "
                f"workers, sampled every 0.1 s (largest single process {server_single / MIB:,.0f}"
                " MiB); baseline = this benchmark process holding the same model in memory."
            ),
        )
    )
    return rows


if __name__ == "__main__":
    bench_main(run, __doc__)
