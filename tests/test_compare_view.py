"""The compare URL is built from models/<scenario>/run.json for params.yaml's scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from harness.records import train_run
from multitask.tracking.compare import ScenarioRun, compare_url, current_runs, describe

ROOT = Path(__file__).resolve().parents[1]


def write_run(models: Path, scenario: str, run_id: str, exp: str = "3") -> None:
    train_run(scenario, run_id, exp).write(models / scenario / "run.json")


def test_url_is_the_compare_route_with_json_lists() -> None:
    runs = [ScenarioRun("a", "r1", "3"), ScenarioRun("b", "r2", "12"), ScenarioRun("c", "r3", "3")]
    url = compare_url("http://127.0.0.1:5000/", runs)
    assert url.startswith("http://127.0.0.1:5000/#/compare-runs?runs=%5B%22r1%22")
    query = parse_qs(urlsplit(urlsplit(url).fragment).query)
    assert json.loads(query["runs"][0]) == ["r1", "r2", "r3"]
    assert json.loads(query["experiments"][0]) == ["12", "3"]
    assert '"' not in url and "[" not in url  # fully encoded
    assert unquote(url).endswith('experiments=["12","3"]')


def test_runs_in_params_order_and_missing_ones_named(tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_run(models, "full_finetune", "f")
    write_run(models, "frozen_all", "a")
    write_run(models, "not_a_scenario_any_more", "x")  # a stale folder is not compared
    (models / "frozen_head_a").mkdir()
    (models / "frozen_head_a" / "run.json").write_text("{not json")
    runs, missing = current_runs(ROOT / "params.yaml", models)
    assert [(r.scenario, r.run_id) for r in runs] == [("frozen_all", "a"), ("full_finetune", "f")]
    assert missing == ["frozen_backbone", "gradual_unfreeze", "frozen_head_a", "frozen_head_b"]
    text = describe("http://127.0.0.1:5000", runs, missing)
    assert compare_url("http://127.0.0.1:5000", runs) in text
    assert "#/experiments/3/runs" in text and "No run recorded for frozen_backbone" in text


def test_nothing_recorded_says_what_to_run(tmp_path: Path) -> None:
    runs, missing = current_runs(ROOT / "params.yaml", tmp_path / "models")
    text = describe("http://127.0.0.1:5000", runs, missing)
    assert not runs and "compare-runs" not in text and "make pipeline" in text
