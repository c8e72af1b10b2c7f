"""Labelled sentence tables: read and write them, checked.

Every table has the columns ``id, text, topic, sentiment, split``; the splits are stored as one
CSV per split in a folder (``train.csv``, ``val.csv``, ``test.csv``; the pipeline uses ``data/``).
Creating them (the source and the split) lives in `splitting`, so stages that only read tables
do not depend on the generator.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
