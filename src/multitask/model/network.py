"""The multi-task sentence transformer: shared HF encoder -> masked mean pooling -> two heads.

Shapes: texts (N) -> token ids [B, T] -> hidden states [B, T, H] -> embeddings [B, H]
-> logits {"topic": [B, C_topic], "sentiment": [B, C_sentiment]}. Heads output raw logits;
softmax is applied only where probabilities are reported.

A saved model is a folder, never a pickle:
    encoder/            the HF encoder (config.json + model.safetensors) and its tokenizer files
    heads.safetensors   the two linear heads
    multitask.json      labels, max_length, embedding size and sha256 of every weights file
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from multitask.config import TASKS
from multitask.errors import ModelLoadError
from multitask.io import atomic_dir, file_digest
from multitask.model.backbone import quiet_transformers, resolve_backbone
from multitask.model.device import pick_device
from multitask.model.inputs import pad_ids, sorted_batches
from multitask.model.outputs import probs_to_results
from multitask.records import MODEL_META_FILE, ModelMeta

HEADS_FILE = "heads.safetensors"
ENCODER_DIR = "encoder"


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real tokens only: [B, T, H], [B, T] -> [B, H]."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists to the longest in the batch: -> input_ids, attention_mask [B, T]."""
    input_ids, mask = pad_ids(ids, pad_id)
    return torch.from_numpy(input_ids), torch.from_numpy(mask)


def _layer_list(module: nn.Module) -> nn.ModuleList | None:
    """The transformer's stack of layers (`layer` in BERT, `layers` in others), if `module` holds
    one."""
    found = getattr(module, "layer", None) or getattr(module, "layers", None)
    return found if isinstance(found, nn.ModuleList) and len(found) > 0 else None


