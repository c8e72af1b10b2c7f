"""Typed records that cross a stage boundary: one definition each, for the writer and every reader.

    record         file                                  written by    read by
    ModelMeta      <model folder>/multitask.json         model save    model load, packaging
    TrainRun       models/<scenario>/run.json            train         evaluate, register
    Metrics        reports/eval/<scenario>/metrics.json  evaluate      register, DVC
    Champion       champion.json                         register      package, README, CI
    OnnxMeta       <ONNX folder>/onnx_model.json         package       ONNX runtime (service, gate)
    GateResult     inside PackagedModel; MLflow tags     package       the service (GET /model)
    PackagedModel  BentoML model metadata                package       the service (GET /model)
    BentoRecord    dist/bento.json                       package       serve, docker, CI

Reading a missing or malformed file raises the caller's error class (DataError by default) with
a message naming the file and the field at fault. Writes are atomic. Bottom layer: imports only
pydantic and the other bottom modules (config for the backend names, errors, io).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multitask.config import Backend
from multitask.errors import DataError, MultitaskError
from multitask.io import atomic_write_json

MODEL_META_FILE = "multitask.json"
ONNX_META_FILE = "onnx_model.json"  # in an ONNX export folder
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


class Lineage(Record):
    """One lineage from a running container back to its training run and its DVC commit.

    The same record sits in champion.json, the BentoML model's metadata and the bento's labels,
    GET /model, dist/bento.json and the image's labels: the registered name and version, the run
    that trained it, the git commit the pipeline ran from, the digest of the data it was trained
    on, and the md5 dvc.lock records for its trained model folder (``models/<scenario>``: a bento
    cannot carry its own hash, but `dvc.lock` at that commit names this folder by this md5).
    """

    registered_name: str
    version: int
    run_id: str
    scenario: str
    git_commit: str
    data_digest: str
    model_md5: str

    def labels(self, prefix: str = "") -> dict[str, str]:
        """The lineage as string labels (a bento's, an image's), keys prefixed by `prefix`."""
        return {f"{prefix}{k}": str(v) for k, v in self.model_dump().items()}


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
    lineage: Lineage | None = None  # None in records written before lineage existed


class OnnxMeta(Record):
    """An ONNX export folder's onnx_model.json: what the graph computes and how to feed it.

    One graph, `graph`: int64 ``input_ids`` and ``attention_mask`` [batch, sequence] -> the pooled
    embedding [batch, dim] and each task's logits [batch, classes] (names in `outputs`, keyed
    ``embedding`` and by task). `tokenizer` is the training tokenizer (truncation at max_length,
    no padding: the runtime pads each batch with `pad_id`). `sha256` covers both files;
    `source_digest` is the digest of the PyTorch model folder it was exported from, and `check`
    the export's own comparison with that model.
    """

    format_version: Literal[1] = 1
    variant: Literal["fp32", "int8"]
    graph: str = "model.onnx"
    tokenizer: str = "tokenizer.json"
    labels: LabelSets
    max_length: Annotated[int, Field(ge=1)]
    pad_id: Annotated[int, Field(ge=0)]
    dim: Annotated[int, Field(ge=1)]
    outputs: dict[str, str]
    opset: int
    fused_ops: dict[str, int] = {}
    sha256: Annotated[dict[str, str], Field(min_length=2)]
    source_digest: str
    check: dict[str, float] = {}


class GateThresholds(Record):
    """The accuracy gate's limits (issue 16)."""

    max_acc_delta_points: float = 0.5  # |accuracy change| per task, percentage points
    min_agreement: float = 0.99  # same label as PyTorch, per task, on the labelled set
    max_natural_net_change: int = 1  # |correct(onnx) - correct(torch)| sentences per task
    min_mean_cosine: float = 0.98  # embeddings, every text of both sets


class TaskGate(Record):
    """One task's gate figures (accuracies as fractions, the delta in percentage points)."""

    acc_reference: float
    acc_candidate: float
    acc_delta_points: float
    agreement: float
    natural_acc_reference: float
    natural_acc_candidate: float
    natural_net_change: int  # correct(candidate) - correct(reference) on the natural set
    natural_flips: int  # natural sentences whose label changed, right or wrong


class GateResult(Record):
    """The accuracy gate's verdict on one ONNX backend against the PyTorch model, with every
    figure; `reason` names each failing metric with its figure and limit ("passed" otherwise)."""

    backend: Backend
    passed: bool
    reason: str
    failures: list[str] = []
    tasks: dict[str, TaskGate]
    mean_cosine: float | None = None  # None: not a number (NaN embeddings), which fails
    min_cosine: float | None = None
    n_labelled: int
    n_natural: int
    thresholds: GateThresholds = GateThresholds()

    def tags(self) -> dict[str, str]:
        """Flat string figures for MLflow tags, e.g. ``gate.onnx-int8.sentiment.agreement``."""
        pre = f"gate.{self.backend}"
        out = {f"{pre}.passed": str(self.passed).lower(), f"{pre}.reason": self.reason[:4000]}
        out[f"{pre}.mean_cosine"] = _fig(self.mean_cosine)
        out[f"{pre}.n_labelled"], out[f"{pre}.n_natural"] = (
            str(self.n_labelled),
            str(self.n_natural),
        )
        for task, figures in self.tasks.items():
            out.update({f"{pre}.{task}.{k}": _fig(v) for k, v in figures.model_dump().items()})
        return out


def _fig(value: float | int | None) -> str:
    return "nan" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value))


class PackagedModel(Record):
    """What the package stage stores with the BentoML model and the service reports.

    `backend` is what the bento serves (params ask for one; the gate may have moved onnx-int8 to
    onnx). `gate` holds the served ONNX backend's gate figures, `refused` those of a backend the
    gate turned down on the way (onnx-int8 when it fell back). Records written before the ONNX
    backends existed read as torch.
    """

    registered: ModelVersion
    labels: LabelSets
    dim: int
    max_length: int
    backend: Backend = "torch"
    gate: GateResult | None = None
    refused: list[GateResult] = []
    lineage: Lineage | None = None  # champion.json's (None: packaged before lineage existed)

    def bento_labels(self) -> dict[str, str]:
        """Short string labels for `bentoml models list` and the bento: the lineage (or, for a
        record without one, the registered version) and the backend."""
        r = self.registered
        base = {
            "registered_name": r.name,
            "version": str(r.version),
            "run_id": r.run_id,
            "scenario": r.scenario,
        }
        return {**base, **(self.lineage.labels() if self.lineage else {}), "backend": self.backend}

    def version_tags(self) -> dict[str, str]:
        """What the MLflow model version gets tagged with: the backend and every gate figure."""
        tags = {"serve.backend": self.backend}
        for result in [*self.refused, *([self.gate] if self.gate else [])]:
            tags.update(result.tags())
        return tags


class BentoRecord(Record):
    """dist/bento.json: the exported bento, its model and the champion it serves."""

    bento_tag: str
    model_tag: str
    bento_file: str
    bento_sha256: str
    champion: ModelVersion
    backend: Backend = "torch"  # what the bento serves (records from before ONNX: torch)
    lineage: Lineage | None = None  # champion.json's (None: packaged before lineage existed)
