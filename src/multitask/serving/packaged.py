"""Which model a bento serves, and what the package stage recorded about it.

The bento is pinned to one BentoML model tag and the ``serve`` limits of params.yaml by build
arguments (``bentoml build --arg model_tag=<name:version> --arg serve=<json>``), read back with
``bentoml.use_arguments()``: reading them costs nothing at import, and an old bento never picks up
a newer model. The model's `PackagedModel` record (registered version, metrics, labels) lives in
the BentoML model's metadata and is read when the service loads the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bentoml

from multitask.config import Serve
from multitask.errors import ModelLoadError
from multitask.records import BENTO_MODEL_NAME, PackagedModel

DEFAULT_MODEL_TAG = f"{BENTO_MODEL_NAME}:latest"  # only for a bento built without the argument


@dataclass(frozen=True)
class BuildArgs:
    model_tag: str
    limits: Serve


def build_args() -> BuildArgs:
    """The arguments the bento was built with; defaults where there are none (tests, dev)."""
    args = bentoml.use_arguments()
    serve = getattr(args, "serve", None)
    return BuildArgs(
        model_tag=str(getattr(args, "model_tag", None) or DEFAULT_MODEL_TAG),
        limits=Serve.model_validate_json(serve) if serve else Serve(),
    )


def read_packaged(model: Any) -> PackagedModel:
    """The record the package stage stored with `model` (the stored BentoML model the service's
    `bento_model` attribute resolves to); ModelLoadError naming the tag if it is not one."""
    source = f"BentoML model {model.tag}"
    return PackagedModel.parse(dict(model.info.metadata), source, ModelLoadError)


def describe(packaged: PackagedModel, model_tag: str, limits: Serve) -> dict[str, Any]:
    """GET /model's answer: which version is served, how it was chosen, on which backend (with
    the accuracy gate's figures for it, and the reason any other backend was refused), the
    limits."""
    r = packaged.registered
    return {
        "registered_name": r.name,
        "version": r.version,
        "run_id": r.run_id,
        "scenario": r.scenario,
        "metrics": r.metrics,
        "labels": packaged.labels,
        "dim": packaged.dim,
        "max_length": packaged.max_length,
        "bentoml_model": model_tag,
        "backend": packaged.backend,
        "requested_backend": limits.backend,
        "gate": packaged.gate.model_dump(mode="json") if packaged.gate else None,
        "refused": [{"backend": g.backend, "reason": g.reason} for g in packaged.refused],
        "lineage": packaged.lineage.model_dump() if packaged.lineage else None,
        "limits": limits.limits(),
    }
