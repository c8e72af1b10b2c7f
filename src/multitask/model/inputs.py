"""Batching token ids for inference: length-sorted batches and right padding (numpy only).

Shared by the PyTorch model and the ONNX serving runtime, so both pad and batch identically.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pad_ids(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest in the batch: -> input_ids, attention_mask [B, T]
    (int64)."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask


def sorted_batches(
    lengths: Sequence[int], batch_size: int, max_waste: float = 0.25, min_tokens: int = 256
) -> list[list[int]]:
    """Indices grouped for inference: sorted by length, at most `batch_size` per batch, and a
    batch is closed early where padding it to its longest text would leave more than `max_waste`
    of its token slots empty (once it holds `min_tokens` real tokens: tiny batches would cost
    more in per-call overhead than their padding). One long text no longer pads a whole batch.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        n = lengths[i]  # ascending: the longest of the batch if added
        wasteful = real >= min_tokens and real + n < (1 - max_waste) * n * (len(current) + 1)
        if current and (len(current) >= batch_size or wasteful):
            batches.append(current)
            current, real = [], 0
        current.append(i)
        real += n
    if current:
        batches.append(current)
    return batches
