"""Shared plumbing for stage scripts and the CLI: argument parsing, logging, friendly errors.

Known failures (bad params, bad data, unreachable tracking store, missing champion) print one
line, ``error: <what is wrong>``, and exit 1 instead of a traceback. Ctrl-C and SIGTERM exit 130
after the code's own `finally` blocks have run, so MLflow runs end KILLED and no temp file stays;
neither is ever raised inside a write to the tracking store (see `multitask.signals`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import NoReturn

from multitask import signals
from multitask.errors import MultitaskError

log = logging.getLogger("multitask")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("alembic", "mlflow.store", "httpx", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3 logs every retry; the final error message already names the URI.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", default="params.yaml", help="parameters file (params.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def run_main(fn: Callable[[], int | None]) -> NoReturn:
    """Run a stage's main, mapping known errors to a one-line message and exit code."""
    signals.install()
    try:
        code = fn() or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = signals.EXIT_CODE
    except MultitaskError as err:
        print(f"error: {err}", file=sys.stderr)
        code = 1
    sys.exit(code)
