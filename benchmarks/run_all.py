"""Run the benchmarks and print one Markdown table of ratios against same-run baselines.

Each benchmark runs in its own process (a crash or a leak in one cannot skew the next) and hands
its rows back as JSON. The table goes to stdout and to ``results.md``; every measurement,
including each repeat, goes to ``results.json`` (both in --out-dir, default ``benchmarks/``).
Progress goes to stderr. Exit status 1 if a benchmark crashed; a missed target is reported in
the table, not by the exit status.

    .venv/bin/python benchmarks/run_all.py                   # everything (several minutes)
    .venv/bin/python benchmarks/run_all.py --quick --only embed serve

Benchmarks: embed (bench_embed.py), train (bench_train.py), serve (bench_serve.py),
image (bench_image.py: the serving image, through scripts/docker/smoke.sh), pipeline
(bench_pipeline.py). --quick uses a tiny random backbone and fewer repeats: it checks
that the benchmarks run, its figures mean little.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import Row, log, machine, table

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "embed": "bench_embed.py",
    "train": "bench_train.py",
    "serve": "bench_serve.py",
    "image": "bench_image.py",
    "pipeline": "bench_pipeline.py",
}


def run_one(name: str, quick: bool, timeout: float) -> tuple[list[Row], str | None]:
    """Run one benchmark module in a child process; return its rows, or an error message."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(HERE / BENCHMARKS[name]), "--json-out", str(out)]
        if quick:
            cmd.append("--quick")
        tail: deque[str] = deque(maxlen=40)
        proc = subprocess.Popen(
            cmd,
            cwd=HERE.parent,
            stdout=sys.stderr.fileno(),  # the child's own table is progress here
            stderr=subprocess.PIPE,
            text=True,
        )
        # SIGTERM first: bench_main turns it into SystemExit, so servers are stopped.
        timer = threading.Timer(timeout, proc.send_signal, (signal.SIGTERM,))
        timer.start()
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                sys.stderr.write(line)
                tail.append(line.rstrip())
            rc = proc.wait()
        finally:
            timer.cancel()
        if rc != 0 or not out.is_file():
            why = "timed out" if rc in (-signal.SIGTERM, 143) else f"exit {rc}"
            last = next((x for x in reversed(tail) if x.strip()), "")
            return [], f"{name}: {why}: {last[-300:]}"
        rows = [Row(**r) for r in json.loads(out.read_text())]
        return rows, None


def _finite(value: Any) -> Any:
    """NaN/inf -> None, recursively, so results.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, few repeats")
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", help="run only these"
    )
    parser.add_argument("--out-dir", type=Path, default=HERE, help="results.json / results.md")
    parser.add_argument(
        "--timeout", type=float, help="seconds per benchmark (default 1800; 600 with --quick)"
    )
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    timeout = args.timeout or (600.0 if args.quick else 1800.0)

    info = machine()
    started = time.perf_counter()
    rows: list[Row] = []
    failures: list[str] = []
    for name in names:
        log(f"== {name} ==")
        got, error = run_one(name, args.quick, timeout)
        rows += got
        if error:
            failures.append(error)
            rows.append(Row(f"{name} (FAILED)", float("nan"), None, "", passed=False, note=error))
    info["seconds"] = round(time.perf_counter() - started, 1)

    header = (
        f"Benchmarks{' (--quick: tiny model, figures not meaningful)' if args.quick else ''}"
        f" - {info['date']}, nproc {info['nproc']}, {info['cpu']}, "
        f"torch {info.get('torch')} ({info.get('torch_threads')} threads), "
        f"{info['seconds']:.0f} s"
    )
    text = f"{header}\n\n{table(rows)}\n"
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.md").write_text(f"# Benchmark results\n\n{text}", encoding="utf-8")
    payload = {
        "machine": info,
        "quick": args.quick,
        "benchmarks": names,
        "rows": [asdict(r) for r in rows],
        "failures": failures,
    }
    (args.out_dir / "results.json").write_text(json.dumps(_finite(payload), indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
