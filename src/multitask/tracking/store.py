"""The tracking store and its runs: connect, create the experiment, start and end runs.

Conventions (DESIGN.md): one experiment; one run per scenario per pipeline execution, named after
the scenario and tagged with scenario, git commit, data digest and a pipeline id. The default
store is sqlite in the project folder; MLFLOW_TRACKING_URI points everything at a team server.

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
from multitask.signals import shield, shielded

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
    """MLFLOW_TRACKING_URI if set, else sqlite in the project folder (absolute path: 4 slashes)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{(root or Path.cwd()).resolve() / 'mlflow.db'}"


@shield  # creating a new sqlite store runs its schema migrations
def connect(root: Path | None = None, create: bool = True) -> str:
    """Point mlflow at the store and check it answers; TrackingError naming the URI if not.

    With create=False a missing local sqlite file is an error instead of a new empty store.
    """
    _fast_fail_env()
    uri = tracking_uri(root)
    if not create and uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        raise TrackingError(
            f"no MLflow tracking store at {uri}: run the pipeline first (make pipeline), "
            "or set MLFLOW_TRACKING_URI"
        )
    import mlflow

    mlflow.set_tracking_uri(uri)
    if not uri.startswith(("http://", "https://")):
        mlflow.set_registry_uri(uri)
    try:
        mlflow.search_experiments(max_results=1)
    except Exception as err:  # connection errors surface as several mlflow/requests types
        first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        msg = f"MLflow tracking store {uri} is unreachable: {first}"
        raise TrackingError(redact(msg)) from None
    return uri


@shield
def ensure_experiment(name: str, root: Path | None = None) -> str:
    """Get or create the experiment; local stores get an absolute artifact location."""
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        location = None
        if not os.environ.get("MLFLOW_TRACKING_URI", "").startswith(("http://", "https://")):
            location = ((root or Path.cwd()).resolve() / "mlartifacts").as_uri()
        exp_id = mlflow.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
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


@shield
def close_orphans(experiment_id: str, scenario: str) -> int:
    """Mark RUNNING runs of `scenario` left by a killed process as KILLED (no ghosts in the UI)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{SCENARIO_TAG} = '{scenario}' and attributes.status = 'RUNNING'",
    )
    for run in runs:
        log.warning("closing orphaned run %s of %s (left RUNNING)", run.info.run_id, scenario)
        client.set_terminated(run.info.run_id, status="KILLED")
    return len(runs)


@contextlib.contextmanager
def run_scope(run_id: str | None = None, **start_kwargs: Any) -> Iterator[Any]:
    """Start (or resume) a run; end it FINISHED, FAILED on error, KILLED on Ctrl-C/SIGTERM.

    Resuming a run the store does not hold (a run.json from another store) is a TrackingError.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    status = "FAILED"
    try:
        with shielded():  # a stop that arrives here is raised after the run has started
            try:
                run = mlflow.start_run(run_id=run_id, **start_kwargs)
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
            mlflow.end_run(status=status)  # a no-op when start_run itself failed
