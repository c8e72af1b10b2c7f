"""DVC stage `validate`: check the train/val/test CSVs against the pandera schema; write the report.

On failure the pipeline stops with a readable summary (column, check, offending rows), and the
full list of failing rows is written to the ``--failures`` CSV (dvc.yaml passes every path).
"""

from __future__ import annotations

import logging

import pandas as pd

from multitask.config import load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.data.tables import read_splits, write_table
from multitask.data.validation import DataValidationError, validate_frame
from multitask.io import atomic_write_json

log = logging.getLogger("validate")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", required=True, help="folder with train/val/test.csv")
    parser.add_argument("--report", required=True, help="validation report (JSON) to write")
    parser.add_argument("--failures", required=True, help="CSV of failing rows, on failure")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    table = pd.concat(read_splits(args.data).values(), ignore_index=True)
    try:
        report = validate_frame(table, params.labels, params.validate_)
    except DataValidationError as err:
        write_table(err.failures, args.failures)
        log.error("failing rows written to %s", args.failures)
        raise
    atomic_write_json(args.report, report)
    log.info("data valid: %d rows -> %s", report["rows"], args.report)


if __name__ == "__main__":
    run_main(main)
