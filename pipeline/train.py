"""DVC stage `train@<scenario>`: train one freezing scenario and track it in MLflow.

Outputs (paths given by dvc.yaml): <model-dir>/model (safetensors folder), <model-dir>/run.json
(MLflow run id, model URI, best epoch, timings, parameter counts) and <report-dir>/history.csv
(per-epoch, for `dvc plots`) and curves.png.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from multitask.config import Params, Scenario, load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.data.tables import SPLITS, read_splits, split_path
from multitask.errors import UsageError
from multitask.io import atomic_dir, file_digest
from multitask.model.device import check_ranks_fit, pick_device
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.records import MODEL_SUBDIR, TRAIN_RUN_FILE, TrainRun
from multitask.tracking import runs, store
from multitask.training.distributed import init_from_env, is_main, launched_by_torchrun, shutdown
from multitask.training.loop import fit, history_frame
from multitask.training.plots import save_training_curves

log = logging.getLogger("train")


def starting_model(
    params: Params, scenario: Scenario, init_dir: Path | None
) -> tuple[MultiTaskSentenceTransformer, TrainRun | None]:
    """The model a scenario starts from, and the train record of its parent if it has one:
    another scenario's trained model (`init_from`, its train output passed as --init-dir), or
    the pretrained backbone with fresh, seeded heads."""
    if scenario.init_from is None:
        model = MultiTaskSentenceTransformer.from_backbone(
            params.model.backbone,
            params.labels.as_dict(),
            max_length=params.model.max_length,
            dropout=params.model.dropout,
            seed=params.train.seed,
        )
        return model, None
    if init_dir is None:
        raise UsageError(f"the scenario starts from {scenario.init_from!r}: pass --init-dir")
    hint = f"run `dvc repro train@{scenario.init_from}` first"
    parent = TrainRun.read(init_dir / TRAIN_RUN_FILE, hint=hint)
    if parent.scenario != scenario.init_from:
        raise UsageError(
            f"--init-dir {init_dir} holds scenario {parent.scenario!r}, not {scenario.init_from!r}"
        )
    model = MultiTaskSentenceTransformer.load(init_dir / MODEL_SUBDIR, params.labels.as_dict())
    return model, parent


def main() -> int:
    parser = stage_parser(__doc__)
    parser.add_argument(
        "--scenario", required=True, help="a key of train.scenarios or train.warm_scenarios"
    )
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--model-dir", required=True, type=Path, help="output: model + run.json")
    parser.add_argument("--report-dir", required=True, type=Path, help="output: history, curves")
    parser.add_argument(
        "--init-dir", type=Path, help="the train output of the scenario named by init_from"
    )
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    name = args.scenario
    scenario = params.train.scenario(name)
    if params.train.nproc > 1 and not launched_by_torchrun():
        check_ranks_fit(params.train.nproc)  # one GPU per rank on a CUDA host
        # Re-run this very command as N data-parallel processes; torchrun forwards signals.
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += [f"--nproc_per_node={params.train.nproc}", *sys.argv]
        return subprocess.run(cmd, check=False).returncode
    init_from_env()
    if is_main():  # rank 0 tracks and writes: fail on an unreachable store before any work
        store.connect()
    splits = read_splits(args.data)
    digest = file_digest(split_path(args.data, "train"))[:16]
    model, parent = starting_model(params, scenario, args.init_dir)
    model = model.to(pick_device())
    if not is_main():  # other ranks only compute; rank 0 tracks and writes
        fit(model, splits["train"], splits["val"], params.train, scenario)
        shutdown()
        return 0

    report_dir = args.report_dir
    tags = {"data_digest": digest, "device": str(model.device)}
    if parent is not None:  # the MLflow run this one continues from
        tags |= {"init_from": parent.scenario, "init_from_run": parent.run_id}
    with runs.start_training_run(params.tracking.experiment, name, tags) as run:
        log.info("MLflow run %s (%s)", run.info.run_id, store.redact(store.tracking_uri()))
        runs.log_training_inputs(
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
            on_epoch=lambda epoch, row: runs.log_metrics(row, step=epoch),
        )
        runs.log_metrics(
            {
                **result.init_metrics,
                **result.param_counts,
                "best_epoch": result.best_epoch,
                "train_seconds": result.seconds,
            }
        )
        history = history_frame(result.history)
        with atomic_dir(report_dir) as tmp:
            history.to_csv(tmp / "history.csv", index=False)
            save_training_curves(history, f"training: {name}", tmp / "curves.png")
        runs.log_artifacts([report_dir / "history.csv", report_dir / "curves.png"], "train")

        with atomic_dir(args.model_dir) as out:
            model.save(out / MODEL_SUBDIR)
            model_uri = runs.log_pyfunc_model(
                model, out / MODEL_SUBDIR, splits["val"]["text"].tolist()
            )
            TrainRun(
                scenario=name,
                run_id=run.info.run_id,
                experiment_id=run.info.experiment_id,
                model_uri=model_uri,
                data_digest=digest,
                best_epoch=result.best_epoch,
                epochs_run=len(result.history),
                train_seconds=round(result.seconds, 2),
                **result.param_counts,
                init_from=scenario.init_from,
                init_metrics=result.init_metrics,
            ).write(out / TRAIN_RUN_FILE)
    log.info("%s done in %.1fs (best epoch %d)", name, result.seconds, result.best_epoch + 1)
    shutdown()
    return 0


if __name__ == "__main__":
    run_main(main)
