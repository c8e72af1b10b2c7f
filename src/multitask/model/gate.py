"""The accuracy gate: may an ONNX backend replace the PyTorch model? A pure function (numpy only).

The rules (issue 16), the candidate against the reference (PyTorch):
  - labelled set (val + test pooled): per task, |accuracy(candidate) - accuracy(reference)| at
    most 0.5 percentage points, and label agreement (the reference's label, right or wrong) at
    least 99%;
  - natural set (hand-written sentences): per task, the net change in correctly labelled
    sentences, |correct(candidate) - correct(reference)|, at most 1. A gain counts like a loss:
    the gate asks "same model?", not "better model?";
  - embeddings, every text of both sets: mean cosine(candidate, reference) at least 0.98 (a NaN
    fails).
`check_gate` returns a `records.GateResult` with every figure; its `reason` names each failing
metric with its figure and limit. The package stage supplies the predictions (`onnx_gate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from multitask.config import Backend
from multitask.records import GateResult, GateThresholds, TaskGate


@dataclass(frozen=True)
class TextSet:
    """Texts and their true labels (names) per task."""

    texts: list[str]
    truth: dict[str, list[str]]

    def __post_init__(self) -> None:
        for task, labels in self.truth.items():
            if len(labels) != len(self.texts):
                raise ValueError(f"{task}: {len(labels)} labels for {len(self.texts)} texts")


@dataclass(frozen=True)
class Predictions:
    """One backend's outputs on one text set: label indices per task, embeddings [N, H]."""

    labels: Mapping[str, np.ndarray]  # task -> int [N], index into the task's label list
    embeddings: np.ndarray  # float [N, H]


def _indices(truth: Sequence[str], names: Sequence[str]) -> np.ndarray:
    pos = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(x) for x in truth if x not in pos})
    if unknown:
        raise ValueError(f"labels {unknown} are not in the label set {list(names)}")
    return np.array([pos[x] for x in truth], dtype=np.int64)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return (a64 * b64).sum(axis=1) / np.maximum(norms, 1e-12)


def check_gate(
    backend: Backend,
    labels: Mapping[str, Sequence[str]],
    labelled: TextSet,
    natural: TextSet,
    reference: Mapping[str, Predictions],
    candidate: Mapping[str, Predictions],
    thresholds: GateThresholds | None = None,
) -> GateResult:
    """The gate for `candidate` (`backend`'s predictions) against `reference` (PyTorch's).

    Both map "labelled" and "natural" to that set's Predictions. ValueError on lengths that do
    not match or labels outside `labels` (a caller's bug, not a gate failure).
    """
    t = thresholds or GateThresholds()
    n_lab, n_nat = len(labelled.texts), len(natural.texts)
    if n_lab == 0 or n_nat == 0:
        raise ValueError("both the labelled and the natural set must hold texts")
    for name, n in (("labelled", n_lab), ("natural", n_nat)):
        for side, preds in (("reference", reference[name]), ("candidate", candidate[name])):
            if len(preds.embeddings) != n:
                raise ValueError(f"{name} {side}: {len(preds.embeddings)} rows for {n} texts")

    failures: list[str] = []
    figures: dict[str, TaskGate] = {}
    for task, names in labels.items():
        y = _indices(labelled.truth[task], names)
        ref, cand = (np.asarray(p["labelled"].labels[task]) for p in (reference, candidate))
        acc_r, acc_c = float((ref == y).mean()), float((cand == y).mean())
        delta, agree = 100.0 * (acc_c - acc_r), float((ref == cand).mean())
        yn = _indices(natural.truth[task], names)
        nref, ncand = (np.asarray(p["natural"].labels[task]) for p in (reference, candidate))
        net = int((ncand == yn).sum()) - int((nref == yn).sum())
        flips = int((nref != ncand).sum())
        figures[task] = TaskGate(
            acc_reference=acc_r,
            acc_candidate=acc_c,
            acc_delta_points=delta,
            agreement=agree,
            natural_acc_reference=float((nref == yn).mean()),
            natural_acc_candidate=float((ncand == yn).mean()),
            natural_net_change=net,
            natural_flips=flips,
        )
        if abs(delta) > t.max_acc_delta_points + 1e-9:
            failures.append(
                f"{task} accuracy moved {delta:+.2f} points ({100 * acc_r:.2f}% -> "
                f"{100 * acc_c:.2f}%), more than {t.max_acc_delta_points:g} on {n_lab} "
                "labelled texts"
            )
        if agree < t.min_agreement:
            failures.append(
                f"{task} label agreement {100 * agree:.2f}% < {100 * t.min_agreement:.2f}% "
                f"({round((1 - agree) * n_lab)} of {n_lab} labelled texts changed label)"
            )
        if abs(net) > t.max_natural_net_change:
            failures.append(
                f"{task} natural-set net change {net:+d} sentences (more than "
                f"{t.max_natural_net_change}; {flips} of {n_nat} changed label)"
            )

    cos = np.concatenate(
        [
            _cosines(reference[s].embeddings, candidate[s].embeddings)
            for s in ("labelled", "natural")
        ]
    )
    mean_cos, min_cos = float(cos.mean()), float(cos.min())
    if not mean_cos >= t.min_mean_cosine:  # `not >=`: NaN fails too
        failures.append(f"mean embedding cosine {mean_cos:.4f} < {t.min_mean_cosine:g}")
    return GateResult(
        backend=backend,
        passed=not failures,
        reason="; ".join(failures) or "passed",
        failures=failures,
        tasks=figures,
        mean_cosine=None if np.isnan(mean_cos) else mean_cos,
        min_cosine=None if np.isnan(min_cos) else min_cos,
        n_labelled=n_lab,
        n_natural=n_nat,
        thresholds=t,
    )
