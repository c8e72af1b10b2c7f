"""Model outputs in the shapes users see: per-text results (the HTTP contract) and tables
(the MLflow pyfunc). numpy only: the ONNX serving path uses this without torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def probs_to_results(
    probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]
) -> list[dict[str, dict[str, Any]]]:
    """Per-text HTTP-contract dicts: {task: {"label": str, "scores": {label: prob}}}."""
    n = len(next(iter(probs.values())))
    out: list[dict[str, dict[str, Any]]] = []
    for i in range(n):
        item = {}
        for task, p in probs.items():
            names = labels[task]
            item[task] = {
                "label": names[int(np.argmax(p[i]))],
                "scores": {name: float(p[i, j]) for j, name in enumerate(names)},
            }
        out.append(item)
    return out


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
