"""Where a table comes from: the synthetic generator or the user's CSV, deduplicated and split
train/val/test, stratified on the (topic, sentiment) pair. Used by the `generate` stage only.
"""

from __future__ import annotations

import hashlib

import pandas as pd
from sklearn.model_selection import train_test_split

from multitask.config import Generate, Labels
from multitask.data.tables import COLUMNS, SPLITS, read_table
from multitask.errors import DataError


def load_source(cfg: Generate, labels: Labels) -> pd.DataFrame:
    """Raw labelled sentences: the synthetic generator, or the user's CSV (text,topic,sentiment)."""
    if cfg.source == "synthetic":
        from multitask.data.synthetic.generator import generate_synthetic

        return generate_synthetic(
            rows=cfg.rows,
            seed=cfg.seed,
            topics=labels.topic,
            sentiments=labels.sentiment,
            label_noise=cfg.label_noise,
            negation_rate=cfg.negation_rate,
            distractor_rate=cfg.distractor_rate,
        )
    return read_table(cfg.source, ["text", "topic", "sentiment"])[["text", "topic", "sentiment"]]


def _row_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]  # an id


def stratified_split(df: pd.DataFrame, cfg: Generate) -> pd.DataFrame:
    """Deduplicate texts, then split train/val/test stratified on the (topic, sentiment) pair."""
    df = df.drop_duplicates("text").reset_index(drop=True)
    strata = df["topic"].astype(str) + "|" + df["sentiment"].astype(str)
    # Rare pairs cannot be stratified; fall back to the topic alone for them.
    counts = strata.value_counts()
    strata = strata.where(strata.map(counts) >= 10, df["topic"].astype(str))
    holdout = cfg.splits.val + cfg.splits.test
    if len(df) < 3:
        raise DataError(f"cannot split {len(df)} unique rows into train/val/test")
    try:
        train, rest = train_test_split(
            df, test_size=holdout, random_state=cfg.seed, stratify=strata
        )
        val, test = train_test_split(
            rest,
            test_size=cfg.splits.test / holdout,
            random_state=cfg.seed,
            stratify=strata.loc[rest.index],
        )
    except ValueError:
        # Too few rows of some class to stratify (e.g. a user CSV with a stray label): split
        # unstratified and let `validate` report exactly what is wrong with the data.
        train, rest = train_test_split(df, test_size=holdout, random_state=cfg.seed)
        val, test = train_test_split(
            rest, test_size=cfg.splits.test / holdout, random_state=cfg.seed
        )
    parts = [part.assign(split=name) for name, part in zip(SPLITS, (train, val, test), strict=True)]
    out = pd.concat(parts).sort_index(kind="stable")
    out.insert(0, "id", out["text"].map(_row_id))
    return out[COLUMNS].reset_index(drop=True)
