"""DVC stage `register`: pick the best scenario on validation metrics and register it in MLflow.

The champion rule (`multitask.project.DvcRun.moves_champion`): `dvc repro` (or this script run by
hand) points the registry alias `champion` at the version it registers; a DVC experiment
(`dvc exp run` in the workspace, --temp or --queue) registers a candidate version tagged with
the experiment's name and baseline commit and moves no alias, so parallel experiments never race
on it. `multitask promote` promotes a candidate after `dvc exp apply <name>`.

Writes <champion> (champion.json: name, version, run id, scenario, metrics, labels, whether it
was registered as the champion or a candidate, the DVC experiment, and the lineage: git commit,
data digest and the md5 dvc.lock records for models/<scenario>) and the scenario comparison
<report>.md, .csv and .png, which is also logged to the best scenario's MLflow run. `package`
packages exactly the version champion.json names.
"""

from __future__ import annotations

import logging
from pathlib import Path

from multitask.config import TASKS, load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.io import atomic_path, atomic_write_text
from multitask.project import dvc_run, locked_md5
from multitask.records import Champion, DvcContext, Lineage
from multitask.tracking import registry, runs, store
from multitask.training.plots import save_comparison
from multitask.training.selection import (
    choose_champion,
    comparison_markdown,
    comparison_table,
    read_scenario_results,
)

log = logging.getLogger("register")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--eval-dir", required=True, type=Path, help="evaluate outputs")
    parser.add_argument("--models-dir", required=True, type=Path, help="train outputs")
    parser.add_argument("--report", required=True, type=Path, help="comparison report, no suffix")
    parser.add_argument("--champion", required=True, type=Path, help="output: champion.json")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    metric = params.register_.select_metric
    scenarios = list(params.train.all_scenarios)
    results = read_scenario_results(scenarios, args.eval_dir, args.models_dir)
    champion = choose_champion(results, metric)
    best = results[champion]

    report: Path = args.report
    table = comparison_table(results)
    markdown = comparison_markdown(table, champion, metric)
    atomic_write_text(report.with_suffix(".md"), markdown)
    with atomic_path(report.with_suffix(".csv")) as tmp:
        table.to_csv(tmp)
    save_comparison(table, TASKS, report.with_suffix(".png"))

    store.connect()
    name = params.register_.model_name
    metrics = {
        k: float(v) for k, v in best.items() if k.startswith(("init/", "val/", "test/", "natural/"))
    }
    # dvc.lock already holds the train stage's md5 of this folder (DVC writes it per stage).
    model_md5 = locked_md5(args.models_dir / champion)
    if not model_md5:
        log.warning("dvc.lock records no md5 for %s (not run by DVC?)", args.models_dir / champion)
    git_commit = store.git_commit()
    tags = {
        "scenario": champion,
        "selected_by": f"{metric} = {best[metric]:.4f} (best of {len(results)} scenarios)",
        "data_digest": best["data_digest"],
        "git_commit": git_commit,
        "model_md5": model_md5,
        **{f"metric.{k}": f"{v:.4f}" for k, v in metrics.items()},
    }
    description = (
        f"Scenario `{champion}` chosen on {metric} = {best[metric]:.4f}. "
        f"Test accuracy: topic {best['test/acc_topic']:.3f}, "
        f"sentiment {best['test/acc_sentiment']:.3f}."
    )
    run = dvc_run()
    version, created = registry.register_version(
        name, best["run_id"], best["model_uri"], tags, description
    )
    if run.moves_champion:
        registry.set_champion(name, version)
    with store.run_scope(run_id=best["run_id"]):
        runs.log_artifacts([report.with_suffix(s) for s in (".md", ".csv", ".png")], "comparison")
    Champion(
        name=name,
        version=version,
        run_id=best["run_id"],
        scenario=champion,
        selected_by=metric,
        metrics=metrics,
        labels=params.labels.as_dict(),
        registered_as="champion" if run.moves_champion else "candidate",
        dvc=DvcContext(mode=run.mode, exp_name=run.exp_name, baseline_rev=run.baseline_rev),
        lineage=Lineage(
            registered_name=name,
            version=version,
            run_id=best["run_id"],
            scenario=champion,
            git_commit=git_commit,
            data_digest=best["data_digest"],
            model_md5=model_md5,
        ),
    ).write(args.champion)
    log.info(
        "%s: %s -> %s version %d (%s)",
        "champion" if run.moves_champion else f"candidate of DVC experiment {run.exp_name}",
        champion, name, version, "new" if created else "already registered",
    )  # fmt: skip
    print(markdown)


if __name__ == "__main__":
    run_main(main)
