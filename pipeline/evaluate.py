"""DVC stage `evaluate@<scenario>`: per-task accuracy and macro-F1 on val, test and the natural set.

Outputs in <out> (dvc.yaml: reports/eval/<scenario>/): metrics.json (DVC metrics),
confusion_<task>.csv (DVC confusion plots on the test split) and confusion_<task>.png.
Everything is also logged into the scenario's MLflow training run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from multitask.config import TASKS, load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.data.tables import read_splits, read_table
from multitask.io import atomic_dir
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.records import METRICS_FILE, MODEL_SUBDIR, TRAIN_RUN_FILE, Metrics, TrainRun
from multitask.tracking import runs, store
from multitask.training.evaluation import evaluate_table
from multitask.training.plots import save_confusion

log = logging.getLogger("evaluate")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument(
        "--scenario", required=True, help="a key of train.scenarios or train.warm_scenarios"
    )
    parser.add_argument("--model-dir", required=True, type=Path, help="the train stage's output")
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    name = args.scenario
    params.train.scenario(name)  # unknown names fail with the list of known ones
    run_info = TrainRun.read(args.model_dir / TRAIN_RUN_FILE, hint=f"run `dvc repro train@{name}`")
    model = MultiTaskSentenceTransformer.load(
        args.model_dir / MODEL_SUBDIR, params.labels.as_dict()
    )
    splits = read_splits(args.data)

    metrics: dict[str, float] = {}
    confusions, preds = {}, {}
    for split in ("val", "test"):
        m, confusions[split], preds[split] = evaluate_table(model, splits[split], split)
        metrics.update(m)
    natural = read_table(params.evaluate.natural_set, ["text", *TASKS])
    # Keep the natural sentences whose labels exist in this label set (subsets are allowed).
    known = natural["topic"].isin(model.labels["topic"]) & natural["sentiment"].isin(
        model.labels["sentiment"]
    )
    if known.any():
        m, _, _ = evaluate_table(model, natural[known], "natural")
        metrics.update(m)
    metrics.update(run_info.init_metrics)  # the starting model's figures: "before" to "after"
    metrics = {k: round(v, 6) for k, v in metrics.items()}
    metrics.update(
        {"params_trainable": run_info.params_trainable, "train_seconds": run_info.train_seconds}
    )

    out_dir = args.out
    test = splits["test"]
    with atomic_dir(out_dir) as tmp:
        Metrics(values=metrics).write(tmp / METRICS_FILE)
        for task in TASKS:
            names = model.labels[task]
            rows = pd.DataFrame(
                {
                    "actual": test[task].tolist(),
                    "predicted": [names[i] for i in preds["test"][task]],
                }
            )
            rows.to_csv(tmp / f"confusion_{task}.csv", index=False)
            save_confusion(
                confusions["test"][task],
                names,
                f"{name}: {task} (test)",
                tmp / f"confusion_{task}.png",
            )

    store.connect()
    with store.run_scope(run_id=run_info.run_id):
        # One step after the last epoch: the val/ series then ends with the kept (best) model.
        step = run_info.epochs_run
        runs.log_metrics({k: v for k, v in metrics.items() if "/" in k}, step=step)
        runs.log_artifacts(sorted(out_dir.iterdir()), "eval")
    log.info(
        "%s: test acc topic %.3f sentiment %.3f | natural topic %.3f sentiment %.3f",
        name,
        metrics["test/acc_topic"],
        metrics["test/acc_sentiment"],
        metrics.get("natural/acc_topic", float("nan")),
        metrics.get("natural/acc_sentiment", float("nan")),
    )


if __name__ == "__main__":
    run_main(main)
