"""Property tests (hypothesis): random and boundary inputs never escape the documented errors.

- params: random values, deletions, unknown and renamed keys thrown at `parse_params`; every
  rejection is a ConfigError naming the mutated key path (or the section whose rule it broke),
  every acceptance round-trips through `model_dump(by_alias=True)`.
- data: random cell, row and column mutations of a valid table thrown at `validate_frame`; the
  only failure is a DataValidationError whose report names columns; a pass means the data holds.
- files: random bytes thrown at `read_table`; a DataFrame or a DataError, nothing else.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from multitask.config import Labels, Params, Validate, parse_params
from multitask.data.tables import COLUMNS, SPLITS, read_table
from multitask.data.validation import DataValidationError, validate_frame
from multitask.errors import ConfigError, DataError
from tests.conftest import ROOT

RAW: dict[str, Any] = yaml.safe_load((ROOT / "params.yaml").read_text())
SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    # No shrinking: it can take minutes once a defect is found. Each defect found so far has its
    # own minimal regression test below, so a failure here is still easy to read.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- params ---------------------------------------------------------------------------------------
Path_ = tuple[Any, ...]


def _paths(node: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key path in the raw params (dict keys and list indices), parents before children."""
    out: list[Path_] = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(RAW)


def _get(raw: Any, path: Path_) -> Any:
    for key in path:
        raw = raw[key]
    return raw


FLOAT_PATHS = [p for p in PATHS if isinstance(_get(RAW, p), float)]
SEED_PATHS = [("generate", "seed"), ("train", "seed")]


def _dotted(path: Path_) -> str:
    return ".".join(str(k) for k in path)


BOUNDARY_INTS = [0, 1, -1, 2, 7, 8, 29, 30, 4096, 4097, 2**31, 2**32 - 1, 2**32, 2**63, 2**64]
BOUNDARY_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-12, 1 - 1e-12, 1e308, math.inf, -math.inf]
# Keys a YAML author could type on one line (no ':' or line breaks); the empty key is its own test.
KEY_TEXT = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters=":"),
    min_size=1,
    max_size=12,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(BOUNDARY_INTS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(BOUNDARY_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "all", "topic", "sentiment", "val/f1_mean", "test/f1_mean", "x y"]),
    st.text(max_size=12),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.dictionaries(KEY_TEXT, SCALARS, max_size=3),
)
KEYS = st.one_of(
    KEY_TEXT,
    st.sampled_from(["validate_", "register_", "learning_rate", "Epochs", "phase", "topic"]),
    st.integers(min_value=-3, max_value=3),
)


def _error_keys(message: str) -> list[str]:
    """The key paths named on the `  <key>: <problem>` lines of a ConfigError."""
    lines = message.splitlines()[1:]
    return [line[2:].partition(": ")[0] for line in lines if line.startswith("  ")]


def _related(key: str, path: Path_) -> bool:
    """An error line names `path` itself, something inside it, or the rule-bearing section above."""
    dotted = _dotted(path)
    return key == dotted or key.startswith(dotted + ".") or dotted.startswith(key + ".")


@st.composite
def mutated_params(draw) -> tuple[dict[str, Any], str, list[Path_]]:
    """(raw params, kind of mutation, key paths it touched); one to three mutations deep."""
    raw = copy.deepcopy(RAW)
    touched: list[Path_] = []
    kinds = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(raw)))
        parent = _get(raw, path[:-1])
        kind = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if kind == "replace":
            parent[path[-1]] = draw(VALUES)
            touched.append(path)
        elif kind == "delete":
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
            touched.append(path)
        elif kind == "add":
            node = _get(raw, path)
            if not isinstance(node, dict):
                continue
            key = draw(KEYS)
            assume(key not in node)
            node[key] = draw(VALUES)
            touched.append((*path, key))
        else:  # rename a mapping key
            if not isinstance(parent, dict):
                continue
            new = draw(KEYS)
            assume(new not in parent)
            parent[new] = parent.pop(path[-1])
            touched += [path, (*path[:-1], new)]
        kinds.append(kind)
    assume(touched)
    return raw, "+".join(kinds), touched


def _assert_round_trip(params: Params) -> None:
    dumped = params.model_dump(by_alias=True)
    again = parse_params(copy.deepcopy(dumped))
    assert again == params
    assert again.model_dump(by_alias=True) == dumped


