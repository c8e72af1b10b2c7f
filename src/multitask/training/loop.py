"""The training loop: one loop for every freezing scenario.

Per epoch the scenario's phase decides which parameter groups train (`scenarios.apply_phase`).
Loss = weighted sum of the two tasks' cross-entropies; AdamW over named parameter groups with
linear warm-up then linear decay; gradient clipping; batches of similar length (less padding).

Frozen-encoder fast path: while the encoder does not train, its embeddings cannot change, so
they are computed once (encoder in eval mode, as on the slow path) and reused across epochs;
only the heads run per step. Batch order and dropout draws are the same on both paths, so the
results agree to float tolerance.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from multitask.config import TASKS, Scenario, Train
from multitask.model.device import autocast_dtype
from multitask.model.network import MultiTaskSentenceTransformer, pad_batch
from multitask.training.distributed import rank_and_world, shard, sum_gradients, sum_scalars
from multitask.training.evaluation import label_indices, split_metrics
from multitask.training.scenarios import (
    apply_phase,
    count_parameters,
    encoder_trains,
    parameter_groups,
)

log = logging.getLogger(__name__)


@dataclass
class Encoded:
    """A table, tokenised once: token ids per row and label indices per task."""

    ids: list[list[int]]
    targets: dict[str, torch.Tensor]

    @classmethod
    def from_table(cls, model: MultiTaskSentenceTransformer, df: pd.DataFrame) -> Encoded:
        ids = model.tokenize_ids(df["text"].tolist())
        targets = {
            t: torch.as_tensor(label_indices(df[t].tolist(), model.labels[t])) for t in TASKS
        }
        return cls(ids, targets)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class BestEpoch:
    """The best epoch so far: its score, index, metrics row and a snapshot of the parameters
    that have been trainable so far (the rest still hold their initial values)."""

    score: float
    epoch: int
    row: dict[str, float]
    weights: dict[str, torch.Tensor]


@dataclass
class TrainResult:
    history: list[dict[str, float]]
    best_epoch: int
    best_metrics: dict[str, float]
    seconds: float
    param_counts: dict[str, int] = field(default_factory=dict)
    # The starting model's validation figures (`init/acc_topic`, ...): "before" to the "after"
    # of best_metrics. For a scenario from scratch, the untrained model (random heads).
    init_metrics: dict[str, float] = field(default_factory=dict)


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[list[int]]:
    """Shuffle, sort by length inside pools of `pool` batches, cut batches, shuffle their order."""
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    batches: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, len(perm), span):
        chunk = sorted(perm[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def warmup_linear(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    warmup = max(1, math.ceil(total_steps * warmup_ratio)) if warmup_ratio > 0 else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def _task_loss(
    logits: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    weights: dict[str, float],
    denom: int,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of per-task cross-entropy SUMS over `denom` rows (the global batch size),
    so per-rank losses add up to the whole batch's mean; also each task's summed CE."""
    parts = {t: nn.functional.cross_entropy(logits[t], targets[t], reduction="sum") for t in TASKS}
    total = sum(weights[t] * parts[t] for t in TASKS) / denom
    return total, {t: float(v.detach()) for t, v in parts.items()}


def _evaluate(
    model: MultiTaskSentenceTransformer, emb: torch.Tensor, data: Encoded, weights: dict[str, float]
) -> dict[str, float]:
    """Validation loss and metrics from embeddings (the heads run in eval mode: no dropout)."""
    model.eval()
    device = model.device
    with torch.inference_mode():
        emb = emb.to(device)
        logits = {t: head(emb) for t, head in model.heads.items()}
        targets = {t: v.to(device) for t, v in data.targets.items()}
        loss, parts = _task_loss(logits, targets, weights, len(data))
    preds = {t: logits[t].argmax(1).cpu().numpy() for t in TASKS}
    truth = {t: data.targets[t].numpy() for t in TASKS}
    metrics, _ = split_metrics("val", truth, preds, model.labels)
    metrics["val/loss"] = float(loss)
    metrics.update({f"val/loss_{t}": v / len(data) for t, v in parts.items()})
    return metrics


