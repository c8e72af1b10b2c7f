"""Typed records that cross a stage boundary: one definition each, for the writer and every reader.

    record         file                                  written by    read by
    ModelMeta      <model folder>/multitask.json         model save    model load, packaging
    TrainRun       models/<scenario>/run.json            train         evaluate, register
    Metrics        reports/eval/<scenario>/metrics.json  evaluate      register, DVC
    Champion       champion.json                         register      package, README, CI
    PackagedModel  BentoML model metadata                package       the service (GET /model)
    BentoRecord    dist/bento.json                       package       serve, docker, CI

Reading a missing or malformed file raises the caller's error class (DataError by default) with
a message naming the file and the field at fault. Writes are atomic. Bottom layer: imports only
pydantic, errors and io.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multitask.errors import DataError, MultitaskError
from multitask.io import atomic_write_json

MODEL_META_FILE = "multitask.json"
BENTO_MODEL_NAME = "multitask-model"  # in the BentoML model store
TRAIN_RUN_FILE = "run.json"  # beside the "model" folder in a train output
MODEL_SUBDIR = "model"
METRICS_FILE = "metrics.json"  # in an evaluate output folder
LabelSets = dict[str, list[str]]


class Record(BaseModel):
    """A JSON record: unknown keys refused, immutable once built. (Not pydantic's strict mode:
    JSON has no int/float distinction, so a dropout of 0 or 12 train seconds must read fine.)"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def read(
        cls, path: str | Path, error: type[MultitaskError] = DataError, hint: str = ""
    ) -> Self:
        """Load `path`; `error` names the file (and `hint` says how to make it) when it fails."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise error(f"{path} is missing" + (f": {hint}" if hint else "")) from None
        except (OSError, ValueError) as err:
            raise error(f"{path} is unreadable: {err}") from None
        return cls.parse(raw, str(path), error)

    @classmethod
    def parse(cls, raw: Any, source: str, error: type[MultitaskError] = DataError) -> Self:
        """Validate an already-loaded mapping; `error` names `source` and every bad field."""
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                for e in err.errors()
            )
            raise error(f"{source} is unreadable: {fields}") from None

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, self.model_dump(mode="json"))


class ModelMeta(Record):
    """A saved model folder's multitask.json: what it predicts and the checksum of every file."""

    format_version: Annotated[int, Field(ge=1)] = 1
    labels: LabelSets
    max_length: Annotated[int, Field(ge=1)]
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    dim: Annotated[int, Field(ge=1)]
    sha256: Annotated[dict[str, str], Field(min_length=1)]


class TrainRun(Record):
    """models/<scenario>/run.json: which MLflow run trained the folder, and how."""

    scenario: str
    run_id: str
    experiment_id: str
    model_uri: str
    data_digest: str
    best_epoch: int
    epochs_run: int
    train_seconds: float
    params_total: int
    params_trainable: int
    params_frozen: int
    init_from: str | None = None  # the scenario whose trained model this one started from
    init_metrics: dict[str, float] = {}  # the starting model's validation figures (init/...)


class Metrics(Record):
    """reports/eval/<scenario>/metrics.json: `<split>/<metric>_<task>` figures plus costs.

    Kept flat (DVC reads it as metrics): figures live in `values`, serialised at the top level.
    """

    values: dict[str, float]

    @classmethod
    def parse(cls, raw: Any, source: str, error: type[MultitaskError] = DataError) -> Self:
        if not isinstance(raw, dict):
            raise error(f"{source} is unreadable: expected an object of metric names")
        return super().parse({"values": raw}, source, error)

    def write(self, path: str | Path) -> None:
        atomic_write_json(path, dict(sorted(self.values.items())))

    def __getitem__(self, key: str) -> float:
        return self.values[key]


class ModelVersion(Record):
    """One registered model version, as the registry describes it."""

    name: str
    version: int
    run_id: str
    scenario: str
    metrics: dict[str, float] = {}


class DvcContext(Record):
    """How DVC ran the pipeline that made a record (see multitask.project.DvcRun)."""

    mode: Literal["repro", "exp-workspace", "exp-temp", "exp-queue"] = "repro"
    exp_name: str | None = None  # DVC_EXP_NAME
    baseline_rev: str | None = None  # DVC_EXP_BASELINE_REV


class Champion(ModelVersion):
    """champion.json: the version `register` chose, on which validation metric, for which labels.

    `registered_as` says what `register` did with it: "champion" (it moved the registry alias;
    `dvc repro`) or "candidate" (a DVC experiment: registered and tagged, no alias moved). The
    defaults read a champion.json written before these fields existed (always a champion).
    """

    selected_by: str
    labels: LabelSets
    registered_as: Literal["champion", "candidate"] = "champion"
    dvc: DvcContext = DvcContext()


class PackagedModel(Record):
    """What the package stage stores with the BentoML model and the service reports."""

    registered: ModelVersion
    labels: LabelSets
    dim: int
    max_length: int

    def bento_labels(self) -> dict[str, str]:
        """Short string labels for `bentoml models list` and the bento."""
        r = self.registered
        return {
            "registered_name": r.name,
            "version": str(r.version),
            "run_id": r.run_id,
            "scenario": r.scenario,
        }


class BentoRecord(Record):
    """dist/bento.json: the exported bento, its model and the champion it serves."""

    bento_tag: str
    model_tag: str
    bento_file: str
    bento_sha256: str
    champion: ModelVersion