@SETTINGS
@given(case=mutated_params())
def test_random_params_mutations_are_named_or_round_trip(case):
    raw, kind, touched = case
    try:
        params = parse_params(raw)
    except ConfigError as err:
        message = str(err)
        assert message.startswith("invalid parameters in "), message
        keys = _error_keys(message)
        assert keys, message
        assert "(top level)" not in keys, message
        # Every line names a key path that one of the mutations touched (or the section rule).
        for key in keys:
            assert any(_related(key, p) for p in touched), (kind, touched, message)
    else:
        _assert_round_trip(params)


@SETTINGS
@given(path=st.sampled_from(FLOAT_PATHS), value=st.sampled_from([math.inf, -math.inf, math.nan]))
def test_non_finite_floats_are_rejected_by_key(path, value):
    """`.inf` / `.nan` in params.yaml are never a usable learning rate, weight or fraction."""
    raw = copy.deepcopy(RAW)
    _get(raw, path[:-1])[path[-1]] = value
    with pytest.raises(ConfigError) as err:
        parse_params(raw)
    assert any(_related(k, path) for k in _error_keys(str(err.value))), str(err.value)


@SETTINGS
@given(path=st.sampled_from(SEED_PATHS), seed=st.sampled_from(BOUNDARY_INTS) | st.integers())
def test_accepted_seeds_can_seed_numpy_and_torch(path, seed):
    """A seed the config accepts must not crash the stage later (numpy/sklearn, torch)."""
    import torch

    raw = copy.deepcopy(RAW)
    _get(raw, path[:-1])[path[-1]] = seed
    try:
        params = parse_params(raw)
    except ConfigError as err:
        assert _dotted(path) in str(err)
        return
    epochs = params.train.epochs
    np.random.RandomState(params.generate.seed)  # sklearn's train_test_split(random_state=...)
    torch.manual_seed(params.train.seed)
    torch.Generator().manual_seed(params.train.seed + epochs)  # the per-epoch batch order


@pytest.mark.parametrize("key", ["", " "])
def test_blank_keys_are_named(key):
    """A stray `"": ...` or `" ": ...` line must be reported as that key, not as the top level."""
    raw = copy.deepcopy(RAW)
    raw["train"][key] = 1
    with pytest.raises(ConfigError) as err:
        parse_params(raw)
    assert f"train.{key!r}: unknown key" in str(err.value) or f"train.{key}: unknown key" in str(
        err.value
    ), str(err.value)
    raw = copy.deepcopy(RAW)
    raw[key] = raw.pop("labels")
    with pytest.raises(ConfigError) as err:
        parse_params(raw)
    assert "(top level)" not in str(err.value), str(err.value)


def test_shipped_params_round_trip():
    _assert_round_trip(parse_params(copy.deepcopy(RAW)))


# -- data validation ------------------------------------------------------------------------------
LABELS = Labels(**RAW["labels"])
BOUNDS = Validate(**RAW["validate"])


def _valid_table() -> pd.DataFrame:
    """Every (topic, sentiment) pair once per split: the smallest table that passes."""
    rows = []
    for split in SPLITS:
        for topic in LABELS.topic:
            for sentiment in LABELS.sentiment:
                text = f"A {sentiment} note on {topic} for {split}."
                rows.append({"id": f"{split}-{topic}-{sentiment}", "text": text,
                             "topic": topic, "sentiment": sentiment, "split": split})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


TABLE = _valid_table()
CELL_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "  padded ", "x" * (BOUNDS.max_chars + 1), "ab", "abc", "dev"]),
    st.sampled_from([*LABELS.topic, *LABELS.sentiment, *SPLITS, "Sports", "sports "]),
    st.sampled_from(TABLE["text"].tolist() + TABLE["id"].tolist()),
    st.none(),
    st.just(float("nan")),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
)


