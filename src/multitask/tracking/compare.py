"""The MLflow UI's compare view of the runs behind the workspace's outputs (`make ui` prints it).

Which runs: those that produced the models, metrics and `reports/comparison.csv` now in the
workspace. The train stage records each one in `models/<scenario>/run.json` (run id, experiment
id), an output that `dvc.lock` pins, so the set is read from those files for every scenario in
params.yaml. After a full `dvc repro` (or `make pipeline`) they are the runs of that one execution
and share one `pipeline_id` tag (see multitask.execution); after a partial one, the scenarios DVC
did not re-run keep the runs that made their current outputs, and their tags say so.

MLflow 3's UI opens an experiment on its GenAI overview; the compare route goes straight to the
runs side by side: `<ui>/#/compare-runs?runs=[...]&experiments=[...]` (URL-encoded JSON lists).

`multitask ui` (and so `make ui`) prints these links, then starts the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from multitask.config import load_params
from multitask.errors import DataError
from multitask.records import TRAIN_RUN_FILE, TrainRun

UI_HOST = "127.0.0.1"  # where `make ui` binds the server


@dataclass(frozen=True)
class ScenarioRun:
    scenario: str
    run_id: str
    experiment_id: str


def current_runs(
    params: Path = Path("params.yaml"), models: Path = Path("models")
) -> tuple[list[ScenarioRun], list[str]]:
    """(runs recorded in models/<scenario>/run.json, scenarios without one), in params order."""
    found: list[ScenarioRun] = []
    missing: list[str] = []
    for name in load_params(params).train.all_scenarios:
        try:
            record = TrainRun.read(models / name / TRAIN_RUN_FILE)
        except DataError:
            missing.append(name)
            continue
        found.append(ScenarioRun(name, record.run_id, record.experiment_id))
    return found, missing


def _json_list(values: list[str]) -> str:
    return quote(json.dumps(values, separators=(",", ":")), safe="")


def compare_url(base: str, runs: list[ScenarioRun]) -> str:
    """`base/#/compare-runs?runs=[...]&experiments=[...]`, both lists as URL-encoded JSON."""
    experiments = sorted({r.experiment_id for r in runs})
    return (
        f"{base.rstrip('/')}/#/compare-runs?runs={_json_list([r.run_id for r in runs])}"
        f"&experiments={_json_list(experiments)}"
    )


def describe(base: str, runs: list[ScenarioRun], missing: list[str]) -> str:
    """What `make ui` prints before the server starts."""
    lines = [f"MLflow UI: {base}"]
    if runs:
        lines += [
            f"Compare the {len(runs)} scenario runs behind the workspace's outputs "
            f"(models/*/run.json: {', '.join(r.scenario for r in runs)}):",
            f"  {compare_url(base, runs)}",
        ]
        for exp_id in sorted({r.experiment_id for r in runs}):
            lines.append(f"Runs table: {base.rstrip('/')}/#/experiments/{exp_id}/runs")
    if missing:
        lines.append(
            f"No run recorded for {', '.join(missing)} (models/<scenario>/run.json): run the "
            "pipeline (make pipeline, or dvc repro), or dvc pull the models."
        )
    lines.append(
        "(MLflow 3 opens an experiment on its GenAI overview: the runs are under 'Training runs', "
        "or set the sidebar's 'GenAI / Model training' switch, which the browser remembers.)"
    )
    return "\n".join(lines)
