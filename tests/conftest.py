"""Shared fixtures: a tiny random backbone (fast), the project's params, small labelled tables."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from multitask.config import Params, load_params
from multitask.model import MultiTaskSentenceTransformer
from multitask.tiny import make_tiny_backbone

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
    from multitask.data import load_source, stratified_split

    cfg = params.generate.model_copy(update={"rows": 300})
    return stratified_split(load_source(cfg, params.labels), cfg)
