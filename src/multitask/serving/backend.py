"""The model behind the service, whichever form it takes: texts -> one row per text.

A backend turns texts into rows of `model.outputs.pack_rows` (the embedding, then each task's
probabilities), so every endpoint's answer is in a text's row and all four share one batch:
    onnx-int8, onnx   `onnx_backend.OnnxBackend`: ONNX Runtime + `tokenizers` (no torch)
    torch             `torch_backend.TorchBackend`: the PyTorch model (GPU serving, debugging)
The module of the chosen backend is imported when the model loads, and only it: the ONNX path
never imports torch or transformers.

One intra-op thread pool per worker, sized to the cores given to it (``MULTITASK_TORCH_THREADS``,
default: available CPUs / workers; it sizes ONNX Runtime's pool too), so workers do not
oversubscribe the cores; the batcher runs the model on one thread at a time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from multitask.config import BACKENDS, Backend
from multitask.errors import ModelLoadError


def worker_threads(workers: int) -> int:
    """Threads for one worker's model: MULTITASK_TORCH_THREADS, else its share of the CPUs."""
    env = os.environ.get("MULTITASK_TORCH_THREADS")
    if env:
        return max(1, int(env))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // workers)


class ModelBackend(Protocol):
    """What the service needs of a model."""

    name: Backend
    threads: int
    labels: dict[str, list[str]]  # task -> label names; the order rows are packed in
    dim: int

    def rows(self, texts: list[str]) -> np.ndarray:
        """[N, dim + sum C_task] float32 (`pack_rows`), in input order."""
        ...


def load_backend(
    name: Backend, path: str | Path, labels: Mapping[str, Sequence[str]] | None, threads: int
) -> ModelBackend:
    """Load the model folder `path` (a BentoML model's) as backend `name`."""
    if name == "torch":
        from multitask.serving.torch_backend import TorchBackend

        return TorchBackend(path, labels, threads)
    if name in ("onnx-int8", "onnx"):
        from multitask.serving.onnx_backend import OnnxBackend

        return OnnxBackend(path, labels, threads, name)
    raise ModelLoadError(f"unknown backend {name!r}: one of {', '.join(BACKENDS)}")
