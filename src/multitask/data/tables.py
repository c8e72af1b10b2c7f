"""Labelled sentence tables: load the source (synthetic or a user CSV), split, read and write.

Every table has the columns ``id, text, topic, sentiment, split``; splits are stored as one CSV
per split under ``data/`` (``train.csv``, ``val.csv``, ``test.csv``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from multitask.config import Generate, Labels
from multitask.errors import DataError
from multitask.io import atomic_path

COLUMNS = ["id", "text", "topic", "sentiment", "split"]
SPLITS = ("train", "val", "test")


def split_path(data_dir: str | Path, split: str) -> Path:
    return Path(data_dir) / f"{split}.csv"


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV as strings, checking the expected columns are present."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"cannot parse {path}: {err}") from None
    missing = [c for c in (columns or []) if c not in df.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {missing}; has {list(df.columns)}")
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def read_splits(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    return {s: read_table(split_path(data_dir, s), COLUMNS) for s in SPLITS}


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
