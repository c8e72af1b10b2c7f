"""params.yaml loading: the shipped file is valid; every kind of mistake names its key."""

from __future__ import annotations

import copy

import pytest
import yaml

from multitask.config import load_params, parse_params
from multitask.errors import ConfigError
from tests.conftest import ROOT

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())


def _with(path: str, value) -> dict:
    raw = copy.deepcopy(RAW)
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[leaf] = value
    return raw


def test_shipped_params_are_valid(params):
    assert set(params.train.all_scenarios) == {
        "frozen_all", "frozen_backbone", "frozen_head_a", "frozen_head_b",
        "full_finetune", "gradual_unfreeze",
    }  # fmt: skip
    for name in ("frozen_head_a", "frozen_head_b"):  # both start from the trained heads
        assert params.train.scenario(name).init_from == "frozen_backbone"
    assert params.labels.topic == ["business", "health", "sports", "technology"]
    assert params.labels.sentiment == ["negative", "neutral", "positive"]


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("train.epochs", -1, "train.epochs"),
        ("train.epochs", "three", "train.epochs"),
        ("generate.rows", 0, "generate.rows"),
        ("labels.topic", [], "labels.topic"),
        ("labels.sentiment", ["a", "a"], "labels.sentiment"),
        ("generate.splits", {"train": 0.8, "val": 0.15, "test": 0.15}, "generate.splits"),
        ("train.lr_head", 0, "train.lr_head"),
        ("train.select_metric", "test/f1_mean", "train.select_metric"),
        ("register.select_metric", "test/acc_topic", "register.select_metric"),
        ("train.scenarios", {}, "train.scenarios"),
        ("model.max_length", 2, "model.max_length"),
    ],
)
def test_bad_values_name_the_key(path, value, key):
    with pytest.raises(ConfigError) as err:
        parse_params(_with(path, value))
    assert key in str(err.value)


def test_unknown_key_is_rejected():
    raw = _with("train.learning_rate", 0.1)
    with pytest.raises(ConfigError, match=r"train\.learning_rate: unknown key"):
        parse_params(raw)


def test_bad_phase_is_located_precisely():
    raw = _with("train.scenarios.x", {"phases": [{"epoch": 0, "heads": ["colour"]}]})
    with pytest.raises(ConfigError, match=r"train\.scenarios\.x\.phases\.0\.heads\.0"):
        parse_params(raw)


def test_phase_epochs_must_increase():
    phases = [{"epoch": 1, "heads": ["topic"]}, {"epoch": 0, "heads": ["topic"]}]
    with pytest.raises(ConfigError, match="strictly increasing"):
        parse_params(_with("train.scenarios.x", {"phases": phases}))


def test_missing_section_and_file(tmp_path):
    raw = copy.deepcopy(RAW)
    del raw["train"]
    with pytest.raises(ConfigError, match="train: required key is missing"):
        parse_params(raw)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(tmp_path / "bad.yaml")


WARM = {"init_from": "frozen_backbone", "phases": [{"epoch": 0, "heads": ["topic"]}]}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("train.warm_scenarios.x", {**WARM, "init_from": "nope"}, "'nope' is not a scenario"),
        ("train.warm_scenarios.x", {**WARM, "init_from": "frozen_head_a"}, "is not a scenario"),
        ("train.warm_scenarios.full_finetune", WARM, "used twice"),
        ("train.scenarios.x", WARM, "belongs in train.warm_scenarios"),
        ("train.warm_scenarios.x", {"phases": []}, "without in train.scenarios"),
        ("train.scenarios.x", {"phases": [], "loss_weights": {"topic": 1}}, "missing weight"),
    ],
)
def test_bad_warm_starts_are_named(path, value, message):
    with pytest.raises(ConfigError, match=message):
        parse_params(_with(path, value))


def test_unknown_scenario_lists_known_ones(params):
    with pytest.raises(ConfigError, match="frozen_backbone"):
        params.train.scenario("nope")


def test_phase_at_follows_the_schedule(params):
    gradual = params.train.scenario("gradual_unfreeze")
    assert gradual.phase_at(0).encoder_layers == 0
    assert gradual.phase_at(1).encoder_layers == 3
    assert gradual.phase_at(7).encoder_layers == "all"
    assert params.train.scenario("frozen_all").phase_at(0).heads == []
