"""Many processes writing one sqlite tracking store at once, the way parallel pipelines do.

Each worker waits at a barrier (a file), then, through the project's own tracking code: connects
(the first ones create the store), gets or creates the experiment, runs one training-like run
(params, `steps` x 8 metrics, an artifact, a logged model) and registers a model version. The
parent checks what the store then holds: every run FINISHED in the experiment (none in
"Default"), every metric step present, one distinct version per worker, no worker failed.

    python -m harness.store_stress --procs 8 --steps 150 [--root DIR]

Used by tests/test_tracking_stress.py (small) and to measure what concurrency sqlite holds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "stress"
MODEL = "stress-model"
METRICS = 8


def worker(root: Path, index: int, steps: int, barrier: Path) -> dict:
    import mlflow

    from multitask.tracking import registry, runs, store

    while not barrier.exists():
        time.sleep(0.02)
    started = time.monotonic()
    store.connect(root=root)
    exp = store.ensure_experiment(EXPERIMENT, root=root)
    note = root / f"note-{index}.txt"
    note.write_text(f"worker {index}\n")
    with store.run_scope(experiment_id=exp, run_name=f"w{index}", tags={"scenario": "s"}) as run:
        mlflow.log_params({f"p{k}": k * index for k in range(40)})
        for step in range(steps):
            runs.log_metrics({f"m{k}": step * 0.01 + k for k in range(METRICS)}, step=step)
        runs.log_artifacts([note], "notes")
        model = mlflow.create_external_model(name="model")
    version, _ = registry.register_version(
        MODEL, run.info.run_id, f"models:/{model.model_id}", {"worker": str(index)}, "stress"
    )
    return {"index": index, "run_id": run.info.run_id, "version": version,
            "seconds": round(time.monotonic() - started, 1)}  # fmt: skip


def check(root: Path, results: list[dict], steps: int) -> list[str]:
    """What is wrong with the store after the workers (empty when nothing is)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    problems = []
    exp = client.get_experiment_by_name(EXPERIMENT)
    found = client.search_runs([exp.experiment_id]) if exp else []
    if len(found) != len(results):
        problems.append(f"{len(found)} runs in {EXPERIMENT!r}, expected {len(results)}")
    for run in found:
        if run.info.status != "FINISHED":
            problems.append(f"run {run.info.run_name} is {run.info.status}")
        for k in range(METRICS):
            history = client.get_metric_history(run.info.run_id, f"m{k}")
            if sorted(m.step for m in history) != list(range(steps)):
                problems.append(f"run {run.info.run_name} m{k}: {len(history)}/{steps} steps")
    if client.search_runs(["0"]):
        problems.append("runs landed in the Default experiment")
    versions = {int(v.version) for v in client.search_model_versions(f"name = '{MODEL}'")}
    if versions != {r["version"] for r in results} or len(versions) != len(results):
        problems.append(f"model versions {sorted(versions)} for {len(results)} workers")
    return problems


def run_workers(root: Path, procs: int, steps: int) -> dict:
    """Start `procs` workers at once on the store in `root`; return a summary."""
    root.mkdir(parents=True, exist_ok=True)
    barrier = root / "go"
    barrier.unlink(missing_ok=True)
    logs = [root / f"worker-{i}.log" for i in range(procs)]
    cmd = [sys.executable, "-m", "harness.store_stress", "--root", str(root), "--steps",
           str(steps), "--barrier", str(barrier)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    path = [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    handles = [log.open("w") for log in logs]
    children = [
        subprocess.Popen(
            [*cmd, "--worker", str(i)], cwd=ROOT, env=env, stdout=h, stderr=subprocess.STDOUT
        )
        for i, h in enumerate(handles)
    ]
    time.sleep(1.0)  # let them import; the barrier then releases them together
    started = time.monotonic()
    barrier.touch()
    codes = [c.wait(timeout=1800) for c in children]
    seconds = time.monotonic() - started
    for h in handles:
        h.close()
    texts = [log.read_text(errors="replace") for log in logs]
    results, failed = [], []
    for i, (text, code) in enumerate(zip(texts, codes, strict=True)):
        if code == 0:
            results.append(json.loads(text.strip().splitlines()[-1]))
        else:
            failed.append(f"worker {i} exit {code}:\n{text[-1500:]}")
    problems = failed + check(root, results, steps)
    return {
        "procs": procs,
        "steps": steps,
        "seconds": round(seconds, 1),
        "retries": sum(t.count("tracking store busy") for t in texts),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--root", type=Path, help="store folder (default: a new temp folder)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.root, args.worker, args.steps, args.barrier)), flush=True)
        return 0
    root = args.root or Path(tempfile.mkdtemp(prefix="store-stress-"))
    summary = run_workers(root, args.procs, args.steps)
    print(json.dumps(summary, indent=1))
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
