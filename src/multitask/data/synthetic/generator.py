"""`generate_synthetic`: labelled sentences for the two tasks, topic (task A) and sentiment (B).

Each row draws a (topic, sentiment) pair (balanced over all pairs), then a sentence from the
grammar (`multitask.data.synthetic.grammar`) over the vocabulary in ``vocabulary/*.yaml``.
Three knobs make the task harder and the data closer to real text:

- ``negation_rate``: the sentiment is carried by a negated phrase. "not good" / "failed to win"
  is negative, "not bad at all" / "never crashes" is (mildly) positive, and "has not announced a
  date" is neutral. Only negated rows contain a negation word or "failed to" (``NEGATION_RE``).
- ``distractor_rate``: a subordinate clause mentions another topic ("while everyone was talking
  about the football final") without changing either label.
- ``label_noise``: per task independently, that fraction of rows gets a random *other* label.

Everything is drawn from ``random.Random(seed)`` (text) and ``numpy.random.default_rng`` seeded
from ``seed`` (noise), never from global state, so the same arguments give the same frame.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from multitask.data.synthetic.grammar import sentence
from multitask.data.synthetic.vocabulary import load_vocabulary

DEFAULT_TOPICS: tuple[str, ...] = ("business", "health", "sports", "technology")
DEFAULT_SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

MIN_WORDS, MAX_WORDS = 4, 45
_MAX_ATTEMPTS = 500  # re-draws per row before giving up on finding a new unique text


def _check_labels(labels: Sequence[str], known: Mapping[str, object], what: str) -> list[str]:
    labels = list(labels)
    if not labels:
        raise ValueError(f"{what} must name at least one label")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} labels must be unique, got {labels}")
    for label in labels:
        if label not in known:
            raise ValueError(
                f"{what} label {label!r} has no vocabulary in the synthetic generator; "
                f"known {what} labels: {sorted(known)}"
            )
    return labels


def _apply_noise(
    labels: list[str], choices: list[str], rate: float, rng: np.random.Generator
) -> list[str]:
    """Replace round(rate * n) labels, chosen at random, by a random *other* label."""
    out = list(labels)
    if len(choices) < 2 or rate <= 0:
        return out
    for i in rng.choice(len(out), size=round(rate * len(out)), replace=False):
        others = [c for c in choices if c != out[i]]
        out[i] = others[int(rng.integers(len(others)))]
    return out


def generate_synthetic(
    rows: int,
    seed: int,
    topics: Sequence[str] = DEFAULT_TOPICS,
    sentiments: Sequence[str] = DEFAULT_SENTIMENTS,
    label_noise: float = 0.02,
    negation_rate: float = 0.25,
    distractor_rate: float = 0.2,
) -> pd.DataFrame:
    """``rows`` unique labelled sentences (columns text, topic, sentiment), the same for a seed.

    Every (topic, sentiment) pair gets ``rows // pairs`` rows, or one more; then ``label_noise``
    of the rows, per task independently, get a random other label. Raises ValueError for a label
    without vocabulary, a rate outside [0, 1] or a negative row count.
    """
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 0:
        raise ValueError(f"rows must be a non-negative integer, got {rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    for name, value in (
        ("label_noise", label_noise),
        ("negation_rate", negation_rate),
        ("distractor_rate", distractor_rate),
    ):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {value!r}")
    vocab = load_vocabulary()
    topic_labels = _check_labels(topics, vocab.topics, "topic")
    sentiment_labels = _check_labels(sentiments, vocab.sentiments, "sentiment")

    r = random.Random(int(seed))
    pairs = [(t, s) for t in topic_labels for s in sentiment_labels]
    plan = pairs * (rows // len(pairs)) + r.sample(pairs, rows % len(pairs))
    r.shuffle(plan)

    texts: list[str] = []
    seen: set[str] = set()
    for topic, sentiment in plan:
        negated = r.random() < negation_rate
        distractor = r.random() < distractor_rate
        for _ in range(_MAX_ATTEMPTS):
            text = sentence(r, vocab, topic, sentiment, negated, distractor)
            if text not in seen and MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                break
        else:
            raise RuntimeError(
                f"could not find a new unique sentence for ({topic}, {sentiment}) after "
                f"{_MAX_ATTEMPTS} tries at row {len(texts)}; ask for fewer rows"
            )
        seen.add(text)
        texts.append(text)

    noise_rngs = [np.random.default_rng([int(seed), k]) for k in (1, 2)]
    topic_col = _apply_noise([t for t, _ in plan], topic_labels, label_noise, noise_rngs[0])
    sentiment_col = _apply_noise([s for _, s in plan], sentiment_labels, label_noise, noise_rngs[1])
    return pd.DataFrame({"text": texts, "topic": topic_col, "sentiment": sentiment_col})
