"""The model behind the service: text -> embeddings -> per-task probabilities, in one worker.

One intra-op thread pool per worker, sized to the cores given to it (``MULTITASK_TORCH_THREADS``,
default: available CPUs / workers), so workers do not oversubscribe the cores; the batcher runs
the model on one thread at a time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def worker_threads(workers: int) -> int:
    """Threads for one worker's model: MULTITASK_TORCH_THREADS, else its share of the CPUs."""
    env = os.environ.get("MULTITASK_TORCH_THREADS")
    if env:
        return max(1, int(env))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // workers)


class TorchBackend:
    """The PyTorch model (GPU serving, debugging)."""

    name = "torch"

    def __init__(
        self, path: str | Path, labels: Mapping[str, Sequence[str]] | None, threads: int
    ) -> None:
        import torch

        from multitask.model.device import pick_device
        from multitask.model.network import MultiTaskSentenceTransformer

        torch.set_num_threads(threads)
        self.threads = threads
        # The labels recorded at packaging must be the ones the folder was trained for
        # (ModelLoadError, naming the file, otherwise).
        self.model = MultiTaskSentenceTransformer.load(path, labels).to(pick_device()).eval()
        self.labels = self.model.labels
        self.dim = self.model.dim
        self.model.predict(["warm up"])  # the first request should not pay for lazy setup

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings [N, dim] (float32), in input order."""
        return self.model.encode(texts)

    def probs(self, emb: np.ndarray) -> dict[str, np.ndarray]:
        """Softmax probabilities per task for embeddings [N, dim] (the heads: microseconds)."""
        return self.model.head_probs(emb)
