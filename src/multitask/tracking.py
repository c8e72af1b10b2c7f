"""MLflow at the edge: the only module that imports mlflow.

Conventions (DESIGN.md): one experiment; one run per scenario per pipeline execution, named after
the scenario and tagged with scenario, git commit, data digest and a pipeline id; stable metric
names; the training data as a dataset input; the model as a pyfunc "from code" whose weights are
safetensors (no pickle). The default store is sqlite in the project folder; MLFLOW_TRACKING_URI
points everything at a team server instead.

Every function here that writes to the store is `shield`ed: a Ctrl-C or SIGTERM that arrives
during the write is raised only after it (see `multitask.signals`), never inside a commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from multitask.errors import TrackingError
from multitask.signals import shield, shielded

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCENARIO_TAG = "scenario"
PIPELINE_TAG = "pipeline_id"
# Marks the experiment as model training (not GenAI) for MLflow 3's UI. It does not flip the UI's
# "GenAI / Model training" switch (a saved browser choice): `make ui` prints the compare URL.
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
    """Shared by the runs of one pipeline execution: one `dvc` process (multitask.execution)."""
    from multitask.execution import pipeline_id as execution_id

    return execution_id()


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


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
    """Start (or resume) a run; end it FINISHED, FAILED on error, KILLED on Ctrl-C/SIGTERM."""
    import mlflow

    status = "FAILED"
    try:
        with shielded():  # a stop that arrives here is raised after the run has started
            run = mlflow.start_run(run_id=run_id, **start_kwargs)
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        with shielded():
            mlflow.end_run(status=status)  # a no-op when start_run itself failed


def start_training_run(experiment: str, scenario: str, tags: Mapping[str, str]) -> Any:
    """Context manager for one scenario's training run, after cleaning up orphans."""
    exp_id = ensure_experiment(experiment)
    close_orphans(exp_id, scenario)
    all_tags = {SCENARIO_TAG: scenario, "git_commit": git_commit(), PIPELINE_TAG: pipeline_id()}
    all_tags.update(tags)
    return run_scope(run_name=scenario, tags=all_tags)


@shield
def log_training_inputs(params: Mapping[str, Any], train_df: Any, data_digest: str) -> None:
    import mlflow

    mlflow.log_params({k: str(v)[:6000] for k, v in flatten(params).items()})
    dataset = mlflow.data.from_pandas(
        train_df[["id", "text", "topic", "sentiment"]], name="train", digest=data_digest[:36]
    )
    mlflow.log_input(dataset, context="training")


@shield
def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    import math

    import mlflow

    clean = {k: float(v) for k, v in metrics.items() if not math.isnan(float(v))}
    mlflow.log_metrics(clean, step=step)


@shield
def log_artifacts(paths: list[Path], artifact_path: str | None = None) -> None:
    import mlflow

    for p in paths:
        if p.is_file():
            mlflow.log_artifact(str(p), artifact_path=artifact_path)


@shield
def log_pyfunc_model(model: Any, model_dir: Path, input_texts: list[str]) -> str:
    """Log the saved folder of `model` as a pyfunc (code + safetensors); return the model URI."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from multitask.model import probs_to_frame

    example = pd.DataFrame({"text": input_texts[:3]})

    output = probs_to_frame(model.predict_proba(example["text"].tolist()), model.labels)
    here = Path(__file__).resolve().parent
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(here / "pyfunc_model.py"),
        artifacts={"model_dir": str(model_dir)},
        code_paths=[str(here)],
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=_serving_requirements(),
    )
    return info.model_uri


def _serving_requirements() -> list[str]:
    from importlib.metadata import version

    names = ["torch", "transformers", "tokenizers", "safetensors", "numpy", "pandas", "pydantic"]
    names += ["PyYAML", "mlflow"]
    return [f"{n}=={version(n)}" for n in names]


# -- registry ------------------------------------------------------------------------------------
def parse_model_uri(uri: str) -> tuple[str, str]:
    """'models:/name@alias' or 'models:/name/3' -> (name, alias-or-version)."""
    if not uri.startswith("models:/"):
        raise TrackingError(f"not a registry URI (models:/<name>@<alias> or /<version>): {uri}")
    body = uri[len("models:/") :]
    if "@" in body:
        name, ref = body.split("@", 1)
    elif "/" in body:
        name, ref = body.rsplit("/", 1)
    else:
        raise TrackingError(f"{uri} names no version or alias (e.g. models:/{body}@champion)")
    return name, ref


def download_registered(name: str, ref: str, dst: Path) -> tuple[Path, dict[str, Any]]:
    """Resolve `name` at alias or version `ref` ONCE, download that exact version.

    Returns (model folder, info) with info = name, version, run_id, scenario, metrics.
    """
    import mlflow
    import yaml
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        if ref.isdigit():
            mv = client.get_model_version(name, ref)
        else:
            mv = client.get_model_version_by_alias(name, ref)
    except MlflowException:
        what = f"version {ref}" if ref.isdigit() else f"alias @{ref}"
        raise TrackingError(
            f"registered model {name!r} has no {what} in {redact(mlflow.get_tracking_uri())}: "
            "run the pipeline first (make pipeline, or dvc repro)"
        ) from None
    dst.mkdir(parents=True, exist_ok=True)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(dst)
        )
    )
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    rel = mlmodel["flavors"]["python_function"]["artifacts"]["model_dir"]["path"]
    metrics = {k[len("metric.") :]: float(v) for k, v in mv.tags.items() if k.startswith("metric.")}
    info = {
        "name": name,
        "version": int(mv.version),
        "run_id": mv.run_id,
        "scenario": mv.tags.get(SCENARIO_TAG, ""),
        "metrics": metrics,
    }
    return local / rel, info


def download_champion(name: str, alias: str, dst: Path) -> tuple[Path, dict[str, Any]]:
    """The model version `name@alias` (e.g. champion), downloaded to `dst`."""
    return download_registered(name, alias, dst)


@shield
def register_champion(
    name: str, run_id: str, model_uri: str, tags: Mapping[str, str], description: str
) -> tuple[int, bool]:
    """Register the run's model under `name` (once) and point alias `champion` at it.

    Returns (version, created). Re-running with the same run reuses its version; when the
    champion moves, the old version keeps the alias `previous`.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Multi-task sentence transformer")
    existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    created = not existing
    if existing:
        version = max(int(v.version) for v in existing)
    else:
        version = int(mlflow.register_model(model_uri, name, tags=dict(tags)).version)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    client.update_model_version(name, str(version), description=description)
    try:
        current = int(client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        current = None
    if current is not None and current != version:
        client.set_registered_model_alias(name, "previous", str(current))
    client.set_registered_model_alias(name, "champion", str(version))
    return version, created
