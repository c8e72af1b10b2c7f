"""Freezing scenarios as data: which parameter groups train in an epoch, at which rate.

The model names its parameter blocks (`MultiTaskSentenceTransformer.parameter_blocks`):
``head_topic``, ``head_sentiment`` and ``encoder_0`` (top transformer block) ... ``encoder_<L>``
(the embeddings and anything else below).
A `Phase` says which heads train and how many encoder blocks from the top. `apply_phase` sets
``requires_grad`` accordingly; the training loop only ever calls it, with no per-scenario code.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from multitask.config import Phase, Scenario, Train
from multitask.model.network import MultiTaskSentenceTransformer


@dataclass(frozen=True)
class ParamGroup:
    name: str
    params: list[nn.Parameter]
    lr: float


def parameter_groups(
    model: MultiTaskSentenceTransformer, cfg: Train, scenario: Scenario
) -> list[ParamGroup]:
    """The model's named parameter blocks with their learning rates: heads at lr_head, encoder
    block d (0 = top) at lr_encoder x layer_lr_decay**d."""
    groups = []
    for name, params in model.parameter_blocks().items():
        if name.startswith("encoder_"):
            depth = int(name.removeprefix("encoder_"))
            lr = cfg.lr_encoder * scenario.layer_lr_decay**depth
        else:
            lr = cfg.lr_head
        groups.append(ParamGroup(name, params, lr))
    return groups


def trainable_group_names(phase: Phase, n_encoder_blocks: int) -> set[str]:
    names = {f"head_{t}" for t in phase.heads}
    depth = n_encoder_blocks if phase.encoder_layers == "all" else phase.encoder_layers
    names |= {f"encoder_{d}" for d in range(min(depth, n_encoder_blocks))}
    return names


def apply_phase(model: nn.Module, groups: list[ParamGroup], phase: Phase) -> set[str]:
    """Set requires_grad for `phase`; return the names of the groups that train."""
    n_blocks = sum(g.name.startswith("encoder_") for g in groups)
    train = trainable_group_names(phase, n_blocks)
    for group in groups:
        for p in group.params:
            p.requires_grad_(group.name in train)
    return train


def encoder_trains(trainable: set[str]) -> bool:
    return any(name.startswith("encoder_") for name in trainable)


def count_parameters(model: nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "params_total": total,
        "params_trainable": trainable,
        "params_frozen": total - trainable,
    }
