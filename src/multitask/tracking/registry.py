"""The MLflow model registry: register a run's model, move the `champion` alias, download a version,
tag a version with what was packaged from it.

A version is resolved ONCE (alias -> number) and then used by number, so an alias that moves
meanwhile cannot change what is downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from multitask.errors import TrackingError
from multitask.records import ModelVersion
from multitask.signals import shield
from multitask.tracking.store import SCENARIO_TAG, redact


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
    metrics = {k[len("metric.") :]: float(v) for k, v in mv.tags.items() if k.startswith("metric.")}
    info = ModelVersion(
        name=name,
        version=int(mv.version),
        run_id=mv.run_id,
        scenario=mv.tags.get(SCENARIO_TAG, ""),
        metrics=metrics,
    )
    return local / rel, info


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
