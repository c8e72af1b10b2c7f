"""The ONNX Runtime backends (onnx-int8, onnx): the exported graph and tokenizer.json.

No torch and no transformers on this path (the serving image has neither): onnxruntime, the
`tokenizers` library and numpy (`model.onnx_runtime`). Which graph, int8 or fp32, is whatever
the package stage stored after the accuracy gate; onnx_model.json says which, and the bento's
record (`PackagedModel.backend`) must agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from multitask.config import Backend
from multitask.errors import ModelLoadError
from multitask.model.onnx_runtime import OnnxModel
from multitask.model.outputs import pack_rows, softmax

VARIANT = {"onnx-int8": "int8", "onnx": "fp32"}  # backend -> the graph it serves


class OnnxBackend:
    """An ONNX export folder on ONNX Runtime, one intra-op pool of `threads`, no spinning."""

    def __init__(
        self,
        path: str | Path,
        labels: Mapping[str, Sequence[str]] | None,
        threads: int,
        name: Backend = "onnx-int8",
    ) -> None:
        self.name = name
        self.threads = threads
        self.model = OnnxModel(path, threads=threads)
        if self.model.variant != VARIANT.get(name):
            raise ModelLoadError(
                f"{path}: holds an ONNX {self.model.variant} graph, the bento says {name}"
            )
        if labels is not None and self.model.labels != {t: list(v) for t, v in labels.items()}:
            raise ModelLoadError(
                f"{path}: the graph predicts labels {self.model.labels}, the bento expects "
                f"{dict(labels)}"
            )
        self.labels = self.model.labels
        self.dim = self.model.dim
        self.rows(["warm up", "a second, longer warm-up text to size the buffers"])

    def rows(self, texts: list[str]) -> np.ndarray:
        emb, logits = self.model.run(texts)
        probs = {task: softmax(v) for task, v in logits.items()}
        return pack_rows(emb, probs, list(self.labels))
