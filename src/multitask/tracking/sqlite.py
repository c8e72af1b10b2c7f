"""The default sqlite tracking store under concurrency: first creation, WAL, lock retries.

Several processes write the project's mlflow.db at once when DVC runs experiments in parallel
(`dvc queue start -j N`) or the workspace pipeline runs beside a sweep. Measured with MLflow 3.17:

- MLflow creates and migrates a NEW store without a lock (`SqlAlchemyStore.__init__`), so
  processes opening a new store at once crash ("duplicate column name"). `prepare` creates it
  under an inter-process file lock (<db>.lock) before anything else touches it.
- MLflow sets `PRAGMA busy_timeout = 20000` on every session: a writer waits up to 20 s for
  the lock, then gets "database is locked" (a `?timeout=` in the URI does not change that). The
  transaction is rolled back, so `retry_locked` retries the whole write a few times.
- WAL journal mode (set once, kept in the file) lets readers (`make ui`, `dvc exp show`-driven
  checks) and a writer proceed together. It needs a local filesystem and adds <db>-wal and
  <db>-shm next to the database (git-ignored as /mlflow.db*).
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

LOCK_RETRIES = 4  # on top of MLflow's own 20 s busy timeout per statement
LOCKED_MESSAGES = ("database is locked", "database table is locked")
SQLITE_PREFIX = "sqlite:///"

P = ParamSpec("P")
R = TypeVar("R")


def sqlite_path(uri: str) -> Path | None:
    """The file of a sqlite URI ('sqlite:///rel/x.db' or 'sqlite:////abs/x.db'), else None."""
    if not uri.startswith(SQLITE_PREFIX):
        return None
    return Path(uri[len(SQLITE_PREFIX) :].partition("?")[0])


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def prepare(db: Path, create_store: Callable[[], object]) -> None:
    """Create or migrate the store once, under an inter-process lock; switch it to WAL.

    `create_store` opens the store through MLflow (which creates and migrates the tables); it is
    called with the lock held, so at most one process migrates and the others find it ready.
    """
    import fcntl
    import sqlite3

    db.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(db).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        create_store()
        try:
            con = sqlite3.connect(db, timeout=30)
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()
        except sqlite3.OperationalError as err:  # busy for 30 s: WAL only helps readers
            log.warning("could not switch %s to WAL (%s); continuing", db, err)


def is_locked(err: BaseException) -> bool:
    """True when `err` (or what it wraps) is sqlite's "database is locked"."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(m in str(current) for m in LOCKED_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_locked(fn: Callable[P, R]) -> Callable[P, R]:
    """Retry a store write that failed with "database is locked" (rolled back: safe to redo).

    Put it OUTSIDE `shield`: a stop signal is then raised between attempts, never held up for
    the whole series. Every wrapped write is idempotent or creates something new each time.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(LOCK_RETRIES):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if not is_locked(err):
                    raise
                wait = 1.0 + attempt + random.random()  # jitter: parallel writers de-synchronise
                log.warning(
                    "tracking store busy in %s (attempt %d of %d); retrying in %.1f s",
                    fn.__name__, attempt + 1, LOCK_RETRIES + 1, wait,
                )  # fmt: skip
                time.sleep(wait)
        return fn(*args, **kwargs)  # the last attempt raises what it raises

    return wrapper