@st.composite
def mutated_tables(draw) -> tuple[pd.DataFrame, bool]:
    """(table, whether every cell is still a str) after one to four random mutations."""
    df = TABLE.copy()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "drop_rows", "dup_row", "column"]))
        if kind == "cell" and len(df) and len(df.columns):
            row = draw(st.integers(0, len(df) - 1))
            col = draw(st.sampled_from(list(df.columns)))
            df[col] = df[col].astype(object)
            df.iloc[row, df.columns.get_loc(col)] = draw(CELL_VALUES)
        elif kind == "drop_rows" and len(df):
            keep = draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df)))
            df = df[keep].reset_index(drop=True)
        elif kind == "dup_row" and len(df):
            row = draw(st.integers(0, len(df) - 1))
            df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
        elif kind == "column" and len(df.columns):
            col = draw(st.sampled_from(list(df.columns)))
            how = draw(st.sampled_from(["drop", "extra", "rename", "shuffle"]))
            if how == "drop":
                df = df.drop(columns=[col])
            elif how == "extra":
                df = df.assign(note="x")
            elif how == "rename":
                df = df.rename(columns={col: col.upper()})
            else:
                perm = draw(st.permutations(list(range(len(df)))))
                df[col] = df[col].to_numpy()[perm] if len(df) else df[col]
    all_str = sorted(df.columns) == sorted(COLUMNS) and all(
        isinstance(v, str) for col in COLUMNS for v in df[col].tolist()
    )
    return df, all_str


def _really_valid(df: pd.DataFrame) -> bool:
    """An oracle, written independently of the schema, for tables of plain strings."""
    text = df["text"]
    lengths_ok = text.str.len().between(BOUNDS.min_chars, BOUNDS.max_chars).all()
    one_split = (df.groupby("text")["split"].nunique() == 1).all()
    classes_ok = all(
        set(getattr(LABELS, t)) <= set(df.loc[df["split"] == s, t]) for s in SPLITS for t in
        ("topic", "sentiment") if (df["split"] == s).any()
    )  # fmt: skip
    return bool(
        df["id"].is_unique
        and lengths_ok
        and (text.str.strip() == text).all()
        and df["topic"].isin(LABELS.topic).all()
        and df["sentiment"].isin(LABELS.sentiment).all()
        and df["split"].isin(SPLITS).all()
        and one_split
        and classes_ok
    )


def test_the_base_table_is_valid():
    assert validate_frame(TABLE.copy(), LABELS, BOUNDS)["valid"]
    assert _really_valid(TABLE)


@SETTINGS
@given(case=mutated_tables())
def test_random_table_mutations_fail_only_with_a_named_column(case):
    df, all_str = case
    try:
        report = validate_frame(df.copy(), LABELS, BOUNDS)
    except DataValidationError as err:
        assert err.report["valid"] is False and err.report["failures"]
        json.dumps(err.report)  # the report is machine-readable
        known = {*COLUMNS, *(c for c in df.columns), "(table)"}
        for item in err.report["failures"]:
            assert item["column"] in known, item
            assert f"column {item['column']!r}" in str(err)
        if all_str:
            assert not _really_valid(df), str(err)
    else:
        assert report["valid"] is True and report["rows"] == len(df)
        if all_str:
            assert _really_valid(df), df


def test_missing_text_column_is_reported_not_a_key_error():
    """Minimal case found by the property above: no `text` column crashed the report builder."""
    with pytest.raises(DataValidationError) as err:
        validate_frame(TABLE.drop(columns=["text"]), LABELS, BOUNDS)
    assert "'text'" in str(err.value)


def test_non_string_text_in_a_table_level_failure_is_reported():
    """Minimal case found by the property above: a number as text, shared by two splits."""
    df = TABLE.astype(object)
    df.loc[[0, 27], "text"] = 104  # rows 0 (train) and 27 (test)
    with pytest.raises(DataValidationError) as err:
        validate_frame(df, LABELS, BOUNDS)
    assert "more than one split" in str(err.value)


# -- reading files --------------------------------------------------------------------------------
HEADER = ",".join(COLUMNS).encode()
FILE_BYTES = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=400).map(lambda b: HEADER + b"\n" + b),
    st.text(max_size=300).map(lambda t: HEADER + b"\n" + t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"\n", b"\x00", b"\xff\xfe", HEADER, HEADER + b'\n"unclosed,a,b,c,d']),
)


@SETTINGS
@given(data=FILE_BYTES, want=st.sampled_from([None, COLUMNS]))
def test_read_table_on_random_bytes(data, want):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        path.write_bytes(data)
        try:
            df = read_table(path, want)
        except DataError as err:
            assert type(err) is DataError and str(path) in str(err)
        else:
            assert isinstance(df, pd.DataFrame)
            assert all(c in df.columns for c in (want or []))
