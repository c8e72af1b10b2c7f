"""Data validation: good splits pass; each defect is reported by column, check and row."""

from __future__ import annotations

import pandas as pd
import pytest

from multitask.data.validation import DataValidationError, validate_frame


def _fails(df, params) -> DataValidationError:
    with pytest.raises(DataValidationError) as err:
        validate_frame(df, params.labels, params.validate_)
    return err.value


def test_generated_data_is_valid(small_table, params):
    report = validate_frame(small_table, params.labels, params.validate_)
    assert report["valid"] and report["rows"] == len(small_table)
    assert set(report["splits"]) == {"train", "val", "test"}


@pytest.mark.parametrize(
    ("mutate", "column", "check"),
    [
        (lambda df: df.assign(text=df["text"].where(df.index != 3, "")), "text", "str_length"),
        (lambda df: df.assign(text=df["text"].where(df.index != 3, " padded ")), "text", "trimmed"),
        (lambda df: df.assign(topic=df["topic"].where(df.index != 5, "cooking")), "topic", "isin"),
        (
            lambda df: df.assign(sentiment=df["sentiment"].where(df.index != 5, "angry")),
            "sentiment",
            "isin",
        ),
        (lambda df: df.assign(id=df["id"].where(df.index != 7, df["id"].iloc[8])), "id", "unique"),
        (lambda df: df.assign(split=df["split"].where(df.index != 1, "dev")), "split", "isin"),
    ],
)
def test_column_defects_are_named(small_table, params, mutate, column, check):
    err = _fails(mutate(small_table.copy()), params)
    hits = [f for f in err.report["failures"] if f["column"] == column and check in f["check"]]
    assert hits, err.report
    assert column in str(err) and hits[0]["count"] >= 1


def test_text_shared_across_splits_is_caught(small_table, params):
    df = small_table.copy()
    train_i = df.index[df["split"] == "train"][0]
    test_i = df.index[df["split"] == "test"][0]
    df.loc[test_i, "text"] = df.loc[train_i, "text"]
    err = _fails(df, params)
    [hit] = [f for f in err.report["failures"] if "more than one split" in f["check"]]
    assert hit["count"] == 2 and any(e.startswith("test/") for e in hit["examples"])


def test_missing_class_in_a_split_is_caught(small_table, params):
    df = small_table[~((small_table["split"] == "val") & (small_table["topic"] == "sports"))]
    err = _fails(df, params)
    assert any("topic class is missing" in f["check"] for f in err.report["failures"])


def test_missing_and_extra_columns(small_table, params):
    err = _fails(small_table.drop(columns=["sentiment"]), params)
    assert "sentiment" in str(err)
    err = _fails(small_table.assign(extra=1), params)
    assert "extra" in str(err)


def test_failure_report_lists_offending_rows(small_table, params):
    df = small_table.copy()
    df.loc[df.index[:3], "topic"] = "cooking"
    err = _fails(df, params)
    assert len(err.failures) >= 3
    assert isinstance(err.failures, pd.DataFrame)
