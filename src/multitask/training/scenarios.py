"""Freezing scenarios as data: which parameter groups train in an epoch, at which rate.

The model's parameters are split into named groups: ``head_topic``, ``head_sentiment`` and
``encoder_0`` (top transformer block) ... ``encoder_<L>`` (the embeddings and anything else below).
A `Phase` says which heads train and how many encoder blocks from the top. `apply_phase` sets
``requires_grad`` accordingly; the training loop only ever calls it, with no per-scenario code.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from multitask.config import TASKS, Phase, Scenario, Train


@dataclass(frozen=True)
class ParamGroup:
    name: str
    params: list[nn.Parameter]
    lr: float


def encoder_blocks(encoder: nn.Module) -> list[list[nn.Parameter]]:
    """Encoder parameters as blocks from the top layer down; the last block is everything else."""
    layers = None
    for module in encoder.modules():
        candidate = getattr(module, "layer", None) or getattr(module, "layers", None)
        if isinstance(candidate, nn.ModuleList) and len(candidate) > 0:
            layers = candidate
            break
    if layers is None:  # unknown architecture: treat the whole encoder as one block
        return [list(encoder.parameters())]
    in_layers = {id(p) for p in layers.parameters()}
    blocks = [list(layer.parameters()) for layer in reversed(layers)]
    rest = [p for p in encoder.parameters() if id(p) not in in_layers]
    return [*blocks, rest] if rest else blocks


def parameter_groups(model: nn.Module, cfg: Train, scenario: Scenario) -> list[ParamGroup]:
    """Every trainable-able group with its learning rate (lower blocks get decayed rates)."""
    groups = [
        ParamGroup(f"head_{t}", list(model.heads[t].parameters()), cfg.lr_head) for t in TASKS
    ]
    for depth, params in enumerate(encoder_blocks(model.encoder)):
        lr = cfg.lr_encoder * scenario.layer_lr_decay**depth
        groups.append(ParamGroup(f"encoder_{depth}", params, lr))
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
