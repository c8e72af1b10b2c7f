"""A tiny random BERT backbone (1 M parameters) for fast tests and the CI-sized pipeline.

It reuses the packaged all-MiniLM-L6-v2 tokenizer, so texts tokenise exactly as in production;
only the encoder's width and depth shrink. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from multitask.io import atomic_dir
from multitask.model.backbone import quiet_transformers, resolve_backbone


def make_tiny_backbone(
    path: str | Path,
    seed: int = 0,
    dropout: float = 0.1,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
) -> Path:
    """Write a random BERT (by default hidden 32, 2 layers) + the packaged tokenizer to `path`.
    Wider and deeper settings make a model that is slow on purpose (the load-shedding test)."""
    quiet_transformers()
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = Path(path)
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone("default"))
    config = BertConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=512,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    with atomic_dir(path) as tmp:
        BertModel(config).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return path
