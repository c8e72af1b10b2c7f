"""The synthetic sentence generator and the hand-written natural set it is checked against.

The data `generate` writes for the default params is pinned by digest. Fast: no model.
Learnability (does a frozen-embedding classifier trained on synthetic rows score well on
natural.csv?) is measured by benchmarks/learnability.py, not here.
"""

from __future__ import annotations

import hashlib
import re
from itertools import product
from pathlib import Path

import pandas as pd
import pytest

from multitask.config import Generate, Labels
from multitask.data.splitting import load_source, stratified_split
from multitask.data.synthetic.generator import (
    DEFAULT_SENTIMENTS,
    DEFAULT_TOPICS,
    MAX_WORDS,
    MIN_WORDS,
    generate_synthetic,
)
from multitask.data.synthetic.grammar import NEGATION_RE
from multitask.data.synthetic.vocabulary import load_vocabulary
from multitask.data.tables import SPLITS, split_path, write_table

NATURAL = Path(__file__).parent / "data" / "natural.csv"


def gen(rows: int = 600, seed: int = 0, **kw: object) -> pd.DataFrame:
    kw.setdefault("topics", DEFAULT_TOPICS)
    kw.setdefault("sentiments", DEFAULT_SENTIMENTS)
    return generate_synthetic(rows=rows, seed=seed, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return gen(4000, seed=42)


def test_same_seed_same_frame() -> None:
    pd.testing.assert_frame_equal(gen(500, seed=3), gen(500, seed=3))


def test_different_seeds_differ() -> None:
    a, b = gen(500, seed=1), gen(500, seed=2)
    assert not a["text"].equals(b["text"])
    assert len(set(a["text"]) & set(b["text"])) < 0.2 * len(a)


@pytest.mark.parametrize("rows", [0, 1, 11, 12, 13, 257, 1000])
def test_exact_row_count_and_columns(rows: int) -> None:
    df = gen(rows)
    assert len(df) == rows
    assert list(df.columns) == ["text", "topic", "sentiment"]
    assert all(isinstance(t, str) and t.strip() == t and t for t in df["text"])


def test_texts_unique_and_slots_filled(big: pd.DataFrame) -> None:
    assert big["text"].is_unique
    assert not big["text"].str.contains(r"[{}]").any(), "an unfilled {slot} leaked into a text"


def test_lengths_have_a_long_tail(big: pd.DataFrame) -> None:
    words = big["text"].str.split().str.len()
    assert words.min() >= MIN_WORDS and words.max() <= MAX_WORDS
    assert 8 <= words.median() <= 25
    assert (words <= 7).mean() > 0.03  # headlines and short posts
    assert (words >= 30).mean() > 0.01  # and a tail of long ones


def test_labels_within_sets_and_every_pair_present(big: pd.DataFrame) -> None:
    assert set(big["topic"]) == set(DEFAULT_TOPICS)
    assert set(big["sentiment"]) == set(DEFAULT_SENTIMENTS)
    small = gen(200)
    pairs = set(zip(small["topic"], small["sentiment"], strict=True))
    assert pairs == set(product(DEFAULT_TOPICS, DEFAULT_SENTIMENTS))


def test_pairs_balanced_without_noise() -> None:
    counts = gen(1003, label_noise=0.0).groupby(["topic", "sentiment"]).size()
    assert len(counts) == 12 and counts.max() - counts.min() <= 1


@pytest.mark.parametrize(
    ("topics", "sentiments"),
    [
        (["sports"], ["positive", "negative"]),
        (["health", "technology"], ["neutral"]),
        (["business"], ["neutral"]),
        (["technology", "business", "sports"], ["positive", "neutral", "negative"]),
    ],
)
def test_subset_label_sets(topics: list[str], sentiments: list[str]) -> None:
    df = gen(240, topics=topics, sentiments=sentiments, label_noise=0.1)
    assert set(df["topic"]) == set(topics)
    assert set(df["sentiment"]) == set(sentiments)
    assert df["text"].is_unique and len(df) == 240


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"topics": ["business", "finance"]}, "finance"),
        ({"sentiments": ["positive", "angry"]}, "angry"),
        ({"topics": []}, "topic"),
        ({"topics": ["sports", "sports"]}, "unique"),
        ({"label_noise": 1.5}, "label_noise"),
        ({"negation_rate": -0.1}, "negation_rate"),
        ({"distractor_rate": 2}, "distractor_rate"),
    ],
)
def test_bad_arguments_raise_naming_the_problem(kw: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        gen(50, **kw)


@pytest.mark.parametrize(("rows", "seed"), [(-1, 0), (10, -3)])
def test_bad_rows_or_seed(rows: int, seed: int) -> None:
    with pytest.raises(ValueError, match="rows" if rows < 0 else "seed"):
        gen(rows, seed=seed)


def test_label_noise_flips_that_fraction_per_task_independently() -> None:
    clean, noisy = gen(2000, label_noise=0.0), gen(2000, label_noise=0.1)
    assert clean["text"].equals(noisy["text"])  # noise touches labels only
    flipped = {}
    for task, labels in (("topic", DEFAULT_TOPICS), ("sentiment", DEFAULT_SENTIMENTS)):
        changed = clean[task] != noisy[task]
        assert changed.sum() == 200  # round(0.1 * 2000), each to a different label
        assert noisy.loc[changed, task].isin(labels).all()
        flipped[task] = set(changed[changed].index)
    assert flipped["topic"] != flipped["sentiment"]


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 1.0])
def test_negation_appears_at_roughly_the_rate(rate: float) -> None:
    share = gen(2000, negation_rate=rate)["text"].str.contains(NEGATION_RE).mean()
    if rate in (0.0, 1.0):
        assert share == rate  # only negated rows carry a negation word, and all of them do
    else:
        assert abs(share - rate) < 0.05


