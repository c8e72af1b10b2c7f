"""Export the multi-task model to ONE ONNX graph, and quantize it to int8 (torch side).

The graph: input_ids, attention_mask (int64 [B, T]; B and T dynamic)
    -> embedding [B, H]: the encoder, then masked mean pooling inside the graph (`model.embed`,
       the training code path: padding never counts)
    -> logits_<task> [B, C_task] for every task (raw logits; softmax is the runtime's).

An export folder holds everything the torch-free runtime (`onnx_runtime`) needs, nothing else:
    model.onnx         the graph (opset 17; fp32, or int8 weights after `quantize_folder`)
    tokenizer.json     the training tokenizer (HF `tokenizers` format) with truncation at
                       max_length and padding off: padding is per batch, done by the runtime
    onnx_model.json    `records.OnnxMeta`: variant, labels, max_length, pad id, dim, output
                       names, fused ops, sha256 of both files, the source model's digest, and
                       this export's own comparison with PyTorch

Fusion: the encoder is traced with eager attention and passed through ONNX Runtime's transformer
optimizer (fused Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu; only an
eager trace shows it the attention pattern). Same outputs to ~1e-6; int8 from a fused graph ran
1.0-1.2x an unfused one here. int8 = ONNX Runtime dynamic quantization with per-channel int8
weights (per-tensor weights lost too much: cosine ~0.94 against ~0.99 on all-MiniLM-L6-v2).

Traps handled (STACK.md): transformers 5 `BertModel.forward` must be called by keyword (the graph
wraps `model.embed`, which does); the module is put in eval mode for the trace (a fresh module
trains, and dropout would be traced) and given back in the mode it was in; the example batch holds
padding and the export is checked against PyTorch on a padded batch and at batch size 1, so a
trace that ignored the mask or specialised a shape fails here, not in the service.
Runs in the package stage only; the service never imports this (nor torch, on the ONNX path).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from multitask.config import TASKS
from multitask.errors import PackagingError
from multitask.io import atomic_dir, file_digest
from multitask.model.inputs import pad_ids
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.records import ONNX_META_FILE, OnnxMeta

OPSET = 17
GRAPH_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ("input_ids", "attention_mask")
EMBEDDING_OUTPUT = "embedding"
MAX_FP32_DIFF = 1e-3  # ONNX fp32 vs PyTorch, any output, max abs: more means a broken trace
CHECK_TEXTS = (
    "The central bank raised interest rates again.",
    "ok",
    "",
    "Fantastic match last night, the striker scored twice in the final ten minutes!",
    "Le médecin a dit que tout allait bien. 医生说一切都好 🙂",
    "word " * 300,  # past max_length: truncated
)


def logits_output(task: str) -> str:
    return f"logits_{task}"


class _Graph(nn.Module):
    """forward(input_ids, attention_mask) -> (embedding, *logits per task): what gets traced.
    The heads are called directly: dropout is the identity in eval mode anyway."""

    def __init__(self, model: MultiTaskSentenceTransformer) -> None:
        super().__init__()
        self.model = model  # a submodule: .eval() reaches the encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[Any, ...]:
        emb = self.model.embed(input_ids, attention_mask)  # [B, H]
        return (emb, *(self.model.heads[t](emb) for t in TASKS))  # [B, C_t] each


def export_onnx(
    model: MultiTaskSentenceTransformer,
    folder: str | Path,
    source_digest: str,
    fuse: bool = True,
    check_texts: Sequence[str] = CHECK_TEXTS,
) -> OnnxMeta:
    """Write the fp32 export folder `folder` (atomically) and return its record.

    PackagingError if the graph differs from PyTorch by more than MAX_FP32_DIFF on the padded
    or the single-text check batch. The model keeps its device, mode and attention implementation.
    """
    config = model.encoder.config
    attn_before = getattr(config, "_attn_implementation", None)
    was_training, device = model.training, model.device
    graph = _Graph(model).to("cpu").eval()
    try:
        if fuse and attn_before not in (None, "eager"):
            model.encoder.set_attn_implementation("eager")
        with atomic_dir(folder) as tmp:
            raw = tmp / "traced.onnx"
            pad_id = int(model.tokenizer.pad_token_id or 0)
            _trace(graph, _example_batch(model, pad_id), raw)
            fused = _fuse(raw, tmp / GRAPH_FILE, config) if fuse else {}
            if fuse:
                raw.unlink()
            else:
                raw.rename(tmp / GRAPH_FILE)
            save_tokenizer(model, tmp / TOKENIZER_FILE)
            diff, cos = compare_with_torch(graph, tmp / GRAPH_FILE, model, check_texts)
            if diff > MAX_FP32_DIFF:
                raise PackagingError(
                    f"ONNX fp32 export differs from PyTorch by {diff:.3g} (max abs, padded check "
                    "batch): the traced graph is not the model"
                )
            meta = OnnxMeta(
                variant="fp32",
                labels={t: list(model.labels[t]) for t in TASKS},
                max_length=model.max_length,
                pad_id=pad_id,
                dim=model.dim,
                outputs={"embedding": EMBEDDING_OUTPUT, **{t: logits_output(t) for t in TASKS}},
                opset=OPSET,
                fused_ops=fused,
                sha256=_digests(tmp),
                source_digest=source_digest,
                check={"max_abs_diff": diff, "min_cosine": cos},
            )
            meta.write(tmp / ONNX_META_FILE)
    finally:
        if fuse and attn_before not in (None, "eager"):
            model.encoder.set_attn_implementation(attn_before)
        model.to(device).train(was_training)
    return meta


def quantize_folder(
    src: str | Path,
    dst: str | Path,
    model: MultiTaskSentenceTransformer,
    check_texts: Sequence[str] = CHECK_TEXTS,
) -> OnnxMeta:
    """Write the int8 export folder `dst` from the fp32 folder `src` (dynamic quantization,
    per-channel int8 weights; activations quantized per batch at run time) and return its record.
    Its `check` holds the int8 graph's comparison with `model` (the gate decides, not this)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = Path(src)
    meta = OnnxMeta.read(src / ONNX_META_FILE, PackagingError)
    with atomic_dir(dst) as tmp, _quiet():
        quantize_dynamic(
            str(src / meta.graph),
            str(tmp / GRAPH_FILE),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # fused graphs hold com.microsoft ops that ONNX shape inference cannot type
            extra_options={"DefaultTensorType": _onnx_float()},
        )
        shutil.copy2(src / meta.tokenizer, tmp / TOKENIZER_FILE)
        was_training, device = model.training, model.device
        try:
            graph = _Graph(model).to("cpu").eval()
            diff, cos = compare_with_torch(graph, tmp / GRAPH_FILE, model, check_texts)
        finally:
            model.to(device).train(was_training)
        int8 = meta.model_copy(
            update={
                "variant": "int8",
                "sha256": _digests(tmp),
                "check": {"max_abs_diff": diff, "min_cosine": cos},
            }
        )
        int8.write(tmp / ONNX_META_FILE)
    return int8


