"""Scenarios and the training loop: what trains, frozen means untouched, the cache is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from multitask.config import Phase, Scenario
from multitask.training.loop import fit, length_bucketed_batches, warmup_linear
from multitask.training.scenarios import apply_phase, parameter_groups


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def _changed(before, model):
    return {k for k, v in model.named_parameters() if not torch.equal(before[k], v.detach())}


@pytest.fixture
def cfg(params):
    return params.train.model_copy(update={"epochs": 2, "batch_size": 16, "lr_encoder": 1e-3})


@pytest.fixture
def tables(small_table):
    return small_table[small_table.split == "train"], small_table[small_table.split == "val"]


@pytest.mark.parametrize(
    ("scenario", "changes"),
    [
        ("frozen_all", set()),
        ("frozen_backbone", {"heads.topic", "heads.sentiment"}),
        ("frozen_head_a", {"encoder", "heads.sentiment"}),
        ("frozen_head_b", {"encoder", "heads.topic"}),
        ("full_finetune", {"encoder", "heads.topic", "heads.sentiment"}),
        ("gradual_unfreeze", {"encoder", "heads.topic", "heads.sentiment"}),
    ],
)
def test_each_scenario_trains_exactly_its_groups(
    tiny_model, tables, params, cfg, scenario, changes
):
    before = _snapshot(tiny_model)
    result = fit(tiny_model, *tables, cfg, params.train.scenario(scenario))
    changed = _changed(before, tiny_model)
    for prefix in ("encoder", "heads.topic", "heads.sentiment"):
        touched = any(k.startswith(prefix) for k in changed)
        assert touched == (prefix in changes), (scenario, prefix)
    assert len(result.history) == (1 if scenario == "frozen_all" else cfg.epochs)
    assert 0 <= result.best_epoch < len(result.history)


def test_frozen_parameters_get_no_grad_and_no_optimizer_state(tiny_model, params, cfg):
    groups = parameter_groups(tiny_model, cfg, params.train.scenario("frozen_head_a"))
    trained = apply_phase(tiny_model, groups, Phase(epoch=0, heads=["sentiment"], encoder_layers=1))
    assert trained == {"head_sentiment", "encoder_0"}
    frozen = [p for g in groups if g.name not in trained for p in g.params]
    assert frozen and not any(p.requires_grad for p in frozen)


def test_gradual_unfreeze_lowers_rates_going_down(tiny_model, params, cfg):
    scenario = params.train.scenario("gradual_unfreeze")
    groups = {g.name: g.lr for g in parameter_groups(tiny_model, cfg, scenario)}
    depth = sum(name.startswith("encoder_") for name in tiny_model.parameter_blocks())
    assert depth == 3  # 2 layers + embeddings
    rates = [groups[f"encoder_{d}"] for d in range(depth)]
    assert rates == sorted(rates, reverse=True) and rates[0] == cfg.lr_encoder


def test_fast_path_matches_slow_path(tiny_backbone, labels, tables, params, cfg):
    from multitask.model.network import MultiTaskSentenceTransformer

    results = []
    for use_cache in (True, False):
        model = MultiTaskSentenceTransformer.from_backbone(str(tiny_backbone), labels, seed=0)
        r = fit(model, *tables, cfg, params.train.scenario("frozen_backbone"), use_cache=use_cache)
        results.append((model, r))
    (fast, rf), (slow, rs) = results
    for (name, a), b in zip(fast.named_parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)
    assert rf.history[-1]["val/acc_topic"] == rs.history[-1]["val/acc_topic"]


def test_training_is_deterministic(tiny_backbone, labels, tables, params, cfg):
    from multitask.model.network import MultiTaskSentenceTransformer

    outs = []
    for _ in range(2):
        model = MultiTaskSentenceTransformer.from_backbone(str(tiny_backbone), labels, seed=0)
        fit(model, *tables, cfg, params.train.scenario("full_finetune"))
        outs.append(model.encode(["the market rallied"]))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-6)


def test_new_scenario_is_just_data(tiny_model, tables, cfg):
    heads_only_then_top = Scenario(
        phases=[
            Phase(epoch=0, heads=["topic"], encoder_layers=0),
            Phase(epoch=1, heads=["topic", "sentiment"], encoder_layers=1),
        ]
    )
    before = _snapshot(tiny_model)
    fit(tiny_model, *tables, cfg, heads_only_then_top)
    changed = _changed(before, tiny_model)
    assert any(k.startswith("encoder.encoder.layer.1.") for k in changed)
    assert not any(k.startswith("encoder.encoder.layer.0.") for k in changed)
    assert not any(k.startswith("encoder.embeddings") for k in changed)


def test_length_buckets_cover_every_row_once():
    lengths = list(np.random.default_rng(0).integers(3, 60, size=503))
    batches = length_bucketed_batches(lengths, 32, torch.Generator().manual_seed(1))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(503))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    assert spread < np.ptp(lengths) / 3  # batches hold similar lengths


def test_warmup_then_linear_decay():
    f = warmup_linear(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.5) and f(100) == 0.0


@pytest.mark.parametrize("best_at", [0, 2])
@pytest.mark.parametrize("scenario", ["gradual_unfreeze", "frozen_backbone", "full_finetune"])
def test_the_best_epochs_weights_are_restored(tiny_model, tables, params, cfg, scenario, best_at):
    """After fit, every parameter equals its value at the end of the best epoch, including those
    unfrozen only after it (the snapshot holds only what has been trainable)."""
    cfg = cfg.model_copy(update={"epochs": 3})
    states = []

    def on_epoch(epoch, row):
        states.append(_snapshot(tiny_model))
        row[cfg.select_metric] = -abs(epoch - best_at)  # make `best_at` the best epoch

    result = fit(tiny_model, *tables, cfg, params.train.scenario(scenario), on_epoch=on_epoch)
    assert result.best_epoch == best_at
    assert _changed(states[best_at], tiny_model) == set()
    if scenario != "frozen_backbone" and best_at == 0:
        assert _changed(states[2], tiny_model), "later epochs trained something else"
