"""Per-task metrics: accuracy, macro-F1 and confusion matrices, with stable metric names.

Names follow ``<split>/<metric>_<task>``, e.g. ``val/acc_topic``, ``test/f1_sentiment``, plus
``<split>/acc_mean`` and ``<split>/f1_mean`` averaged over the two tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from multitask.config import TASKS


def label_indices(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    return np.array([index[v] for v in values], dtype=np.int64)


def split_metrics(
    split: str,
    y_true: Mapping[str, np.ndarray],
    y_pred: Mapping[str, np.ndarray],
    labels: Mapping[str, Sequence[str]],
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics for one split (indices per task) and the confusion matrix per task."""
    metrics: dict[str, float] = {}
    confusions: dict[str, np.ndarray] = {}
    for task in TASKS:
        ids = list(range(len(labels[task])))
        t, p = y_true[task], y_pred[task]
        metrics[f"{split}/acc_{task}"] = float(accuracy_score(t, p))
        metrics[f"{split}/f1_{task}"] = float(
            f1_score(t, p, labels=ids, average="macro", zero_division=0)
        )
        confusions[task] = confusion_matrix(t, p, labels=ids)
    for m in ("acc", "f1"):
        metrics[f"{split}/{m}_mean"] = float(np.mean([metrics[f"{split}/{m}_{t}"] for t in TASKS]))
    return metrics, confusions


def evaluate_table(
    model, df: pd.DataFrame, split: str
) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run `model` on a text/topic/sentiment table: metrics, confusions and predictions."""
    probs = model.predict_proba(df["text"].tolist())
    y_pred = {t: probs[t].argmax(axis=1) for t in TASKS}
    y_true = {t: label_indices(df[t].tolist(), model.labels[t]) for t in TASKS}
    metrics, confusions = split_metrics(split, y_true, y_pred, model.labels)
    return metrics, confusions, y_pred
