"""Typed configuration: params.yaml loaded into strict, frozen pydantic models.

Every stage reads its section from here, so an unknown key, a wrong type or an impossible value
stops the run with a message naming the key path (e.g. ``train.scenarios.x.phases.0.epoch``).
"""

from __future__ import annotations

import math
import re
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


LossWeights = dict[Literal["topic", "sentiment"], Annotated[float, Field(ge=0.0)]]


def _check_loss_weights(v: dict[str, float]) -> dict[str, float]:
    missing = set(TASKS) - set(v)
    if missing:
        raise ValueError(f"missing weight for {sorted(missing)}")
    if sum(v.values()) <= 0:
        raise ValueError("at least one loss weight must be positive")
    return v


class Scenario(_Strict):
    """What trains in each epoch (`phases`), from which model, with which loss weights.

    `init_from` names another scenario whose trained model this one starts from (only in
    `train.warm_scenarios`); without it the scenario starts from the pretrained backbone with
    fresh heads. `loss_weights` overrides train.loss_weights for this scenario.
    """

    phases: list[Phase]
    layer_lr_decay: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    init_from: str | None = None
    loss_weights: LossWeights | None = None

    @field_validator("loss_weights")
    @classmethod
    def _both_tasks(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        return None if v is None else _check_loss_weights(v)

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
    loss_weights: LossWeights
    select_metric: str = "val/f1_mean"
    nproc: Annotated[int, Field(ge=1, le=64)] = 1  # >1: data-parallel under torchrun
    mixed_precision: bool = False  # bf16 autocast on GPUs that support it; ignored on the CPU
    scenarios: dict[str, Scenario]  # from the pretrained backbone
    warm_scenarios: dict[str, Scenario] = {}  # from another scenario's trained model

    @field_validator("loss_weights")
    @classmethod
    def _both_tasks(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_loss_weights(v)

    @field_validator("scenarios", "warm_scenarios")
    @classmethod
    def _names(cls, v: dict[str, Scenario], info: Any) -> dict[str, Scenario]:
        if info.field_name == "scenarios" and not v:
            raise ValueError("at least one scenario is required")
        for name, scenario in v.items():
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"scenario name {name!r} must be letters, digits, - or _")
            warm = scenario.init_from is not None
            if warm != (info.field_name == "warm_scenarios"):
                where = "warm_scenarios" if warm else "scenarios"
                raise ValueError(
                    f"{name}: a scenario with init_from belongs in train.warm_scenarios, one "
                    f"without in train.scenarios (move it to train.{where})"
                )
        return v

    @model_validator(mode="after")
    def _warm_starts(self) -> Train:
        clash = set(self.scenarios) & set(self.warm_scenarios)
        if clash:
            raise ValueError(f"scenario names used twice: {sorted(clash)}")
        for name, scenario in self.warm_scenarios.items():
            if scenario.init_from not in self.scenarios:
                raise ValueError(
                    f"train.warm_scenarios.{name}.init_from: {scenario.init_from!r} is not a "
                    f"scenario of train.scenarios ({', '.join(sorted(self.scenarios))})"
                )
        return self

    @property
    def all_scenarios(self) -> dict[str, Scenario]:
        """Every scenario, from-scratch ones first (the order they train in)."""
        return {**self.scenarios, **self.warm_scenarios}

    def loss_weights_for(self, scenario: Scenario) -> dict[str, float]:
        return dict(scenario.loss_weights or self.loss_weights)

    @field_validator("select_metric")
    @classmethod
    def _val_metric(cls, v: str) -> str:
        return _check_val_metric(v)

    def scenario(self, name: str) -> Scenario:
        scenarios = self.all_scenarios
        if name not in scenarios:
            raise ConfigError(
                f"unknown scenario {name!r}; params.yaml train.scenarios and "
                f"train.warm_scenarios have: {', '.join(sorted(scenarios))}"
            )
        return scenarios[name]


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


class ParamsLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus YAML 1.2 floats without a dot (``2e-05``, ``1E3``): as DVC reads.

    `dvc exp run -S train.lr_encoder=2e-5` (likewise =0.00002 or =2.0e-5) writes ``2e-05`` into
    params.yaml: DVC parses the value to a float and its YAML 1.2 writer prints Python's repr,
    which has no dot below 1e-4. PyYAML implements YAML 1.1, where a float needs a dot, so plain
    `yaml.safe_load` returns the STRING '2e-05' and the strict config would reject the sweep.
    DVC itself reads a float, so `dvc exp show` and the config agree. Nothing else is loosened:
    a quoted '2e-5' stays a string (and is refused where a number is expected).
    """


ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse params.yaml text the way DVC does (see `ParamsLoader`)."""
    # ParamsLoader is a SafeLoader subclass: no arbitrary objects.
    return yaml.load(text, Loader=ParamsLoader)  # nosec B506


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml (floats as DVC writes them: `ParamsLoader`)."""
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"parameters file not found: {path}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    return parse_params(raw, str(path))
