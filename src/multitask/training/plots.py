"""Pictures people would rather look at than read: curves, confusion matrices, comparisons.

Matplotlib with the non-interactive Agg backend; every image is written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from multitask.io import atomic_path


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def save_confusion(cm: np.ndarray, labels: Sequence[str], title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    top = cm.max() if cm.size else 0
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    _save(fig, path)


def save_training_curves(history: pd.DataFrame, title: str, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = history["epoch"] + 1
    for col in ("train/loss", "val/loss"):
        if col in history and history[col].notna().any():
            left.plot(x, history[col], marker="o", label=col)
    left.set_xlabel("epoch")
    left.set_title("loss")
    left.legend()
    for col in ("val/acc_topic", "val/acc_sentiment", "val/f1_mean"):
        right.plot(x, history[col], marker="o", label=col)
    right.set_xlabel("epoch")
    right.set_title("validation")
    right.set_ylim(0, 1.02)
    right.legend()
    fig.suptitle(title)
    _save(fig, path)


def save_comparison(table: pd.DataFrame, tasks: Sequence[str], path: Path) -> None:
    """Per task, per scenario: validation accuracy of the starting model (init), of the trained
    model (val), and the trained model's test accuracy: what each scenario gained or kept."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(1.3 * len(table) * len(tasks) + 3, 4.2))
    x = np.arange(len(table))
    bars = [("init", "start (val)", "#bbbbbb"), ("val", "end (val)", "#1f77b4"),
            ("test", "end (test)", "#ff7f0e")]  # fmt: skip
    width = 0.8 / len(bars)
    for ax, task in zip(np.atleast_1d(axes), tasks, strict=True):
        for k, (split, label, colour) in enumerate(bars):
            column = f"{split}/acc_{task}"
            values = table[column] if column in table else np.full(len(table), np.nan)
            ax.bar(x + k * width - 0.4 + width / 2, values, width, label=label, color=colour)
        ax.set_xticks(x, table.index, rotation=25, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{task} accuracy")
    np.atleast_1d(axes)[0].set_ylabel("accuracy")
    np.atleast_1d(axes)[-1].legend(fontsize=8, loc="lower right")
    fig.suptitle("scenario comparison: start -> end")
    _save(fig, path)
