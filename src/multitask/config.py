"""Typed configuration: params.yaml loaded into strict, frozen pydantic models.

Every stage reads its section from here, so an unknown key, a wrong type or an impossible value
stops the run with a message naming the key path (e.g. ``train.scenarios.x.phases.0.epoch``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from multitask.errors import ConfigError

TASKS: tuple[str, ...] = ("topic", "sentiment")
PARAMS_FILE = "params.yaml"

PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(gt=0.0)]
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # numpy / sklearn RandomState accept no more


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, populate_by_name=True, allow_inf_nan=False
    )


def _unique_nonempty(values: list[str], what: str) -> list[str]:
    if len(values) < 2:
        raise ValueError(f"{what} needs at least 2 labels")
    if any(not v.strip() or v != v.strip() for v in values):
        raise ValueError(f"{what} labels must be non-empty and trimmed")
    if len(set(values)) != len(values):
        raise ValueError(f"{what} labels must be unique")
    return values


class Labels(_Strict):
    topic: list[str]
    sentiment: list[str]

    @field_validator("topic", "sentiment")
    @classmethod
    def _check(cls, v: list[str], info: Any) -> list[str]:
        return _unique_nonempty(v, info.field_name)

    def as_dict(self) -> dict[str, list[str]]:
        return {"topic": list(self.topic), "sentiment": list(self.sentiment)}


class Splits(_Strict):
    train: Annotated[float, Field(gt=0.0, lt=1.0)]
    val: Annotated[float, Field(gt=0.0, lt=1.0)]
    test: Annotated[float, Field(gt=0.0, lt=1.0)]

    @model_validator(mode="after")
    def _sum_to_one(self) -> Splits:
        total = self.train + self.val + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"split fractions must sum to 1, got {total:g}")
        return self


class Generate(_Strict):
    source: str = "synthetic"
    seed: Seed
    rows: Annotated[int, Field(ge=30)]
    splits: Splits
    label_noise: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.0
    negation_rate: Fraction = 0.25
    distractor_rate: Fraction = 0.2


class Validate(_Strict):
    min_chars: Annotated[int, Field(ge=1)]
    max_chars: PositiveInt

    @model_validator(mode="after")
    def _ordered(self) -> Validate:
        if self.max_chars < self.min_chars:
            raise ValueError("max_chars must be >= min_chars")
        return self


class ModelConfig(_Strict):
    backbone: Annotated[str, Field(min_length=1)] = "default"
    max_length: Annotated[int, Field(ge=8, le=4096)] = 128
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1


class Phase(_Strict):
    """From `epoch` on: these heads train, and the top `encoder_layers` encoder blocks train."""

    epoch: Annotated[int, Field(ge=0)]
    heads: list[Literal["topic", "sentiment"]]
    encoder_layers: Annotated[int, Field(ge=0)] | Literal["all"] = 0

    @field_validator("heads")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("heads must not repeat")
        return v


class Scenario(_Strict):
    phases: list[Phase]
    layer_lr_decay: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0

    @field_validator("phases")
    @classmethod
    def _increasing(cls, v: list[Phase]) -> list[Phase]:
        epochs = [p.epoch for p in v]
        if epochs != sorted(set(epochs)):
            raise ValueError("phase epochs must be strictly increasing")
        return v

    def phase_at(self, epoch: int) -> Phase:
        """The phase in force at `epoch` (nothing trains before the first phase)."""
        current = Phase(epoch=0, heads=[], encoder_layers=0)
        for phase in self.phases:
            if phase.epoch <= epoch:
                current = phase
        return current


class Train(_Strict):
    seed: Seed
    epochs: PositiveInt
    batch_size: PositiveInt
    lr_head: Rate
    lr_encoder: Rate
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.01
    warmup_ratio: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    grad_clip: Annotated[float, Field(gt=0.0)] = 1.0
    loss_weights: dict[Literal["topic", "sentiment"], Annotated[float, Field(ge=0.0)]]
    select_metric: str = "val/f1_mean"
    nproc: Annotated[int, Field(ge=1, le=64)] = 1  # >1: data-parallel under torchrun
    scenarios: dict[str, Scenario]

    @field_validator("loss_weights")
    @classmethod
    def _both_tasks(cls, v: dict[str, float]) -> dict[str, float]:
        missing = set(TASKS) - set(v)
        if missing:
            raise ValueError(f"missing weight for {sorted(missing)}")
        if sum(v.values()) <= 0:
            raise ValueError("at least one loss weight must be positive")
        return v

    @field_validator("scenarios")
    @classmethod
    def _names(cls, v: dict[str, Scenario]) -> dict[str, Scenario]:
        if not v:
            raise ValueError("at least one scenario is required")
        for name in v:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"scenario name {name!r} must be letters, digits, - or _")
        return v

    @field_validator("select_metric")
    @classmethod
    def _val_metric(cls, v: str) -> str:
        return _check_val_metric(v)

    def scenario(self, name: str) -> Scenario:
        if name not in self.scenarios:
            raise ConfigError(
                f"unknown scenario {name!r}; params.yaml train.scenarios has: "
                + ", ".join(sorted(self.scenarios))
            )
        return self.scenarios[name]


def _check_val_metric(v: str) -> str:
    allowed = {f"val/{m}_{t}" for m in ("acc", "f1") for t in (*TASKS, "mean")}
    if v not in allowed:
        raise ValueError(f"must be one of {sorted(allowed)} (selection uses validation only)")
    return v


class Evaluate(_Strict):
    natural_set: Annotated[str, Field(min_length=1)] = "tests/data/natural.csv"
    batch_size: PositiveInt = 64


class Tracking(_Strict):
    experiment: Annotated[str, Field(min_length=1)]


class Register(_Strict):
    model_name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    select_metric: str = "val/f1_mean"

    @field_validator("select_metric")
    @classmethod
    def _val_metric(cls, v: str) -> str:
        return _check_val_metric(v)


BACKENDS: tuple[str, ...] = ("onnx-int8", "onnx", "torch")
Backend = Literal["onnx-int8", "onnx", "torch"]


class Serve(_Strict):
    """How the champion is served: the backend asked for, and the service's limits (both go into
    the bento as a build argument; the limits also show in GET /model).

    `backend`: ``onnx-int8`` (ONNX Runtime, int8 weights; falls back to ``onnx`` with a warning
    when it fails the accuracy gate), ``onnx`` (ONNX Runtime fp32, gated too) or ``torch``
    (PyTorch: GPU serving, debugging; its image needs requirements-serve-torch.txt).
    """

    backend: Backend = "onnx-int8"
    max_batch_size: PositiveInt = 64  # texts per model batch
    max_latency_ms: PositiveInt = 1000  # refuse (503) new requests while queued ones wait longer
    max_texts: PositiveInt = 64  # per request
    max_chars: PositiveInt = 2000  # per text
    # Request timeout. BentoML holds each request's context until it has passed, so memory
    # holds about requests/s x timeout_s of them: keep it a few times the slowest request.
    timeout_s: PositiveInt = 10

    def limits(self) -> dict[str, int]:
        """The request limits alone (what GET /model reports under "limits")."""
        return self.model_dump(exclude={"backend"})


class Params(_Strict):
    labels: Labels
    generate: Generate
    validate_: Validate = Field(alias="validate")
    model: ModelConfig
    train: Train
    evaluate: Evaluate = Evaluate()
    tracking: Tracking
    register_: Register = Field(alias="register")
    serve: Serve = Serve()


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"invalid parameters in {source}:"]
    for e in err.errors():
        key = ".".join(str(p) if str(p).strip() else repr(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_params(raw: Any, source: str = PARAMS_FILE) -> Params:
    """Validate an already-loaded mapping; raise ConfigError naming every bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must be a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"parameters file not found: {path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    return parse_params(raw, str(path))
