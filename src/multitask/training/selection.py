"""Choosing the champion and summarising the scenarios: pure functions over metrics files.

The champion is chosen on a VALIDATION metric only (test metrics are for reporting). Ties go to
the scenario with fewer trainable parameters (cheaper to train), then to the name, so the choice
never depends on file order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from multitask.config import TASKS
from multitask.errors import DataError
from multitask.records import METRICS_FILE, TRAIN_RUN_FILE, Metrics, TrainRun

REPORT_COLUMNS = [
    "val/f1_mean",
    *(
        f"{split}/{metric}_{task}"
        for split in ("init", "val", "test", "natural")
        for task in TASKS
        for metric in ("acc", "f1")
    ),
]


def read_scenario_results(
    scenarios: list[str], eval_dir: Path, models_dir: Path
) -> dict[str, dict[str, Any]]:
    """Each scenario's metrics.json (under `eval_dir`) and run.json (under `models_dir`),
    merged into one flat dict; DataError names a missing or malformed file."""
    results: dict[str, dict[str, Any]] = {}
    for name in scenarios:
        hint = f"run `dvc repro` for {name} first"
        metrics = Metrics.read(eval_dir / name / METRICS_FILE, hint=hint)
        run = TrainRun.read(models_dir / name / TRAIN_RUN_FILE, hint=hint)
        results[name] = {**metrics.values, **run.model_dump()}
    return results


def choose_champion(results: Mapping[str, Mapping[str, Any]], metric: str) -> str:
    """Best scenario on `metric` (a val/ metric); ties: fewer trainable params, then name."""
    if not metric.startswith("val/"):
        raise ValueError(f"the champion is chosen on validation metrics, got {metric!r}")
    if not results:
        raise ValueError("no scenario results to choose from")
    for name, r in results.items():
        if metric not in r:
            raise DataError(f"scenario {name} has no metric {metric!r}")
    return min(
        results,
        key=lambda n: (
            -round(float(results[n][metric]), 9),
            results[n].get("params_trainable", 0),
            n,
        ),
    )


def comparison_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    rows = {
        name: {
            **{c: r.get(c, float("nan")) for c in REPORT_COLUMNS},
            "params_trainable": r.get("params_trainable", 0),
            "train_seconds": r.get("train_seconds", float("nan")),
        }
        for name, r in results.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "scenario"
    return table


def comparison_markdown(table: pd.DataFrame, champion: str, metric: str) -> str:
    """A Markdown report: one row per scenario, the champion marked."""
    header = ["scenario", *table.columns]
    lines = [
        "# Scenario comparison",
        "",
        f"Champion: **{champion}** (highest `{metric}`; test and natural-set columns are for "
        "reporting only). `init/` columns are the starting model's validation figures, `val/` "
        "the trained model's: before -> after.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * len(table.columns)) + " |",
    ]
    for name, row in table.iterrows():
        cells = [f"**{name}**" if name == champion else str(name)]
        for col, value in row.items():
            if col == "params_trainable":
                cells.append(f"{int(value):,}")
            elif col == "train_seconds":
                cells.append(f"{value:.1f}")
            else:
                cells.append("" if pd.isna(value) else f"{value:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
