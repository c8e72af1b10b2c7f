"""Champion choice uses validation metrics only; ties are deterministic; the report matches."""

from __future__ import annotations

import pytest

from multitask.training.selection import choose_champion, comparison_markdown, comparison_table


def _r(val, test, params=100):
    return {"val/f1_mean": val, "test/f1_mean": test, "params_trainable": params}


def test_champion_follows_validation_not_test():
    results = {"a": _r(0.90, 0.99), "b": _r(0.95, 0.50), "c": _r(0.80, 1.00)}
    assert choose_champion(results, "val/f1_mean") == "b"


def test_test_metric_cannot_select():
    with pytest.raises(ValueError, match="validation"):
        choose_champion({"a": _r(1, 1)}, "test/f1_mean")


def test_ties_prefer_fewer_trainable_params_then_name():
    results = {"z": _r(0.9, 0.1, 10), "b": _r(0.9, 0.9, 500), "a": _r(0.9, 0.9, 500)}
    assert choose_champion(results, "val/f1_mean") == "z"
    results["z"]["params_trainable"] = 500
    assert choose_champion(dict(reversed(results.items())), "val/f1_mean") == "a"


def test_report_has_every_scenario_and_marks_champion():
    results = {
        "a": {"val/acc_topic": 0.5, "params_trainable": 3, "train_seconds": 1.0},
        "b": {"val/acc_topic": 0.75, "params_trainable": 1234, "train_seconds": 2.5},
    }
    table = comparison_table(results)
    md = comparison_markdown(table, "b", "val/f1_mean")
    assert "| **b** |" in md and "| a |" in md
    assert "0.750" in md and "1,234" in md