class MultiTaskSentenceTransformer(nn.Module):
    """Shared encoder + masked mean pooling + one linear head per task."""

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: Any,
        labels: Mapping[str, Sequence[str]],
        max_length: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if set(labels) != set(TASKS):
            raise ValueError(f"labels must have exactly the tasks {TASKS}, got {sorted(labels)}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.labels = {t: list(labels[t]) for t in TASKS}
        self.max_length = int(max_length)
        self.dropout_p = float(dropout)
        self.dim = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({t: nn.Linear(self.dim, len(self.labels[t])) for t in TASKS})

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_backbone(
        cls,
        backbone: str,
        labels: Mapping[str, Sequence[str]],
        max_length: int = 128,
        dropout: float = 0.1,
        seed: int = 0,
    ) -> MultiTaskSentenceTransformer:
        """Pretrained encoder + freshly initialised heads (seeded, so runs are reproducible)."""
        quiet_transformers()
        from transformers import AutoModel, AutoTokenizer

        path = resolve_backbone(backbone)
        tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path)
        torch.manual_seed(seed)
        return cls(encoder, tokenizer, labels, max_length=max_length, dropout=dropout)

    def parameter_blocks(self) -> dict[str, list[nn.Parameter]]:
        """Parameters in named blocks, the units freezing scenarios train or freeze:
        ``head_<task>``, then ``encoder_0`` (the top transformer layer) ... ``encoder_<L>`` (the
        embeddings and anything else below the layers). An encoder without a recognisable
        layer list is one block."""
        blocks = {f"head_{t}": list(self.heads[t].parameters()) for t in TASKS}
        layers = next((m for m in map(_layer_list, self.encoder.modules()) if m), None)
        if layers is None:
            blocks["encoder_0"] = list(self.encoder.parameters())
            return blocks
        in_layers = {id(p) for p in layers.parameters()}
        for depth, layer in enumerate(reversed(layers)):
            blocks[f"encoder_{depth}"] = list(layer.parameters())
        rest = [p for p in self.encoder.parameters() if id(p) not in in_layers]
        if rest:
            blocks[f"encoder_{len(layers)}"] = rest
        return blocks

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- forward pieces -------------------------------------------------------------------------
    def tokenize_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, truncated to max_length, unpadded (padding happens per batch)."""
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, add_special_tokens=True
        )
        return enc["input_ids"]

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def classify(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        emb = self.dropout(emb)
        return {t: head(emb) for t, head in self.heads.items()}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, Any]:
        return self.classify(self.embed(input_ids, attention_mask))

    # -- inference ------------------------------------------------------------------------------
    @torch.inference_mode()
    def embed_ids(self, ids: Sequence[Sequence[int]], batch_size: int = 64) -> torch.Tensor:
        """Embeddings for pre-tokenised texts, batched by similar length to cut padding."""
        was_training = self.training
        self.eval()
        out = torch.empty((len(ids), self.dim))  # results always come back on the CPU
        device = self.device
        pad_id = self.tokenizer.pad_token_id or 0
        for idx in sorted_batches([len(x) for x in ids], batch_size):
            input_ids, mask = pad_batch([ids[i] for i in idx], pad_id)
            out[idx] = self.embed(input_ids.to(device), mask.to(device)).float().cpu()
        self.train(was_training)
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Sentence embeddings [N, dim] (float32), in input order."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_ids(self.tokenize_ids(texts), batch_size).numpy()

    @torch.inference_mode()
    def head_probs(self, emb: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """Softmax probabilities per task for embeddings [N, dim]."""
        emb = torch.as_tensor(emb, dtype=torch.float32).to(self.device)
        return {t: torch.softmax(head(emb), dim=-1).cpu().numpy() for t, head in self.heads.items()}

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        return self.head_probs(self.encode(texts, batch_size))

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[dict[str, Any]]:
        """Labels with probabilities for both tasks, one dict per text (the HTTP contract)."""
        if len(texts) == 0:
            return []
        return probs_to_results(self.predict_proba(texts, batch_size), self.labels)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model folder atomically (safetensors + JSON + tokenizer; no pickle)."""
        with atomic_dir(path) as tmp:
            enc_dir = tmp / ENCODER_DIR
            self.encoder.save_pretrained(enc_dir, safe_serialization=True)
            self.tokenizer.save_pretrained(enc_dir)
            heads = {k: v.detach().cpu().contiguous() for k, v in self.heads.state_dict().items()}
            save_file(heads, str(tmp / HEADS_FILE))
            # Every file, not only weights: an edited config.json or tokenizer.json would
            # otherwise load "fine" as a different model.
            files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
            meta = ModelMeta(
                labels=self.labels,
                max_length=self.max_length,
                dropout=self.dropout_p,
                dim=self.dim,
                sha256={f: file_digest(tmp / f) for f in files},
            )
            meta.write(tmp / MODEL_META_FILE)

    @classmethod
    def load(
        cls,
        path: str | Path,
        expected_labels: Mapping[str, Sequence[str]] | None = None,
        device: str | None = None,
    ) -> MultiTaskSentenceTransformer:
        """Load a saved folder, verifying checksums and labels (ModelLoadError names the file),
        onto `device` (auto | cpu | cuda; default: MULTITASK_DEVICE, else auto)."""
        quiet_transformers()
        from transformers import AutoModel, AutoTokenizer

        path = Path(path)
        meta_path = path / MODEL_META_FILE
        if not meta_path.is_file():
            raise ModelLoadError(f"not a model folder: {meta_path} is missing")
        meta = ModelMeta.read(meta_path, error=ModelLoadError)
        if set(meta.labels) != set(TASKS):
            raise ModelLoadError(f"{meta_path}: labels must have the tasks {TASKS}")
        labels = {t: meta.labels[t] for t in TASKS}
        max_length, dropout, checksums = meta.max_length, meta.dropout, meta.sha256
        if expected_labels is not None:
            want = {t: list(expected_labels[t]) for t in TASKS}
            if want != labels:
                raise ModelLoadError(
                    f"{meta_path}: model was trained for labels {labels}, expected {want}"
                )
        for rel, digest in checksums.items():
            f = path / rel
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise ModelLoadError(f"{meta_path}: checksum entry {rel!r} points outside")
            if not f.is_file():
                raise ModelLoadError(f"missing file {f}")
            if file_digest(f) != digest:
                raise ModelLoadError(f"weights file {f} is corrupt (sha256 mismatch)")
        enc_dir = path / ENCODER_DIR
        for required in ("config.json", "tokenizer_config.json"):
            if not (enc_dir / required).is_file():
                raise ModelLoadError(f"missing file {enc_dir / required}")
        try:
            tokenizer = AutoTokenizer.from_pretrained(enc_dir)
        except Exception as err:  # tokenizers raise many types; the file is what matters
            raise ModelLoadError(f"cannot load tokenizer from {enc_dir}: {err}") from None
        try:
            encoder = AutoModel.from_pretrained(enc_dir)
        except Exception as err:
            raise ModelLoadError(f"cannot load encoder weights from {enc_dir}: {err}") from None
        model = cls(encoder, tokenizer, labels, max_length, dropout)
        heads_path = path / HEADS_FILE
        try:
            model.heads.load_state_dict(load_file(str(heads_path)))
        except Exception as err:
            raise ModelLoadError(f"cannot load heads from {heads_path}: {err}") from None
        return model.to(pick_device(device)).eval()
