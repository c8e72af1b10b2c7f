"""The PyTorch backend (GPU serving, debugging): the trained model folder as training saved it.

Its image needs torch and transformers (requirements-serve-torch.txt, ``docker build
--build-arg BACKEND=torch``); the default ONNX image has neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from multitask.model.device import pick_device
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.model.outputs import pack_rows


class TorchBackend:
    """The PyTorch model, one intra-op pool of `threads`."""

    name = "torch"

    def __init__(
        self, path: str | Path, labels: Mapping[str, Sequence[str]] | None, threads: int
    ) -> None:
        torch.set_num_threads(threads)
        self.threads = threads
        # The labels recorded at packaging must be the ones the folder was trained for
        # (ModelLoadError, naming the file, otherwise).
        self.model = MultiTaskSentenceTransformer.load(path, labels).to(pick_device()).eval()
        self.labels = self.model.labels
        self.dim = self.model.dim
        self.rows(["warm up"])  # the first request should not pay for lazy setup

    def rows(self, texts: list[str]) -> np.ndarray:
        emb = self.model.encode(texts)
        return pack_rows(emb, self.model.head_probs(emb), list(self.labels))
