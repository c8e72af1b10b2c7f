"""Logging a training run: params, the dataset, per-epoch metrics, artifacts and the model.

The model is logged as a pyfunc "model from code" (`pyfunc_model.py`) whose weights are the saved
safetensors folder: no pickle. Every writer is `shield`ed (see `multitask.signals`) and retried
when a parallel pipeline holds the sqlite store too long (`sqlite.retry_locked`). Each training
run is tagged with how DVC ran it (dvc.mode, dvc.exp_name, dvc.baseline_rev: `multitask.project`),
so the MLflow UI filters one experiment or a whole sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from multitask.project import dvc_run
from multitask.signals import shield
from multitask.tracking.sqlite import retry_locked
from multitask.tracking.store import (
    PIPELINE_TAG,
    SCENARIO_TAG,
    close_orphans,
    ensure_experiment,
    git_commit,
    pipeline_id,
    run_scope,
)

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/multitask: logged with the model


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def start_training_run(experiment: str, scenario: str, tags: Mapping[str, str]) -> Any:
    """Context manager for one scenario's training run, after cleaning up orphans."""
    exp_id = ensure_experiment(experiment)
    close_orphans(exp_id, scenario)
    all_tags = {SCENARIO_TAG: scenario, "git_commit": git_commit(), PIPELINE_TAG: pipeline_id()}
    all_tags |= dvc_run().tags()
    all_tags.update(tags)
    return run_scope(experiment_id=exp_id, run_name=scenario, tags=all_tags)


@retry_locked
@shield
def log_training_inputs(params: Mapping[str, Any], train_df: Any, data_digest: str) -> None:
    import mlflow

    mlflow.log_params({k: str(v)[:6000] for k, v in flatten(params).items()})
    dataset = mlflow.data.from_pandas(
        train_df[["id", "text", "topic", "sentiment"]], name="train", digest=data_digest[:36]
    )
    mlflow.log_input(dataset, context="training")


@retry_locked
@shield
def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    import math

    import mlflow

    clean = {k: float(v) for k, v in metrics.items() if not math.isnan(float(v))}
    mlflow.log_metrics(clean, step=step)


@retry_locked
@shield
def log_artifacts(paths: list[Path], artifact_path: str | None = None) -> None:
    import mlflow

    for p in paths:
        if p.is_file():
            mlflow.log_artifact(str(p), artifact_path=artifact_path)


@retry_locked
@shield
def log_pyfunc_model(model: Any, model_dir: Path, input_texts: list[str]) -> str:
    """Log the saved folder of `model` as a pyfunc (code + safetensors); return the model URI."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from multitask.model.outputs import probs_to_frame

    example = pd.DataFrame({"text": input_texts[:3]})

    output = probs_to_frame(model.predict_proba(example["text"].tolist()), model.labels)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={"model_dir": str(model_dir)},
        code_paths=[str(PACKAGE_DIR)],
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
