"""Stop signals that never land inside a database write.

SIGINT (Ctrl-C) and SIGTERM (`kill`, DVC, CI) both mean "stop cleanly": the code's own `finally`
blocks run, MLflow runs end KILLED, temporary files are removed, and the process exits 130.

Python delivers a signal between any two bytecodes, so a handler that raises at once can raise
inside MLflow's sqlite commit: SQLAlchemy then fails with "This transaction is closed" and a
metric write is lost. So every write to the tracking store runs inside `shielded()`; a signal
that arrives there only records the request, and `KeyboardInterrupt` is raised when the
outermost shielded block ends, i.e. at the next safe point. Outside shielded blocks the raise is
immediate, so steps without a loop (an export, `bentoml build`) still stop promptly. A second
signal while a write is held up exits at once (130): the user insists, and the next run closes
the orphaned MLflow run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, ParamSpec, TypeVar

EXIT_CODE = 130  # the shell's convention for "ended by SIGINT"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

P = ParamSpec("P")
R = TypeVar("R")


class _State:
    depth = 0  # nesting of shielded() blocks in progress
    pending: int | None = None  # a signal that arrived inside one, not yet raised


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    if _state.depth == 0:
        raise KeyboardInterrupt(f"signal {signum}")
    if _state.pending is not None:  # a second signal while a write is held up
        print("interrupted again: stopping now", file=sys.stderr, flush=True)
        os._exit(EXIT_CODE)
    _state.pending = signum


def install() -> None:
    """Route SIGINT and SIGTERM through the deferring handler (main thread only)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A block that a stop signal must not interrupt; the stop is raised when it ends."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0 and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            # Raised from `finally`: an error of the block itself stays attached as context.
            raise KeyboardInterrupt(f"signal {signum}")


def shield(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of `shielded()`."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with shielded():
            return fn(*args, **kwargs)

    return wrapper
