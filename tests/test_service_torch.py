"""The torch backend stays available: a bento packaged with serve.backend torch serves the PyTorch
model itself (same answers as in-process, no gate, the torch requirements in the bento)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Served, serve_tiny
from tests.test_service import TEXTS, _get, _post

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served_torch(
    tmp_path_factory: pytest.TempPathFactory, tiny_backbone: Path, labels: dict[str, list[str]]
) -> Iterator[Served]:
    yield from serve_tiny(tmp_path_factory.mktemp("serve-torch"), tiny_backbone, labels, "torch")


def test_the_torch_backend_serves_the_pytorch_model(served_torch: Served) -> None:
    served = served_torch
    status, got = _post(f"{served.url}/predict", json.dumps({"texts": TEXTS}).encode())
    assert status == 200
    for g, e in zip(got, served.model.predict(TEXTS), strict=True):
        for task in ("topic", "sentiment"):
            assert g[task]["label"] == e[task]["label"]
            assert g[task]["scores"] == pytest.approx(e[task]["scores"], abs=1e-6)
    status, emb = _post(f"{served.url}/embed", json.dumps({"texts": TEXTS}).encode())
    assert status == 200
    np.testing.assert_allclose(np.asarray(emb), served.model.encode(TEXTS), atol=1e-6)
    info = json.loads(_get(f"{served.url}/model"))
    assert (info["backend"], info["requested_backend"]) == ("torch", "torch")
    assert info["gate"] is None and info["refused"] == []
    name, version = served.bento_tag.split(":")
    env = served.home / "bentos" / name / version / "env" / "python" / "requirements.txt"
    assert "torch==" in env.read_text(), "a torch bento must declare torch"
    stored = served.home / "models" / served.model_tag.replace(":", "/")
    assert (stored / "heads.safetensors").is_file() and not (stored / "model.onnx").exists()
