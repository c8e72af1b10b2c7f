"""Package a model for serving as the `package` stage does, without a pipeline: export and gate
(`model.onnx_gate.prepare_backend`) on generated sentences and the natural set, and the
`PackagedModel` record the bento carries. For the served-model tests and the benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from multitask.config import TASKS, Backend
from multitask.io import file_digest
from multitask.model.gate import TextSet
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.model.onnx_gate import prepare_backend
from multitask.records import ModelVersion, PackagedModel

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "tests" / "data" / "natural.csv"


def gate_sets(rows: int = 240, seed: int = 7) -> tuple[TextSet, TextSet]:
    """Generated labelled sentences (a stand-in for val + test) and the natural set."""
    from multitask.data.synthetic.generator import generate_synthetic

    frames = (generate_synthetic(rows, seed), pd.read_csv(NATURAL, dtype=str))
    return tuple(  # type: ignore[return-value]
        TextSet(df["text"].tolist(), {t: df[t].tolist() for t in TASKS}) for df in frames
    )


def package_model(
    model: MultiTaskSentenceTransformer,
    model_dir: Path,
    backend: Backend,
    work: Path,
    registered: ModelVersion,
    sets: tuple[TextSet, TextSet] | None = None,
) -> tuple[Path, PackagedModel]:
    """(the folder to store, its record) for `model` (saved in `model_dir`) served by `backend`."""
    labelled, natural = sets or gate_sets()
    form = prepare_backend(
        model, backend, work, labelled, natural, source_digest=file_digest(model_dir)
    )
    packaged = PackagedModel(
        registered=registered,
        labels=model.labels,
        dim=model.dim,
        max_length=model.max_length,
        backend=form.backend,
        gate=form.gate,
        refused=form.refused,
    )
    return form.folder or model_dir, packaged
