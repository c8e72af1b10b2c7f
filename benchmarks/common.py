"""Shared plumbing for the benchmarks: result rows, interleaved timing, inputs, child protocol.

Every figure is a ratio against a baseline measured in the same process and run: repeats of ours
and of the baseline are interleaved (the order alternates every repeat, so slow drift on this
shared machine hits both alike) and each side is summarised by its median.

A benchmark module exposes ``run(quick: bool) -> list[Row]`` and calls ``bench_main(run)`` under
``if __name__ == "__main__"``; ``run_all.py`` starts each in its own process and collects the rows
from the JSON file named by ``--json-out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "src"):  # the harness; the package without the editable install
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is ours / baseline (by default of the two medians; benchmarks with paired repeats
    pass the median of per-repeat ratios instead); rows timing something we speed up pass
    baseline / ours (a speedup) and say so in their note. ``target`` is one of ``">= X x"``
    (ratio at least X), ``"<= X s"`` (ours at most X seconds) or ``""`` (information only);
    rows with another target set ``passed`` themselves.
    """

    benchmark: str
    ours: float
    baseline: float | None
    unit: str
    target: str = ""
    note: str = ""
    ratio: float | None = None
    passed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            self.ratio = self.ours / self.baseline
        if self.passed is None and self.target:
            op, value = self.target.split()[:2]
            bound = float(value)
            measured = self.ratio if self.target.endswith("x") else self.ours
            if measured is not None:
                self.passed = measured >= bound if op == ">=" else measured <= bound


def interleaved(
    fns: dict[str, Callable[[], float]], repeats: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Call every fn `repeats` times, alternating the order each repeat; return all results.

    Each fn returns one measurement (seconds, or a rate). With `warmup`, each runs once first,
    unrecorded (lazy initialisation, allocator and cache warm-up).
    """
    names = list(fns)
    if warmup:
        for name in names:
            fns[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            out[name].append(fns[name]())
    return out


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(ours: Sequence[float], baseline: Sequence[float]) -> float:
    """Median of per-repeat ratios ours[i] / baseline[i].

    The two runs of a repeat are adjacent in time, so each ratio sees nearly the same machine
    load; its median is steadier than the ratio of the two medians on a noisy machine.
    """
    return median([o / b for o, b in zip(ours, baseline, strict=True)])


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def matmul_gflops(n: int = 1024, seconds: float = 0.5) -> float:
    """Measured fp32 n x n matmul rate in GFLOP/s (the practical compute ceiling here)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    iters, t0 = 0, time.perf_counter()
    while True:
        a @ b
        iters += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and iters >= 5:
            return 2.0 * n**3 * iters / dt / 1e9


def labels() -> dict[str, list[str]]:
    from multitask.config import load_params

    return load_params(ROOT / "params.yaml").labels.as_dict()


def bench_texts(n: int, seed: int = 7, long_fraction: float = 0.1) -> list[str]:
    """Realistic inputs with a long tail: generated sentences plus some 60-120 word ones.

    Short texts come from the project's synthetic generator (mostly 5-25 words); the long ones
    are runs of generated sentences joined until a drawn length of 60-120 words is reached.
    The order is shuffled so batches mix lengths, as real traffic does.
    """
    import random

    from multitask.data.synthetic.generator import generate_synthetic

    n_long = round(n * long_fraction)
    pool = generate_synthetic(n + 8 * n_long + 50, seed)["text"].tolist()
    r = random.Random(seed)
    short, rest = pool[: n - n_long], pool[n - n_long :]
    longs: list[str] = []
    for _ in range(n_long):
        want, words = r.randint(60, 120), []
        while len(words) < want:
            words += r.choice(rest).split()
        longs.append(" ".join(words[:want]))
    texts = short + longs
    r.shuffle(texts)
    return texts


def tiny_backbone(where: Path) -> str:
    """A tiny random BERT (the packaged tokenizer) for --quick runs; returns its folder."""
    from harness.tiny import make_tiny_backbone

    path = where / "tiny-backbone"
    if not (path / "config.json").is_file():
        make_tiny_backbone(path)
    return str(path)


def backbone_path(quick: bool, where: Path) -> str:
    """The backbone folder to benchmark: tiny in --quick mode, the real all-MiniLM-L6-v2 else."""
    from multitask.model.backbone import resolve_backbone

    return tiny_backbone(where) if quick else resolve_backbone("default")


def peak_rss_of(cmd: Sequence[str], **popen: Any) -> tuple[int, float, int]:
    """Run `cmd` to completion; return (exit status, wall seconds, peak RSS in bytes).

    The peak comes from wait4's rusage: the child and every descendant it waited for
    (ru_maxrss, KiB on Linux), so it is per command, not cumulative over the run.
    """
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), **popen)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - t0, int(usage.ru_maxrss) * 1024


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "python": platform.python_version(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return info


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    digits = 2 if abs(value) < 10 else (1 if abs(value) < 100 else 0)
    return f"{value:,.{digits}f} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    """The Markdown results table (notes as a numbered list under it)."""
    lines = [
        "| benchmark | ours | baseline | ratio | target | pass |",
        "|---|---:|---:|---:|---|:-:|",
    ]
    notes: list[str] = []
    for row in rows:
        name = row.benchmark
        if row.note:
            notes.append(row.note)
            name += f" [{len(notes)}]"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        ok = {True: "yes", False: "**NO**", None: "-"}[row.passed]
        lines.append(
            f"| {name} | {fmt_value(row.ours, row.unit)} | {fmt_value(row.baseline, row.unit)} "
            f"| {ratio} | {row.target or 'info'} | {ok} |"
        )
    if notes:
        lines.append("")
        lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


def log(msg: str) -> None:
    """Progress on stderr (stdout is reserved for the table)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_main(run: Callable[[bool], list[Row]], description: str | None = None) -> None:
    """Command line of one benchmark module: run it, print its table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny model, few repeats")
    parser.add_argument("--json-out", type=Path, help="write the rows here (used by run_all)")
    args = parser.parse_args()
    # SIGTERM (run_all's timeout) -> SystemExit, so `finally` blocks stop servers and clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = run(args.quick)
    if args.json_out:
        args.json_out.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(table(rows))