def save_tokenizer(model: MultiTaskSentenceTransformer, path: Path) -> None:
    """The training tokenizer as tokenizer.json: truncation at max_length, no padding (a copy
    is configured; the model's own tokenizer is left as it was)."""
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.enable_truncation(max_length=model.max_length)  # longest_first, right, stride 0
    backend.save(str(path))


def compare_with_torch(
    graph: nn.Module, onnx_path: Path, model: MultiTaskSentenceTransformer, texts: Sequence[str]
) -> tuple[float, float]:
    """(max abs diff of all outputs, min embedding cosine): the ONNX file against PyTorch on one
    padded batch and at batch size 1 (shape specialisation in a trace shows up at B=1)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    ids = model.tokenize_ids(list(texts))
    pad_id = int(model.tokenizer.pad_token_id or 0)
    worst_diff, worst_cos = 0.0, 1.0
    for batch in (ids, ids[:1], ids[-1:]):
        input_ids, mask = pad_ids(batch, pad_id)
        with torch.inference_mode():
            ref = [t.numpy() for t in graph(torch.from_numpy(input_ids), torch.from_numpy(mask))]
        got = sess.run(None, {"input_ids": input_ids, "attention_mask": mask})
        diffs = [float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True)]
        worst_diff = max(worst_diff, *diffs)
        a, b = ref[0].astype(np.float64), got[0].astype(np.float64)
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        cos = (a * b).sum(1) / np.maximum(norms, 1e-12)
        worst_cos = min(worst_cos, float(cos.min()))
    return worst_diff, worst_cos


def _example_batch(
    model: MultiTaskSentenceTransformer, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 2 with padding in row 0: never an all-ones mask (see the module docstring)."""
    ids = model.tokenize_ids(["Short text.", "A somewhat longer example sentence for the trace."])
    input_ids, mask = pad_ids(ids, pad_id)
    assert mask.min() == 0, "the example batch must contain padding"
    return torch.from_numpy(input_ids), torch.from_numpy(mask)


def _trace(graph: nn.Module, example: tuple[torch.Tensor, torch.Tensor], path: Path) -> None:
    """TorchScript-trace `graph` to `path` (opset 17, dynamic batch and sequence axes)."""
    outputs = [EMBEDDING_OUTPUT, *(logits_output(t) for t in TASKS)]
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}
    axes.update({n: {0: "batch"} for n in outputs})
    with warnings.catch_warnings():
        # transformers' mask helpers compare shapes in Python while tracing (TracerWarning, and
        # one about aten::index): harmless here, as the padded and B=1 checks prove.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index.*")
        # dynamo=False is deprecated since torch 2.9; the dynamo exporter is ~6x slower here and
        # an output named "embedding" collides with one of its internal names.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message="The feature will be removed.*")
        torch.onnx.export(
            graph,
            example,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: dynamic_axes as given, no onnxscript
            do_constant_folding=True,
        )


def _fuse(src: Path, dst: Path, config: Any) -> dict[str, int]:
    """ONNX Runtime's transformer optimizer (portable opt_level 1) from `src` to `dst`; the count
    of each fused operator (none recognised: the graph is still valid, only slower)."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet():
        opt = optimize_model(
            str(src),
            model_type="bert",  # BERT's fusion patterns also match other encoder-only models
            num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
            opt_level=1,  # basic optimisations only: nothing tied to this machine's CPU
            use_gpu=False,
        )
        opt.save_model_to_file(str(dst))
    return {k: int(v) for k, v in opt.get_fused_operator_statistics().items() if v}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ONNX Runtime's optimizer and quantizer log every step at INFO (the quantizer on the root
    logger): errors only while they run, so the stage's log says what happened in one line."""
    names = ["", "onnx_model", "onnx_model_bert", "fusion_base", "fusion_utils", "onnxruntime"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _onnx_float() -> int:
    import onnx

    return int(onnx.TensorProto.FLOAT)


def _digests(folder: Path) -> dict[str, str]:
    return {name: file_digest(folder / name) for name in (GRAPH_FILE, TOKENIZER_FILE)}
