"""Shared fixtures: a tiny random backbone (fast), the project's params, small labelled tables,
and `served`: a real `bentoml serve` of a tiny model (ONNX Runtime) on a free 127.0.0.1 port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from harness.local_server import LocalServer, build_in_store, serve_bento
from harness.packaging import package_model
from harness.tiny import make_tiny_backbone
from multitask.config import Backend, Params, Serve, load_params
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.records import ModelVersion, PackagedModel

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def labels(params: Params) -> dict[str, list[str]]:
    return params.labels.as_dict()


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_backbone(tmp_path_factory.mktemp("tiny") / "backbone")


@pytest.fixture
def tiny_model(tiny_backbone: Path, labels) -> MultiTaskSentenceTransformer:
    return MultiTaskSentenceTransformer.from_backbone(str(tiny_backbone), labels, seed=0)


@pytest.fixture(scope="session")
def small_table(params: Params) -> pd.DataFrame:
    """A few hundred generated rows, split and validated like the pipeline does."""
    from multitask.data.splitting import load_source, stratified_split

    cfg = params.generate.model_copy(update={"rows": 300})
    return stratified_split(load_source(cfg, params.labels), cfg)


# -- a real server (integration tests) ----------------------------------------------------------
SERVE_LIMITS = {
    "max_batch_size": 64,
    "max_latency_ms": 1000,
    "max_texts": 32,
    "max_chars": 200,
    "timeout_s": 10,
}
METRICS = {"val/f1_mean": 0.5, "test/acc_topic": 0.25}
REGISTERED = ModelVersion(
    name="mt-test", version=7, run_id="r123", scenario="tiny", metrics=METRICS
)


@dataclass
class Served:
    server: LocalServer
    model: MultiTaskSentenceTransformer
    model_tag: str
    bento_tag: str
    bento_file: Path
    packaged: PackagedModel

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log(self) -> Path:
        return self.server.log

    @property
    def home(self) -> Path:
        return self.server.home


def serve_tiny(
    tmp: Path, tiny_backbone: Path, labels: dict[str, list[str]], backend: Backend
) -> Iterator[Served]:
    """What the package stage and the Docker image do, on a tiny random model served by `backend`.

    Package it (export + accuracy gate for the ONNX backends, `harness.packaging`), store it and
    build the bento in store A (a child process), export it, import the .bento into a fresh store
    B and `bentoml serve` it from a folder outside the repo, with one model thread, in its own
    process group (stopped at teardown).
    """
    from multitask.serving.bento_store import export_bento, import_bento

    model = MultiTaskSentenceTransformer.from_backbone(
        str(tiny_backbone), labels, max_length=16, seed=0
    ).eval()
    model.save(tmp / "model")
    folder, packaged = package_model(model, tmp / "model", backend, tmp / "export", REGISTERED)
    build_home = tmp / "home_build"
    model_tag, bento_tag = build_in_store(
        folder, build_home, ROOT, packaged, Serve(**SERVE_LIMITS, backend=backend)
    )
    bento_file = export_bento(bento_tag, tmp / "dist" / "multitask.bento", home=build_home)

    home = tmp / "home_serve"  # a store that only ever sees the exported file
    assert import_bento(bento_file, home=home) == bento_tag
    with serve_bento(bento_tag, home, tmp, env={"MULTITASK_TORCH_THREADS": "1"}) as server:
        yield Served(server, model, model_tag, bento_tag, bento_file, packaged)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, tiny_backbone: Path, labels: dict[str, list[str]]
) -> Iterator[Served]:
    """The tiny model served by ONNX Runtime fp32 (`onnx`: equal to PyTorch within 1e-5, so the
    answers can be compared with the PyTorch model's; int8 is checked in tests/test_onnx_*)."""
    yield from serve_tiny(tmp_path_factory.mktemp("serve"), tiny_backbone, labels, "onnx")


# -- the tiny model exported to ONNX (model room tests) ------------------------------------------
@dataclass
class TinyOnnx:
    model: MultiTaskSentenceTransformer  # eval mode, max_length 32
    fp32: Path  # export folder (model.onnx fp32, tokenizer.json, onnx_model.json)
    int8: Path  # the same, quantized


@pytest.fixture(scope="session")
def tiny_onnx(
    tmp_path_factory: pytest.TempPathFactory, tiny_backbone: Path, labels: dict[str, list[str]]
) -> TinyOnnx:
    from multitask.model.onnx_export import export_onnx, quantize_folder

    tmp = tmp_path_factory.mktemp("onnx")
    model = MultiTaskSentenceTransformer.from_backbone(
        str(tiny_backbone), labels, max_length=32, seed=0
    ).eval()
    export_onnx(model, tmp / "fp32", source_digest="tiny")
    quantize_folder(tmp / "fp32", tmp / "int8", model)
    return TinyOnnx(model, tmp / "fp32", tmp / "int8")
