"""DVC stage `register`: pick the champion on validation metrics and register it in MLflow.

Writes champion.json (name, version, run id, scenario, metrics) and the scenario comparison
(reports/comparison.md, .csv, .png), which is also logged to the champion's MLflow run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from multitask import tracking
from multitask.cli_support import run_main, setup_logging, stage_parser
from multitask.config import load_params
from multitask.io import atomic_path, atomic_write_json, atomic_write_text
from multitask.plots import save_comparison
from multitask.selection import (
    choose_champion,
    comparison_markdown,
    comparison_table,
    read_scenario_results,
)

log = logging.getLogger("register")
REPORT = Path("reports/comparison")


def main() -> None:
    parser = stage_parser(__doc__)
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    metric = params.register_.select_metric
    results = read_scenario_results(list(params.train.scenarios))
    champion = choose_champion(results, metric)
    best = results[champion]

    table = comparison_table(results)
    markdown = comparison_markdown(table, champion, metric)
    atomic_write_text(REPORT.with_suffix(".md"), markdown)
    with atomic_path(REPORT.with_suffix(".csv")) as tmp:
        table.to_csv(tmp)
    save_comparison(
        table,
        ["val/acc_topic", "val/acc_sentiment", "test/acc_topic", "test/acc_sentiment"],
        REPORT.with_suffix(".png"),
    )

    tracking.connect()
    name = params.register_.model_name
    metrics = {k: float(v) for k, v in best.items() if k.startswith(("val/", "test/", "natural/"))}
    tags = {
        "scenario": champion,
        "selected_by": f"{metric} = {best[metric]:.4f} (best of {len(results)} scenarios)",
        "data_digest": best["data_digest"],
        "git_commit": tracking.git_commit(),
        **{f"metric.{k}": f"{v:.4f}" for k, v in metrics.items()},
    }
    description = (
        f"Scenario `{champion}` chosen on {metric} = {best[metric]:.4f}. "
        f"Test accuracy: topic {best['test/acc_topic']:.3f}, "
        f"sentiment {best['test/acc_sentiment']:.3f}."
    )
    version, created = tracking.register_champion(
        name, best["run_id"], best["model_uri"], tags, description
    )
    with tracking.run_scope(run_id=best["run_id"]):
        tracking.log_artifacts(
            [REPORT.with_suffix(s) for s in (".md", ".csv", ".png")], "comparison"
        )
    atomic_write_json(
        "champion.json",
        {
            "name": name,
            "version": version,
            "run_id": best["run_id"],
            "scenario": champion,
            "selected_by": metric,
            "metrics": metrics,
            "labels": params.labels.as_dict(),
        },
    )
    log.info(
        "champion: %s -> %s version %d (%s)",
        champion, name, version, "new" if created else "already registered",
    )  # fmt: skip
    print(markdown)


if __name__ == "__main__":
    run_main(main)
