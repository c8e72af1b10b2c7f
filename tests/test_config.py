"""params.yaml loading: the shipped file is valid; every kind of mistake names its key."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from multitask.config import load_params, parse_params
from multitask.errors import ConfigError
from tests.conftest import ROOT

RAW_TEXT = (ROOT / "params.yaml").read_text()
RAW = yaml.safe_load(RAW_TEXT)


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


# -- floats as `dvc exp run -S` writes them ------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2e-05", 2e-05), ("2E-5", 2e-05), ("-3e-5", -3e-05), ("+1e3", 1000.0), (".5e-3", 5e-04),
        ("1.5e-05", 1.5e-05), ("0.00005", 5e-05), ("12", 12), ("'2e-5'", "2e-5"),
        ("e5", "e5"), ("2e5x", "2e5x"), ("1e", "1e"), ("1.0.0e3", "1.0.0e3"),
    ],
)  # fmt: skip
def test_params_read_floats_as_dvc_writes_them(text, value):
    from multitask.config import load_yaml

    got = load_yaml(f"v: {text}")["v"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("override", ["2e-5", "0.00002", "2.0e-5", "1e-5", "5e-4"])
def test_a_dvc_set_param_round_trips_into_the_strict_config(tmp_path, override):
    """DVC's own writer (the code behind `dvc exp run -S`), then our loader: a float."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text(RAW_TEXT)
    apply_overrides(path, [f"train.lr_encoder={override}"])
    assert load_params(path).train.lr_encoder == pytest.approx(float(override), rel=1e-12)
    plain = yaml.safe_load(path.read_text())["train"]["lr_encoder"]
    if "." not in repr(float(override)):  # e.g. 2e-05: plain PyYAML reads the string
        assert plain == repr(float(override))


def test_a_quoted_number_is_still_refused(tmp_path):
    path = tmp_path / "params.yaml"
    text, n = re.subn(r"(?m)^  lr_encoder: .*$", "  lr_encoder: '2e-5'", RAW_TEXT)
    assert n == 1
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"train\.lr_encoder"):
        load_params(path)
