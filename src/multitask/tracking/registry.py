"""The MLflow model registry: register a run's model, move the `champion` alias, download a version,
tag a version with what was packaged from it.

A version is resolved ONCE (alias -> number) and then used by number, so an alias that moves
meanwhile cannot change what is downloaded. Registering and moving the alias are separate steps:
which pipelines may move `champion` is the caller's rule (`DvcRun.moves_champion`); every
version is tagged with how DVC made it (dvc.mode, dvc.exp_name, dvc.baseline_rev), so the
registry lists a sweep's candidates by experiment name. Creating the registered model is safe
when parallel pipelines do it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from multitask.errors import TrackingError
from multitask.project import dvc_run
from multitask.records import ModelVersion
from multitask.signals import shield
from multitask.tracking.sqlite import retry_locked
from multitask.tracking.store import SCENARIO_TAG, redact

CHAMPION = "champion"
PREVIOUS = "previous"  # the version `champion` left


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


def download_registered(name: str, ref: str, dst: Path) -> tuple[Path, ModelVersion]:
    """Resolve `name` at alias or version `ref` ONCE, download that exact version.

    Returns the model folder and the version's record (name, version, run id, scenario, metrics).
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
    return local / rel, _record(mv)


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, description="Multi-task sentence transformer")
        except MlflowException as err:  # a parallel pipeline created it first
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise


@retry_locked
@shield
def register_version(
    name: str, run_id: str, model_uri: str, tags: Mapping[str, str], description: str
) -> tuple[int, bool]:
    """Register the run's model under `name` (once per run), tagged; move no alias.

    Returns (version, created). Re-running with the same run reuses its version. The tags get
    the DVC context of this process (`multitask.project.DvcRun.tags`).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    _ensure_registered_model(client, name)
    existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    created = not existing
    all_tags = {**dvc_run().tags(), **tags}
    if existing:
        version = max(int(v.version) for v in existing)
    else:
        version = int(mlflow.register_model(model_uri, name, tags=all_tags).version)
    for key, value in all_tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    client.update_model_version(name, str(version), description=description)
    return version, created


def champion_version(name: str) -> int | None:
    """The version alias `champion` points at now (None when there is none)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return int(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def model_version(name: str, version: int) -> ModelVersion:
    """One registered version's record (TrackingError naming the store if there is none)."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        mv = MlflowClient().get_model_version(name, str(version))
    except MlflowException:
        raise TrackingError(
            f"registered model {name!r} has no version {version} in "
            f"{redact(mlflow.get_tracking_uri())}"
        ) from None
    return _record(mv)


def _record(mv: Any) -> ModelVersion:
    metrics = {k[len("metric.") :]: float(v) for k, v in mv.tags.items() if k.startswith("metric.")}
    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        run_id=mv.run_id,
        scenario=mv.tags.get(SCENARIO_TAG, ""),
        metrics=metrics,
    )


@retry_locked
@shield
def set_champion(name: str, version: int, tags: Mapping[str, str] | None = None) -> int | None:
    """Point alias `champion` at `version` (tagging it with `tags`); the version it leaves keeps
    alias `previous`. Returns the version that was champion before (None if none).
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    model_version(name, version)  # a clear error when there is no such version
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, str(version), key, value)
    current = champion_version(name)
    if current is not None and current != version:
        client.set_registered_model_alias(name, PREVIOUS, str(current))
    client.set_registered_model_alias(name, CHAMPION, str(version))
    return current


@retry_locked
@shield
def tag_version(name: str, version: int, tags: Mapping[str, str]) -> None:
    """Set `tags` on registered model version `name`/`version` (the package stage records what
    it packaged: the serving backend and the accuracy gate's figures). Idempotent."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        for key, value in tags.items():
            client.set_model_version_tag(name, str(version), key, value)
    except MlflowException as err:
        raise TrackingError(f"cannot tag {name} version {version}: {err}") from None
