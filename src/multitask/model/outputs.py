"""Model outputs in the shapes users see: per-text results (the HTTP contract) and tables
(the MLflow pyfunc). numpy only: the ONNX serving path uses this without torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, numerically stable: [N, C] -> [N, C]."""
    z = np.asarray(logits, dtype=np.float32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def probs_to_results(
    probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]
) -> list[dict[str, dict[str, Any]]]:
    """Per-text HTTP-contract dicts: {task: {"label": str, "scores": {label: prob}}}.

    One ``tolist()`` per task (Python floats in bulk) rather than a ``float()`` per score: at
    serving speeds this loop is part of every request's cost.
    """
    if not probs:
        return []
    n = len(next(iter(probs.values())))
    best = {task: np.asarray(p).argmax(axis=1).tolist() for task, p in probs.items()}
    rows = {task: np.asarray(p, dtype=np.float64).tolist() for task, p in probs.items()}
    names = {task: list(labels[task]) for task in probs}
    return [
        {
            task: {
                "label": names[task][best[task][i]],
                "scores": dict(zip(names[task], rows[task][i], strict=True)),
            }
            for task in probs
        }
        for i in range(n)
    ]


def probs_to_frame(probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]) -> Any:
    """Tabular predictions: `<task>` label columns and `<task>_prob_<label>` probabilities."""
    import pandas as pd

    cols: dict[str, Any] = {}
    for task, p in probs.items():
        cols[task] = [labels[task][i] for i in p.argmax(axis=1)]
    for task, p in probs.items():
        for j, name in enumerate(labels[task]):
            cols[f"{task}_prob_{name}"] = p[:, j].astype("float64")
    return pd.DataFrame(cols)


# -- one row per text, for a batcher that hands each request its own rows ---------------------
def pack_rows(emb: np.ndarray, probs: Mapping[str, np.ndarray], tasks: Sequence[str]) -> np.ndarray:
    """[N, dim + sum C_task] float32: the embedding, then each task's probabilities in `tasks`
    order. Every endpoint's answer is in a text's row, so they all share one batch."""
    return np.concatenate(
        [np.asarray(emb, np.float32), *(np.asarray(probs[t], np.float32) for t in tasks)], axis=1
    )


def unpack_rows(
    rows: np.ndarray, dim: int, labels: Mapping[str, Sequence[str]]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Inverse of `pack_rows` for any subset of its rows: (embeddings, probabilities per task);
    the tasks in `labels` order (the order they were packed in)."""
    probs, start = {}, dim
    for task, names in labels.items():
        probs[task] = rows[:, start : start + len(names)]
        start += len(names)
    if start != rows.shape[1]:
        raise ValueError(f"rows have width {rows.shape[1]}, labels and dim {dim} make {start}")
    return rows[:, :dim], probs
