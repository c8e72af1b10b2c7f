"""DVC stage `train@<scenario>`: train one freezing scenario and track it in MLflow.

Outputs: models/<scenario>/model (safetensors folder), models/<scenario>/run.json (MLflow run id,
model URI, best epoch, timings, parameter counts) and reports/train/<scenario>/ (per-epoch
history.csv for `dvc plots`, curves.png).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from multitask import tracking
from multitask.cli_support import run_main, setup_logging, stage_parser
from multitask.config import load_params
from multitask.data.tables import SPLITS, read_splits, split_path
from multitask.distributed import (
    init_from_env,
    is_main,
    launched_by_torchrun,
    pick_device,
    shutdown,
)
from multitask.io import atomic_dir, atomic_write_json, file_digest
from multitask.model import MultiTaskSentenceTransformer
from multitask.plots import save_training_curves
from multitask.training import fit, history_frame

log = logging.getLogger("train")


def main() -> int:
    parser = stage_parser(__doc__)
    parser.add_argument("--scenario", required=True, help="a key of train.scenarios in params")
    parser.add_argument("--data", default="data", help="folder with train/val/test.csv")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    name = args.scenario
    scenario = params.train.scenario(name)
    if params.train.nproc > 1 and not launched_by_torchrun():
        # Re-run this very command as N data-parallel processes; torchrun forwards signals.
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += [f"--nproc_per_node={params.train.nproc}", *sys.argv]
        return subprocess.run(cmd, check=False).returncode
    init_from_env()
    splits = read_splits(args.data)
    digest = file_digest(split_path(args.data, "train"))[:16]
    model = MultiTaskSentenceTransformer.from_backbone(
        params.model.backbone,
        params.labels.as_dict(),
        max_length=params.model.max_length,
        dropout=params.model.dropout,
        seed=params.train.seed,
    ).to(pick_device())
    if not is_main():  # other ranks only compute; rank 0 tracks and writes
        fit(model, splits["train"], splits["val"], params.train, scenario)
        shutdown()
        return 0

    tracking.connect()
    report_dir = Path("reports/train") / name
    with tracking.start_training_run(
        params.tracking.experiment, name, {"data_digest": digest}
    ) as run:
        log.info("MLflow run %s (%s)", run.info.run_id, tracking.redact(tracking.tracking_uri()))
        tracking.log_training_inputs(
            {
                "scenario": scenario.model_dump(),
                "train": params.train.model_dump(exclude={"scenarios"}),
                "model": params.model.model_dump(),
                "generate": params.generate.model_dump(),
                "rows": {s: len(splits[s]) for s in SPLITS},
            },
            splits["train"],
            digest,
        )
        result = fit(
            model,
            splits["train"],
            splits["val"],
            params.train,
            scenario,
            on_epoch=lambda epoch, row: tracking.log_metrics(row, step=epoch),
        )
        tracking.log_metrics(
            {
                **result.param_counts,
                "best_epoch": result.best_epoch,
                "train_seconds": result.seconds,
            }
        )
        history = history_frame(result.history)
        with atomic_dir(report_dir) as tmp:
            history.to_csv(tmp / "history.csv", index=False)
            save_training_curves(history, f"training: {name}", tmp / "curves.png")
        tracking.log_artifacts([report_dir / "history.csv", report_dir / "curves.png"], "train")

        with atomic_dir(Path("models") / name) as out:
            model.save(out / "model")
            model_uri = tracking.log_pyfunc_model(
                model, out / "model", splits["val"]["text"].tolist()
            )
            atomic_write_json(
                out / "run.json",
                {
                    "scenario": name,
                    "run_id": run.info.run_id,
                    "experiment_id": run.info.experiment_id,
                    "model_uri": model_uri,
                    "data_digest": digest,
                    "best_epoch": result.best_epoch,
                    "epochs_run": len(result.history),
                    "train_seconds": round(result.seconds, 2),
                    **result.param_counts,
                },
            )
    log.info("%s done in %.1fs (best epoch %d)", name, result.seconds, result.best_epoch + 1)
    shutdown()
    return 0


if __name__ == "__main__":
    run_main(main)