def fit(
    model: MultiTaskSentenceTransformer,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    cfg: Train,
    scenario: Scenario,
    *,
    use_cache: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train `model` in place under `scenario`; the best epoch (by cfg.select_metric) is kept."""
    torch.manual_seed(cfg.seed)
    _, world = rank_and_world()
    device = model.device  # the caller places the model (CUDA when present, else CPU)
    started = time.perf_counter()
    train, val = Encoded.from_table(model, train_df), Encoded.from_table(model, val_df)
    lengths = [len(x) for x in train.ids]
    groups = parameter_groups(model, cfg, scenario)
    phases = [scenario.phase_at(e) for e in range(cfg.epochs)]
    trains_any = [bool(apply_phase(model, groups, p)) for p in phases]
    # A scenario where nothing ever trains is evaluated once, not `epochs` times.
    epochs = cfg.epochs if any(trains_any) else 1
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)  # (upper bound: tiny tail skipped)
    total_steps = max(1, steps_per_epoch * sum(trains_any))

    optimizer = torch.optim.AdamW(
        [{"params": g.params, "lr": g.lr, "name": g.name} for g in groups],
        weight_decay=cfg.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_linear(total_steps, cfg.warmup_ratio)
    )
    weights = cfg.loss_weights_for(scenario)
    amp = autocast_dtype(device, cfg.mixed_precision)  # bf16 on a capable GPU, else None
    cache: dict[str, torch.Tensor] = {}  # embeddings valid while the encoder is unchanged
    # Before anything trains: the starting model's validation figures (and, while the encoder
    # stays frozen, its validation embeddings are those of every epoch).
    cache["val"] = model.embed_ids(val.ids, batch_size=128)
    init_metrics = {
        k.replace("val/", "init/", 1): v
        for k, v in _evaluate(model, cache["val"], val, weights).items()
        if k.startswith(("val/acc_", "val/f1_"))
    }
    if not use_cache:
        cache.clear()
    history: list[dict[str, float]] = []
    best: BestEpoch | None = None
    # The best epoch's snapshot holds only parameters that have been trainable so far (the rest
    # still have their initial values); one unfrozen after the best epoch is added, unchanged,
    # just before it first trains, so restoring the snapshot restores the whole model.
    touched: set[str] = set()
    param_counts: dict[str, int] = {}

    for epoch in range(epochs):
        t0 = time.perf_counter()
        trainable = apply_phase(model, groups, phases[epoch])
        for name, param in model.named_parameters():
            if param.requires_grad and name not in touched:
                touched.add(name)
                if best is not None:
                    best.weights[name] = param.detach().clone()
        counts = count_parameters(model)
        # Report the most the scenario ever trains (gradual unfreezing grows over epochs).
        if counts["params_trainable"] >= param_counts.get("params_trainable", -1):
            param_counts = counts
        if epoch == 0 or phases[epoch] != phases[epoch - 1]:
            log.info("epoch %d trains: %s", epoch, ", ".join(sorted(trainable)) or "nothing")
        enc_trains = encoder_trains(trainable)
        fast = use_cache and not enc_trains
        gen = torch.Generator().manual_seed(cfg.seed + epoch)
        batches = length_bucketed_batches(lengths, cfg.batch_size, gen) if trainable else []
        # Every rank sees the same batches; a batch too small to give each rank a row is skipped.
        batches = [b for b in batches if len(b) >= world]
        if fast and batches and "train" not in cache:
            cache["train"] = model.embed_ids(train.ids, batch_size=128)
        sums = {"loss": 0.0, **{t: 0.0 for t in TASKS}}
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=None)
        model.train()
        model.encoder.train(enc_trains)  # a frozen encoder runs as in inference: no dropout
        pad_id = model.tokenizer.pad_token_id or 0
        for idx in bar:
            local = shard(idx)
            targets = {t: train.targets[t][local].to(device) for t in TASKS}
            with torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext():
                if fast:
                    emb = cache["train"][local].to(device)
                else:
                    input_ids, mask = pad_batch([train.ids[i] for i in local], pad_id)
                    with torch.set_grad_enabled(enc_trains):
                        emb = model.embed(input_ids.to(device), mask.to(device))
                logits = {t: v.float() for t, v in model.classify(emb).items()}
            loss, parts = _task_loss(logits, targets, weights, len(idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            sum_gradients(model.parameters())
            nn.utils.clip_grad_norm_(
                [p for p in model.parameters() if p.grad is not None], cfg.grad_clip
            )
            optimizer.step()
            schedule.step()
            sums["loss"] += float(loss.detach()) * len(idx)
            for t in TASKS:
                sums[t] += parts[t]
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        if enc_trains:
            cache.clear()
        if "val" not in cache:
            val_emb = model.embed_ids(val.ids, batch_size=128)
            if not enc_trains and use_cache:
                cache["val"] = val_emb
        else:
            val_emb = cache["val"]
        sums = dict(zip(sums, sum_scalars(list(sums.values())), strict=True))
        n = sum(len(b) for b in batches) if batches else float("nan")
        row: dict[str, float] = {
            "epoch": float(epoch),
            "train/loss": sums["loss"] / n,
            **{f"train/loss_{t}": sums[t] / n for t in TASKS},
            **_evaluate(model, val_emb, val, weights),
            "train/epoch_seconds": time.perf_counter() - t0,
            "train/elapsed_seconds": time.perf_counter() - started,
        }
        history.append(row)
        log.info(
            "epoch %d/%d: train loss %.4f, val acc topic %.3f sentiment %.3f (%.1fs)",
            epoch + 1, epochs, row["train/loss"], row["val/acc_topic"],
            row["val/acc_sentiment"], row["train/epoch_seconds"],
        )  # fmt: skip
        if on_epoch is not None:
            on_epoch(epoch, row)
        score = row[cfg.select_metric]
        if best is None or score > best.score:
            params = dict(model.named_parameters())
            snapshot = {n: params[n].detach().clone() for n in touched}
            best = BestEpoch(score, epoch, row, snapshot)

    assert best is not None
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in best.weights:
                param.copy_(best.weights[name])
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    return TrainResult(
        history=history,
        best_epoch=best.epoch,
        best_metrics=best.row,
        seconds=time.perf_counter() - started,
        param_counts=param_counts,
        init_metrics=init_metrics,
    )


def history_frame(history: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(history).replace({np.inf: np.nan})
