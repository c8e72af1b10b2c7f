"""The project's error family: one base class, one subclass per kind of failure.

Every failure a user can fix (bad params, bad data, a corrupt model folder, an unreachable
tracking store, a failed BentoML step) raises a `MultitaskError` whose message is the whole story:
it names the file, key, row or URI at fault. The stage scripts and the `multitask` command turn
it into one line, ``error: <message>``, and exit 1 (`multitask.console.run_main`); anything else
is a bug and keeps its traceback. This module imports nothing, so every layer can raise these.
"""

from __future__ import annotations


class MultitaskError(Exception):
    """A failure the user can act on; the message names what is wrong."""


class ConfigError(MultitaskError, ValueError):
    """params.yaml (or a CLI option) is missing, unreadable or invalid; names every bad key."""


class DataError(MultitaskError, ValueError):
    """A data file is missing or malformed; the message names the file and the problem."""


class ModelLoadError(MultitaskError, RuntimeError):
    """A model folder is missing, corrupt or built for other labels; the message names the file."""


class TrackingError(MultitaskError, RuntimeError):
    """The MLflow store or registry cannot give what was asked (unreachable, no such version)."""


class PackagingError(MultitaskError, RuntimeError):
    """A packaging step failed (export, accuracy gate, BentoML); the message names the step."""


class UsageError(MultitaskError, ValueError):
    """A command was called wrongly (no texts, a missing file argument)."""
