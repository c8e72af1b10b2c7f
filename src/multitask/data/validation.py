"""Data validation with pandera: the contract every split must meet before training.

Checks: unique ids; text non-empty, trimmed and within the length bounds; labels in the label
sets; split names known; no text shared across splits; every class present in every split.
Failures become a readable report naming column, check and offending rows (with split and id).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from multitask.config import TASKS, Labels, Validate
from multitask.data.tables import SPLITS
from multitask.errors import DataError

MAX_EXAMPLES = 5


class DataValidationError(DataError):
    """The data broke the schema; `.report` is the machine-readable report."""

    def __init__(self, report: dict[str, Any], failures: pd.DataFrame) -> None:
        self.report = report
        self.failures = failures
        lines = [f"data validation failed ({report['n_failures']} problem(s)):"]
        for item in report["failures"]:
            shown = ", ".join(item["examples"])
            lines.append(
                f"  column {item['column']!r}, check {item['check']}: "
                f"{item['count']} row(s), e.g. {shown}"
            )
        super().__init__("\n".join(lines))


def _missing_classes(df: pd.DataFrame, task: str, labels: list[str]) -> pd.Series:
    """Row-wise mask: False on every row of a split that lacks some class of `task`."""
    present = df.groupby("split")[task].agg(set)
    bad = {s for s, seen in present.items() if set(labels) - seen}
    return ~df["split"].isin(bad)


def build_schema(labels: Labels, cfg: Validate) -> pa.DataFrameSchema:
    checks = [
        pa.Check(
            lambda df: df.groupby("text")["split"].transform("nunique") == 1,
            name="text_in_one_split",
            error="the same text appears in more than one split",
        )
    ]
    for task in TASKS:
        names = list(getattr(labels, task))
        checks.append(
            pa.Check(
                lambda df, t=task, n=names: _missing_classes(df, t, n),
                name=f"every_{task}_class_in_every_split",
                error=f"some {task} class is missing from a split",
            )
        )
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, unique=True, nullable=False),
            "text": pa.Column(
                str,
                [
                    pa.Check.str_length(cfg.min_chars, cfg.max_chars),
                    pa.Check(lambda s: s.str.strip() == s, name="trimmed"),
                ],
                nullable=False,
            ),
            "topic": pa.Column(str, pa.Check.isin(labels.topic), nullable=False),
            "sentiment": pa.Column(str, pa.Check.isin(labels.sentiment), nullable=False),
            "split": pa.Column(str, pa.Check.isin(list(SPLITS)), nullable=False),
        },
        checks=checks,
        strict=True,
        coerce=True,
    )


def _report(err: SchemaErrors, df: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    fc = err.failure_cases.copy()
    fc["check"] = fc["check"].astype(str)
    # Table-level checks fail once per column of each bad row: report them once per row.
    table = fc["schema_context"].eq("DataFrameSchema")
    fc.loc[table, "column"] = "(table)"
    fc["failure_case"] = fc["failure_case"].astype(object)  # texts may not be str (coerce=True)
    if "text" in df.columns:  # a missing column is itself a reported failure
        on_row = table & fc["index"].isin(df.index)
        fc.loc[on_row, "failure_case"] = fc.loc[on_row, "index"].map(df["text"])
    fc = fc.drop_duplicates(["column", "check", "index"])
    fc["column"] = fc["column"].fillna("(table)").astype(str)
    failures = []
    for (column, check), group in fc.groupby(["column", "check"], sort=True):
        examples = []
        for _, row in group.head(MAX_EXAMPLES).iterrows():
            idx = row["index"]
            if pd.notna(idx) and idx in df.index:
                rec = df.loc[idx]
                examples.append(
                    f"{rec.get('split', '?')}/{rec.get('id', idx)}={row['failure_case']!r}"
                )
            else:
                examples.append(repr(row["failure_case"]))
        failures.append(
            {"column": column, "check": check, "count": len(group), "examples": examples}
        )
    report = {"valid": False, "rows": len(df), "n_failures": len(failures), "failures": failures}
    return report, fc


def validate_frame(df: pd.DataFrame, labels: Labels, cfg: Validate) -> dict[str, Any]:
    """Validate the combined splits; return a summary report or raise DataValidationError."""
    schema = build_schema(labels, cfg)
    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as err:
        report, failures = _report(err, df)
        raise DataValidationError(report, failures) from None
    return summarize(df)


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """Counts per split and class: the passing validation report."""
    per_split = {}
    for split, part in df.groupby("split", sort=False):
        per_split[split] = {
            "rows": len(part),
            **{
                t: {k: int(v) for k, v in part[t].value_counts().sort_index().items()}
                for t in TASKS
            },
        }
    return {"valid": True, "rows": len(df), "splits": per_split}
