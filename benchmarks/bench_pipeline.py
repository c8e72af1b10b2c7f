"""Pipeline costs: a no-op `dvc repro`, and the peak memory of a training run.

Works in a temporary copy of the repository made by ``harness/tiny_pipeline.py`` (git-tracked
files plus working-tree changes, a tiny random backbone, few rows, its own MLflow store and
BentoML home), so the checkout's own outputs are never touched:

1. ``dvc repro`` from scratch in the copy (information: the tiny pipeline's wall time);
2. a no-op ``dvc repro`` (everything up to date) against the bare CLI start-up,
   ``dvc --version``, interleaved. Target: <= 3 s. When this checkout has a dvc.lock and
   ``dvc status`` finds nothing to do, the no-op is timed in the checkout as well;
3. peak RSS of the real train stage (``pipeline/train.py --scenario full_finetune``, one epoch,
   all-MiniLM-L6-v2; the tiny backbone with --quick) against a plain training loop on the same
   model and rows, each in its own process (wait4 rusage: the process and what it waited for).

The full default pipeline from scratch (target <= 15 min) is what ``make pipeline`` runs; it is
not repeated here. Its time is reported when ``benchmarks/pipeline_time.txt`` exists, holding
either the seconds or the output of bash's ``time``, e.g.
``( time make pipeline ) 2> >(tee benchmarks/pipeline_time.txt >&2)``.

    .venv/bin/python benchmarks/bench_pipeline.py [--quick]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import ROOT, Row, bench_main, interleaved, log, median, peak_rss_of, timed

HERE = Path(__file__).resolve().parent
DVC = str(Path(sys.executable).parent / "dvc")
PIPELINE_TIME = HERE / "pipeline_time.txt"
FULL_TARGET_S = 15 * 60


def read_pipeline_time(path: Path = PIPELINE_TIME) -> float | None:
    """Seconds from pipeline_time.txt: bash `time` output ("real 12m3.4s") or a bare number."""
    if not path.is_file():
        return None
    text = path.read_text(errors="replace")
    m = re.search(r"real\s+(?:(\d+)m)?([\d.]+)s", text)
    if m:
        return int(m.group(1) or 0) * 60 + float(m.group(2))
    m = re.search(r"\d+(?:\.\d+)?", text)
    return float(m.group(0)) if m else None


def run_dvc(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [DVC, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed in {cwd}:\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def noop_row(name: str, cwd: Path, env: dict[str, str] | None, repeats: int, note: str) -> Row:
    """Time a no-op `dvc repro` against `dvc --version`; fail loudly if a stage ran."""

    def repro() -> float:
        out: list[str] = []
        seconds = timed(lambda: out.append(run_dvc(["repro"], cwd, env)))
        if "Running stage" in out[0]:
            raise RuntimeError(f"`dvc repro` in {cwd} was not a no-op:\n{out[0][-2000:]}")
        return seconds

    res = interleaved(
        {"repro": repro, "version": lambda: timed(lambda: run_dvc(["--version"], cwd, env))},
        repeats,
    )
    log(f"{name}: dvc repro {res['repro']}, dvc --version {res['version']}")
    return Row(
        name,
        median(res["repro"]),
        median(res["version"]),
        "s",
        "<= 3 s",
        note=note,
        extra={"ours_all": res["repro"], "baseline_all": res["version"]},
    )


def run(quick: bool) -> list[Row]:
    from harness import tiny_pipeline as tp

    repeats = 2 if quick else 3
    rows: list[Row] = []
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    # Few rows and one epoch: a no-op costs the same whatever the data size, but it grows with
    # the number of stages, so the full run keeps every scenario (--quick keeps two).
    scenarios, warm = params["train"]["scenarios"], params["train"]["warm_scenarios"]
    if quick:
        keep = ("frozen_backbone", "full_finetune")
        scenarios, warm = {k: v for k, v in scenarios.items() if k in keep}, {}
    overrides = {
        "generate": {"rows": 240},
        "train": {"epochs": 1, "batch_size": 32, "scenarios": scenarios, "warm_scenarios": warm},
    }
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp_name:
        work = Path(tmp_name) / "repo"
        env = tp.prepare(work, overrides)
        log(f"pipeline: tiny copy in {work}; dvc repro from scratch")
        with open(Path(tmp_name) / "repro.log", "wb") as fh:
            rc, scratch_s, scratch_rss = peak_rss_of(
                [DVC, "repro"], cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT
            )
        if rc != 0:
            tail = (Path(tmp_name) / "repro.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"tiny dvc repro failed (exit {rc}):\n{tail}")
        train = yaml.safe_load((work / "params.yaml").read_text())["train"]
        n_scen = len(train["scenarios"]) + len(train["warm_scenarios"])
        log(f"pipeline: from scratch {scratch_s:.1f} s, peak RSS {scratch_rss / 2**20:.0f} MiB")

        rows.append(
            noop_row(
                "pipeline no-op dvc repro, tiny copy (s)",
                work,
                env,
                repeats,
                note=(
                    "baseline = `dvc --version` (CLI start-up; ratio = how many start-ups a "
                    "no-op costs). In a temporary copy of the "
                    f"repo after a from-scratch tiny `dvc repro` ({n_scen} scenarios, "
                    f"{scratch_s:.0f} s, peak RSS {scratch_rss / 2**20:,.0f} MiB)."
                ),
            )
        )

        # -- peak RSS: the real train stage vs a plain loop, same model and rows -------------
        backbone = str(work / ".tiny-backbone") if quick else "default"
        run_params = yaml.safe_load((work / "params.yaml").read_text())
        run_params["model"]["backbone"] = backbone
        run_params["train"]["epochs"] = 1
        (work / "params_rss.yaml").write_text(yaml.safe_dump(run_params, sort_keys=False))
        train_cmd = [*tp.stage_command(work, "train@full_finetune"), "--params", "params_rss.yaml"]
        ref_cmd = [sys.executable, str(HERE / "bench_pipeline.py"), "--reference-child"]
        ref_cmd += [str(work / "data" / "train.csv"), backbone]
        peaks: dict[str, list[float]] = {"train": [], "plain": []}
        for name, cmd in (("train", train_cmd), ("plain", ref_cmd)):
            with open(Path(tmp_name) / f"{name}.log", "wb") as fh:
                rc, seconds, rss = peak_rss_of(
                    cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT
                )
            if rc != 0:
                tail = (Path(tmp_name) / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} run failed (exit {rc}):\n{tail}")
            peaks[name].append(rss / 2**20)
            log(f"pipeline: {name} run {seconds:.1f} s, peak RSS {rss / 2**20:.0f} MiB")
        n_rows = len((work / "data" / "train.csv").read_text(encoding="utf-8").splitlines()) - 1
        rows.append(
            Row(
                "train stage peak RSS (MiB)",
                peaks["train"][0],
                peaks["plain"][0],
                "MiB",
                note=(
                    "`pipeline/train.py --scenario full_finetune` (1 epoch, "
                    f"{'tiny backbone' if quick else 'all-MiniLM-L6-v2'}, {n_rows} rows, "
                    "MLflow logging included) vs a process running only the plain training "
                    "loop on the same model and rows; wait4 ru_maxrss."
                ),
            )
        )

    if (ROOT / "dvc.lock").is_file():
        status = subprocess.run([DVC, "status", "-q"], cwd=ROOT, capture_output=True, check=False)
        if status.returncode == 0:
            try:
                rows.append(
                    noop_row(
                        "pipeline no-op dvc repro, this checkout (s)",
                        ROOT,
                        None,
                        repeats,
                        note="baseline = `dvc --version`; the checkout's own, up-to-date pipeline.",
                    )
                )
            except RuntimeError as err:  # e.g. someone else's dvc holds the lock
                log(f"pipeline: no in-place no-op timing: {str(err).splitlines()[0]}")
        else:
            log("pipeline: this checkout's pipeline is not up to date; no in-place no-op timing")

    full = read_pipeline_time()
    if full is not None:
        rows.append(
            Row(
                "pipeline full from scratch, make pipeline (s)",
                full,
                None,
                "s",
                f"<= {FULL_TARGET_S} s",
                note=f"read from {PIPELINE_TIME.relative_to(ROOT)} (not measured in this run).",
            )
        )
    return rows


def reference_child(csv: str, backbone: str) -> None:
    """The baseline process for the RSS comparison: load the model, one plain epoch, exit."""
    from bench_train import fresh_model, reference_loop

    from multitask.config import load_params
    from multitask.data.tables import read_table

    cfg = load_params(ROOT / "params.yaml").train
    df = read_table(csv)
    reference_loop(fresh_model(backbone), df, cfg.batch_size, cfg)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--reference-child":
        reference_child(sys.argv[2], sys.argv[3])
    else:
        bench_main(run, __doc__)
