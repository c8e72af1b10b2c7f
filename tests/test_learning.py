"""Training learns: on a tiny but learnable problem every scenario that trains something lowers
its training loss and beats chance on validation by a clear margin; with shuffled labels it does
not beat chance (the training loss may still fall: memorisation).

The problem: the topic is named by one of a few keywords per class, the sentiment by another,
among filler words, in random order. A tiny random encoder's mean-pooled embeddings separate them;
a bug such as labels misaligned with texts or a flipped loss sign does not.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from multitask.config import TASKS
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.training.loop import TrainResult, fit

TOPIC_WORDS = {
    "business": ["market", "profit", "shares"],
    "health": ["doctor", "vaccine", "hospital"],
    "sports": ["football", "goal", "tennis"],
    "technology": ["software", "laptop", "robot"],
}
SENTIMENT_WORDS = {
    "negative": ["terrible", "awful", "bad"],
    "neutral": ["today", "report", "usual"],
    "positive": ["great", "wonderful", "excellent"],
}
FILLER = ["the", "a", "of", "and", "we", "it", "was", "on", "in", "this"]
MARGIN = 0.25  # "beats chance by a clear margin": chance + 0.25 accuracy
NOISE_MARGIN = 0.15  # shuffled labels: no more than chance + 0.15


def make_table(rows: int, seed: int, shuffle_labels: bool = False) -> pd.DataFrame:
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        topic, sentiment = rng.choice(list(TOPIC_WORDS)), rng.choice(list(SENTIMENT_WORDS))
        words = [rng.choice(TOPIC_WORDS[topic]), rng.choice(SENTIMENT_WORDS[sentiment])]
        words += rng.sample(FILLER, 3)
        rng.shuffle(words)
        records.append({"id": str(i), "text": " ".join(words), "topic": topic,
                        "sentiment": sentiment})  # fmt: skip
    table = pd.DataFrame(records)
    if shuffle_labels:  # break the link between text and labels, keep the label frequencies
        for task in TASKS:
            table[task] = table[task].sample(frac=1.0, random_state=seed).to_numpy()
    return table


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_table(480, seed=1), make_table(240, seed=2)


@pytest.fixture(scope="module")
def cfg(params):
    return params.train.model_copy(
        update={"epochs": 6, "batch_size": 16, "lr_head": 5e-3, "lr_encoder": 1e-3}
    )


def _model(tiny_backbone, labels) -> MultiTaskSentenceTransformer:
    return MultiTaskSentenceTransformer.from_backbone(
        str(tiny_backbone), labels, max_length=16, dropout=0.0, seed=0
    )


def _chance(labels, task: str) -> float:
    return 1.0 / len(labels[task])


def _assert_learned(result: TrainResult, labels, tasks) -> None:
    losses = [row["train/loss"] for row in result.history]
    assert losses[-1] < losses[0], f"training loss did not fall: {losses}"
    for task in tasks:
        acc = result.best_metrics[f"val/acc_{task}"]
        assert acc > _chance(labels, task) + MARGIN, f"val/acc_{task} = {acc:.3f}"


@pytest.fixture(scope="module")
def frozen_backbone_run(tiny_backbone, labels, tables, params, cfg, tmp_path_factory):
    """frozen_backbone trained once and saved, as the train stage does: the warm scenarios'
    starting model."""
    model = _model(tiny_backbone, labels)
    result = fit(model, *tables, cfg, params.train.scenario("frozen_backbone"))
    folder = tmp_path_factory.mktemp("frozen_backbone") / "model"
    model.save(folder)
    return folder, result


@pytest.mark.parametrize("name", ["full_finetune", "gradual_unfreeze"])
def test_scenarios_from_scratch_learn(name, tiny_backbone, labels, tables, params, cfg):
    model = _model(tiny_backbone, labels)
    result = fit(model, *tables, cfg, params.train.scenario(name))
    _assert_learned(result, labels, TASKS)


def test_frozen_backbone_learns(frozen_backbone_run, labels):
    """The heads alone learn on a fixed random encoder."""
    _assert_learned(frozen_backbone_run[1], labels, TASKS)


@pytest.mark.parametrize("name", ["frozen_head_a", "frozen_head_b"])
def test_warm_scenarios_learn_and_keep_the_fixed_task(
    name, frozen_backbone_run, labels, tables, params, cfg
):
    folder, parent = frozen_backbone_run
    model = MultiTaskSentenceTransformer.load(folder, labels)
    result = fit(model, *tables, cfg, params.train.scenario(name))
    # It starts where frozen_backbone ended.
    assert result.init_metrics["init/acc_topic"] == pytest.approx(
        parent.best_metrics["val/acc_topic"]
    )
    _assert_learned(result, labels, TASKS)


def test_shuffled_labels_do_not_beat_chance(tiny_backbone, labels, params, cfg):
    train, val = make_table(480, seed=1, shuffle_labels=True), make_table(240, seed=2)
    model = _model(tiny_backbone, labels)
    result = fit(model, train, val, cfg, params.train.scenario("full_finetune"))
    for task in TASKS:
        accs = [row[f"val/acc_{task}"] for row in result.history]
        assert max(accs) < _chance(labels, task) + NOISE_MARGIN, (task, accs)