def mentions_other_topic(df: pd.DataFrame) -> pd.Series:
    """Per row: does the text name a distractor phrase of a topic other than its label?"""
    out = pd.Series(False, index=df.index)
    topics = load_vocabulary().topics
    for topic in topics:
        others = [re.escape(m) for t, v in topics.items() if t != topic for m in v.mentions]
        rows = df["topic"] == topic
        out[rows] = df.loc[rows, "text"].str.contains("|".join(others))
    return out


def test_distractors_mention_another_topic() -> None:
    assert mentions_other_topic(gen(800, label_noise=0.0, distractor_rate=1.0)).all()
    assert mentions_other_topic(gen(800, label_noise=0.0, distractor_rate=0.0)).mean() < 0.02


def test_natural_set_is_well_formed(big: pd.DataFrame) -> None:
    nat = pd.read_csv(NATURAL)
    assert list(nat.columns) == ["text", "topic", "sentiment"]
    assert nat.notna().all().all() and 100 <= len(nat) <= 200
    assert nat["text"].is_unique
    assert set(nat["topic"]) <= set(DEFAULT_TOPICS)
    assert set(nat["sentiment"]) <= set(DEFAULT_SENTIMENTS)
    counts = nat.groupby(["topic", "sentiment"]).size()
    assert len(counts) == 12 and counts.min() >= 8, counts.to_dict()
    norm = lambda s: s.str.lower().str.strip()  # noqa: E731
    assert not set(norm(nat["text"])) & set(norm(big["text"])), "natural text seen in synthetic"


# sha256 of the files `generate` writes for the default params (below), recorded before the
# vocabulary moved from Python into YAML files; the move kept them byte for byte. Any edit of the
# vocabulary, the grammar, the slots or the split changes them: update them in the same commit,
# on purpose, and re-run the pipeline (`dvc repro` sees the change through the stage's deps).
DEFAULT_DIGESTS = {
    "train": "a8f39db04e8c110d76c660413a9e65193a988136aee3f229d6fde47ee541a855",
    "val": "95fb212b1c743755e025c117dafe454ede007cac4c130ffe1300df136a30d4d9",
    "test": "2730ca6cc252a829317a302f7ed78f06ee7b038fba0e4e8b7a5d7928d752467f",
}
# A reduced label set in a non-vocabulary order, every row with a distractor and half negated:
# guards the draw order of topics (distractors pick among all vocabulary topics, in file order).
SUBSET_DIGEST = "50b2cfe2e859401e5dede89a40059c00efce2fc5fa4550c62d689c873078e8dc"


def test_default_generate_output_is_pinned(tmp_path: Path) -> None:
    cfg = Generate.model_validate(
        {
            "source": "synthetic",
            "seed": 42,
            "rows": 4000,
            "splits": {"train": 0.7, "val": 0.15, "test": 0.15},
            "label_noise": 0.02,
            "negation_rate": 0.25,
            "distractor_rate": 0.2,
        }
    )
    labels = Labels(topic=list(DEFAULT_TOPICS), sentiment=list(DEFAULT_SENTIMENTS))
    table = stratified_split(load_source(cfg, labels), cfg)
    digests = {}
    for split in SPLITS:
        write_table(table[table["split"] == split], split_path(tmp_path, split))
        digests[split] = hashlib.sha256(split_path(tmp_path, split).read_bytes()).hexdigest()
    assert digests == DEFAULT_DIGESTS


def test_subset_output_is_pinned() -> None:
    df = gen(500, seed=9, topics=["health", "sports"], distractor_rate=1.0, negation_rate=0.5)
    digest = hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()
    assert digest == SUBSET_DIGEST
