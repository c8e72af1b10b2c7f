"""Choose the serving backend: export, quantize, and put each ONNX form through the accuracy gate.

`prepare_backend` is the package stage's policy (issue 16):
    torch       nothing to export: the PyTorch model is served as it is;
    onnx        export fp32; it must pass the gate, else PackagingError naming metric and figure;
    onnx-int8   export fp32, quantize to int8; int8 passing the gate is served; int8 failing it
                falls back to onnx (fp32) with a warning, and fp32 must pass in its turn.
Never a silent fall back to torch: an ONNX backend either passes or the stage fails.
The reference is the PyTorch model's own predictions on the same texts (`gate.check_gate`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from multitask.config import Backend
from multitask.errors import PackagingError
from multitask.model.gate import Predictions, TextSet, check_gate
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.model.onnx_export import export_onnx, quantize_folder
from multitask.model.onnx_runtime import OnnxModel
from multitask.records import GateResult, GateThresholds

log = logging.getLogger("multitask.onnx")
FP32_DIR, INT8_DIR = "onnx-fp32", "onnx-int8"


@dataclass(frozen=True)
class ServingForm:
    """What to serve: the backend, its ONNX export folder (None for torch), the gate's figures
    for it, and those of any backend the gate refused on the way."""

    backend: Backend
    folder: Path | None = None
    gate: GateResult | None = None
    refused: list[GateResult] = field(default_factory=list)


def torch_predictions(
    model: MultiTaskSentenceTransformer, texts: Sequence[str], batch_size: int = 64
) -> Predictions:
    emb = model.encode(list(texts), batch_size)
    probs = model.head_probs(emb)
    return Predictions({t: p.argmax(axis=1) for t, p in probs.items()}, emb)


def onnx_predictions(runtime: OnnxModel, texts: Sequence[str]) -> Predictions:
    emb, logits = runtime.run(list(texts))
    return Predictions({t: v.argmax(axis=1) for t, v in logits.items()}, emb)


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def gate_folder(
    model: MultiTaskSentenceTransformer,
    folder: str | Path,
    backend: Backend,
    labelled: TextSet,
    natural: TextSet,
    reference: dict[str, Predictions] | None = None,
    thresholds: GateThresholds | None = None,
) -> GateResult:
    """The gate for the export in `folder` (served as `backend`) against `model`."""
    runtime = OnnxModel(folder, threads=_threads())
    if runtime.labels != model.labels:
        raise PackagingError(f"{folder}: labels {runtime.labels} differ from the model's")
    reference = reference or {
        "labelled": torch_predictions(model, labelled.texts),
        "natural": torch_predictions(model, natural.texts),
    }
    candidate = {
        "labelled": onnx_predictions(runtime, labelled.texts),
        "natural": onnx_predictions(runtime, natural.texts),
    }
    return check_gate(backend, model.labels, labelled, natural, reference, candidate, thresholds)


def prepare_backend(
    model: MultiTaskSentenceTransformer,
    requested: Backend,
    work: str | Path,
    labelled: TextSet,
    natural: TextSet,
    source_digest: str,
    thresholds: GateThresholds | None = None,
) -> ServingForm:
    """Export and gate what `requested` needs under `work`; see the module docstring."""
    if requested == "torch":
        return ServingForm("torch")
    work = Path(work)
    model.eval()
    fp32 = work / FP32_DIR
    meta = export_onnx(model, fp32, source_digest)
    log.info(
        "exported ONNX fp32 (%s; max abs diff to PyTorch %.2g)",
        ", ".join(f"{k} {v}" for k, v in meta.fused_ops.items()) or "no fused ops",
        meta.check["max_abs_diff"],
    )
    reference = {
        "labelled": torch_predictions(model, labelled.texts),
        "natural": torch_predictions(model, natural.texts),
    }
    refused: list[GateResult] = []
    order: list[Backend] = ["onnx-int8", "onnx"] if requested == "onnx-int8" else ["onnx"]
    for backend in order:
        folder = fp32
        if backend == "onnx-int8":
            folder = work / INT8_DIR
            quantize_folder(fp32, folder, model)
        result = gate_folder(model, folder, backend, labelled, natural, reference, thresholds)
        if result.passed:
            log.info("accuracy gate passed for %s: %s", backend, _brief(result))
            return ServingForm(backend, folder, result, refused)
        refused.append(result)
        if backend == "onnx-int8":
            log.warning(
                "onnx-int8 refused by the accuracy gate (%s); falling back to onnx (fp32)",
                result.reason,
            )
    raise PackagingError(
        f"the ONNX fp32 export (serve.backend onnx) was refused by the accuracy gate: "
        f"{refused[-1].reason}"
    )


def _brief(result: GateResult) -> str:
    tasks = ", ".join(
        f"{t} agreement {100 * f.agreement:.2f}% (accuracy {f.acc_delta_points:+.2f} points, "
        f"natural {f.natural_net_change:+d})"
        for t, f in result.tasks.items()
    )
    return f"{tasks}; mean cosine {result.mean_cosine:.4f}"
