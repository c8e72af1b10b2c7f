"""The exported model on ONNX Runtime: texts -> embeddings and logits. Imports neither torch nor
transformers (the serving image has neither).

It reads an export folder (`onnx_export`: model.onnx, tokenizer.json, onnx_model.json) and
reproduces the training-time inference path:
    texts (N) -> token ids (the `tokenizers` library on tokenizer.json: the training tokenizer's
    normaliser, special tokens and truncation at max_length; unpadded)
    -> length-sorted batches (`inputs.sorted_batches`, the PyTorch path's rule), each right-padded
    to its own longest text with the exported pad id
    -> one ONNX Runtime call per batch: embedding [B, H] and logits_<task> [B, C_task]
    -> rows back in input order.

Threads: one intra-op pool of `threads` (the cores given to this worker), inter-op 1, sequential
execution, so it never oversubscribes the cores with a batcher that calls the model from one
thread. Idle pool threads sleep instead of spinning (spinning cost ~1.5x CPU per served request
here, taken from the event loop) and ORT's memory arena is off (~20-26 MiB less RSS after mixed
batch sizes, no measurable speed difference).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from multitask.errors import ModelLoadError
from multitask.io import file_digest
from multitask.model.inputs import pad_ids, sorted_batches
from multitask.records import ONNX_META_FILE, OnnxMeta

INPUT_NAMES = ("input_ids", "attention_mask")


def session_options(threads: int, spin: bool = False, arena: bool = False) -> ort.SessionOptions:
    """One intra-op pool of `threads`, inter-op 1, sequential, every graph optimisation on."""
    opts = ort.SessionOptions()
    opts.enable_cpu_mem_arena = arena
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.log_severity_level = 3  # errors only: no per-session warnings in a server's log
    return opts


class OnnxModel:
    """An export folder on ONNX Runtime (CPU).

    Raises ModelLoadError naming the file when the folder is incomplete, altered (sha256), or its
    graph does not have the inputs and outputs onnx_model.json promises.
    """

    def __init__(
        self, folder: str | Path, threads: int = 1, batch_size: int = 64, verify: bool = True
    ) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / ONNX_META_FILE
        if not meta_path.is_file():
            raise ModelLoadError(f"not an ONNX export folder: {meta_path} is missing")
        self.meta = OnnxMeta.read(meta_path, ModelLoadError)
        self.tasks: tuple[str, ...] = tuple(self.meta.labels)
        self.labels = {t: list(self.meta.labels[t]) for t in self.tasks}
        self.dim, self.pad_id = self.meta.dim, self.meta.pad_id
        self.threads, self.batch_size = max(1, int(threads)), int(batch_size)
        graph, tok = self.folder / self.meta.graph, self.folder / self.meta.tokenizer
        for path in (graph, tok):
            if not path.is_file():
                raise ModelLoadError(f"missing file {path}")
            if verify and file_digest(path) != self.meta.sha256.get(path.name):
                raise ModelLoadError(f"{path} is altered or corrupt (sha256 mismatch)")
        # Tokenising a batch is cheap next to the model: no second thread pool beside ORT's.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            self.tokenizer = Tokenizer.from_file(str(tok))
        except Exception as err:  # tokenizers raises its own exception types
            raise ModelLoadError(f"cannot load tokenizer {tok}: {err}") from None
        # The training tokenizer's settings, whatever the file says: truncation, no padding.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.meta.max_length)
        try:
            self.session = ort.InferenceSession(
                str(graph), session_options(self.threads), providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"cannot load {graph}: {err}") from None
        self.output_names = [
            self.meta.outputs["embedding"],
            *(self.meta.outputs[t] for t in self.tasks),
        ]
        self._check_signature(graph)

    def _check_signature(self, graph: Path) -> None:
        inputs = {i.name for i in self.session.get_inputs()}
        if inputs != set(INPUT_NAMES):
            raise ModelLoadError(f"{graph}: inputs {sorted(inputs)}, want {list(INPUT_NAMES)}")
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        widths = [self.dim, *(len(self.labels[t]) for t in self.tasks)]
        for name, width in zip(self.output_names, widths, strict=True):
            if name not in outputs:
                raise ModelLoadError(f"{graph}: output {name!r} is missing")
            if outputs[name][-1] != width:
                raise ModelLoadError(
                    f"{graph}: output {name!r} has width {outputs[name][-1]}, want {width}"
                )

    @property
    def variant(self) -> str:
        return self.meta.variant

    def tokenize_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text: special tokens added, truncated to max_length, unpadded."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def run_ids(
        self, ids: Sequence[Sequence[int]], batch_size: int | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(embeddings [N, dim], logits per task [N, C_task]) for pre-tokenised texts, in order."""
        n = len(ids)
        emb = np.empty((n, self.dim), dtype=np.float32)
        logits = {t: np.empty((n, len(self.labels[t])), dtype=np.float32) for t in self.tasks}
        for idx in sorted_batches([len(x) for x in ids], batch_size or self.batch_size):
            input_ids, mask = pad_ids([ids[i] for i in idx], self.pad_id)
            outs = self.session.run(
                self.output_names, {"input_ids": input_ids, "attention_mask": mask}
            )
            emb[idx] = outs[0]
            for k, task in enumerate(self.tasks):
                logits[task][idx] = outs[1 + k]
        return emb, logits

    def run(
        self, texts: Sequence[str], batch_size: int | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(embeddings [N, dim], logits per task) for texts, in input order."""
        return self.run_ids(self.tokenize_ids(texts), batch_size)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Sentence embeddings [N, dim] (float32, masked mean pooling), in input order."""
        return self.run(texts, batch_size)[0]
