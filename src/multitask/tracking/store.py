"""The tracking store and its runs: connect, create the experiment, start and end runs.

Conventions (DESIGN.md): one experiment; one run per scenario per pipeline execution, named after
the scenario and tagged with scenario, git commit, data digest and a pipeline id. The default
store is sqlite in the project folder (`multitask.project.project_root`: the user's project even
when DVC runs the stage in an experiment's temporary copy), its artifacts in <project>/mlartifacts;
MLFLOW_TRACKING_URI points everything at a team server. A local sqlite store is made safe for
parallel pipelines in `sqlite` (creation lock, WAL, lock retries) and `orphans` (owned runs).

Every function here that writes to the store is `shield`ed: a Ctrl-C or SIGTERM that arrives
during the write is raised only after it (see `multitask.signals`), never inside a commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from multitask.errors import TrackingError
from multitask.project import project_root
from multitask.signals import shield, shielded
from multitask.tracking.orphans import PROCESS_TAG, orphaned, process_tag
from multitask.tracking.sqlite import prepare, retry_locked, sqlite_path

log = logging.getLogger(__name__)

SCENARIO_TAG = "scenario"
PIPELINE_TAG = "pipeline_id"
# Marks the experiment as model training (not GenAI) for MLflow 3's UI. It does not flip the UI's
# "GenAI / Model training" switch (a saved browser choice): `multitask ui` prints the compare URL.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def _fast_fail_env() -> None:
    # MLflow retries HTTP for minutes by default; an unreachable server should fail in seconds.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """Hide `user:password@` in any URI inside `text`: messages and logs never show secrets."""
    return _USERINFO.sub("***@", text)


def tracking_uri(root: Path | None = None) -> str:
    """MLFLOW_TRACKING_URI if set, else sqlite in the project folder (absolute path: 4 slashes).

    A relative sqlite path in MLFLOW_TRACKING_URI is anchored at the project too, not at the
    working directory (in a DVC experiment that is a temporary copy, deleted afterwards).
    """
    base = (root or project_root()).resolve()
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{base / 'mlflow.db'}"
    db = sqlite_path(uri)
    if db is not None and not db.is_absolute():
        query = uri.partition("?")[2]
        return f"sqlite:///{base / db}" + (f"?{query}" if query else "")
    return uri


def _open_store() -> None:
    """Create (or migrate) the tracking and registry tables: MLflow does it on first use."""
    import mlflow

    mlflow.search_experiments(max_results=1)
    mlflow.MlflowClient().search_registered_models(max_results=1)


@shield  # creating a new sqlite store runs its schema migrations
def connect(root: Path | None = None, create: bool = True) -> str:
    """Point mlflow at the store and check it answers; TrackingError naming the URI if not.

    With create=False a missing local sqlite file is an error instead of a new empty store.
    A local sqlite store is created under a file lock and switched to WAL (see `sqlite`).
    """
    _fast_fail_env()
    uri = tracking_uri(root)
    db = sqlite_path(uri)
    if not create and db is not None and not db.exists():
        raise TrackingError(
            f"no MLflow tracking store at {uri}: run the pipeline first (make pipeline), "
            "or set MLFLOW_TRACKING_URI"
        )
    import mlflow

    mlflow.set_tracking_uri(uri)
    if not uri.startswith(("http://", "https://")):
        mlflow.set_registry_uri(uri)
    try:
        if db is not None:
            prepare(db, retry_locked(_open_store))
        else:
            mlflow.search_experiments(max_results=1)
    except Exception as err:  # connection errors surface as several mlflow/requests types
        first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        msg = f"MLflow tracking store {uri} is unreachable: {first}"
        raise TrackingError(redact(msg)) from None
    return uri


@retry_locked
@shield
def ensure_experiment(name: str, root: Path | None = None) -> str:
    """Get or create the experiment and make it active; local stores get an absolute artifact
    location in the project (<project>/mlartifacts).

    Safe when parallel pipelines create it at once: the loser of the race reads the winner's.
    (Never `mlflow.set_experiment(name)` for this: on that race MLflow 3.17 returns without
    making the experiment active, and the run lands in "Default".)
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        location = None
        if not os.environ.get("MLFLOW_TRACKING_URI", "").startswith(("http://", "https://")):
            location = ((root or project_root()).resolve() / "mlartifacts").as_uri()
        try:
            exp_id = mlflow.create_experiment(
                name, artifact_location=location, tags=EXPERIMENT_TAGS
            )
        except MlflowException as err:
            exp = mlflow.get_experiment_by_name(name)
            if err.error_code != "RESOURCE_ALREADY_EXISTS" or exp is None:
                raise
            exp_id = exp.experiment_id
    else:
        exp_id = exp.experiment_id
        for key, value in EXPERIMENT_TAGS.items():  # stores created before the tag existed
            if exp.tags.get(key) != value:
                mlflow.MlflowClient().set_experiment_tag(exp_id, key, value)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pipeline_id() -> str:
    """Shared by the runs of one pipeline execution: one `dvc` process (see `execution`)."""
    from multitask.tracking.execution import pipeline_id as execution_id

    return execution_id()


@retry_locked
@shield
def close_orphans(experiment_id: str, scenario: str) -> int:
    """Mark RUNNING runs of `scenario` whose owning process is gone as KILLED (see `orphans`):
    no ghosts in the UI, and a parallel pipeline's live run of the same scenario is left alone."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    running = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{SCENARIO_TAG} = '{scenario}' and attributes.status = 'RUNNING'",
    )
    runs = orphaned(running)
    for run in runs:
        log.warning("closing orphaned run %s of %s (left RUNNING)", run.info.run_id, scenario)
        client.set_terminated(run.info.run_id, status="KILLED")
    return len(runs)


@retry_locked
@shield
def _claim(run_id: str) -> None:
    """Record this process as the owner of `run_id` before resuming it (see `orphans`)."""
    from mlflow.tracking import MlflowClient

    MlflowClient().set_tag(run_id, PROCESS_TAG, process_tag())


@contextlib.contextmanager
def run_scope(run_id: str | None = None, **start_kwargs: Any) -> Iterator[Any]:
    """Start (or resume) a run; end it FINISHED, FAILED on error, KILLED on Ctrl-C/SIGTERM.

    The run is tagged with its owner (this process) as it starts, so no other pipeline takes
    it for an orphan. Resuming a run the store does not hold (a run.json from another store) is
    a TrackingError.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    status = "FAILED"
    try:
        with shielded():  # a stop that arrives here is raised after the run has started
            try:
                if run_id is None:
                    tags = {**start_kwargs.pop("tags", {}), PROCESS_TAG: process_tag()}
                    run = retry_locked(mlflow.start_run)(tags=tags, **start_kwargs)
                else:
                    _claim(run_id)
                    run = retry_locked(mlflow.start_run)(run_id=run_id, **start_kwargs)
            except MlflowException as err:
                if run_id is None or err.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                raise TrackingError(
                    f"MLflow run {run_id} is not in {redact(mlflow.get_tracking_uri())}: its "
                    "outputs were made against another tracking store; re-run the stages that "
                    "made them (e.g. dvc repro -f train@<scenario>) or point "
                    "MLFLOW_TRACKING_URI at that store"
                ) from None
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        with shielded():
            retry_locked(mlflow.end_run)(status=status)  # a no-op when start_run itself failed
