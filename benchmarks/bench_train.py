"""Training speed: `multitask.training.fit` against plain loops on the same model, data and batch.

1. full_finetune: samples/s of `fit` (one epoch, everything it does: tokenising, length-bucketed
   batches, warm-up schedule, clipping, the validation pass, keeping the best state) against a
   plain reference loop: shuffled batches tokenised with padding, forward, the two
   cross-entropies, backward, AdamW step; nothing else. Target >= 0.9 x.
2. frozen_backbone: wall time of `fit(use_cache=False)` (re-encodes every epoch) over that of
   `fit(use_cache=True)` (embeds once), 3 epochs; both must give the same heads (assert close).
   Target >= 10 x.

Data: the pipeline's own synthetic rows (params.yaml `generate`, fewer rows), split like the
pipeline does. Every repeat starts from a freshly loaded model with the same seed.

    .venv/bin/python benchmarks/bench_train.py [--quick]
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    Row,
    backbone_path,
    bench_main,
    interleaved,
    log,
    median,
    paired_ratio,
    timed,
)


def load_data(n_train: int, n_val: int) -> tuple[Any, Any]:
    """(train, val) frames from the pipeline's generator and split, cut to the sizes asked."""
    from multitask.config import load_params
    from multitask.data.splitting import load_source, stratified_split

    params = load_params(ROOT / "params.yaml")
    splits = params.generate.splits
    rows = math.ceil(max(n_train / splits.train, n_val / splits.val))
    cfg = params.generate.model_copy(update={"rows": rows + 30})
    df = stratified_split(load_source(cfg, params.labels), cfg)
    train = df[df["split"] == "train"].head(n_train).reset_index(drop=True)
    val = df[df["split"] == "val"].head(n_val).reset_index(drop=True)
    return train, val


def fresh_model(path: str) -> Any:
    from multitask.config import load_params
    from multitask.model.network import MultiTaskSentenceTransformer

    params = load_params(ROOT / "params.yaml")
    return MultiTaskSentenceTransformer.from_backbone(
        path,
        params.labels.as_dict(),
        max_length=params.model.max_length,
        dropout=params.model.dropout,
        seed=params.train.seed,
    )


def reference_loop(model: Any, df: Any, batch_size: int, cfg: Any) -> None:
    """The plain loop: shuffled batches, padded per batch, forward/backward/AdamW. No extras."""
    import torch
    from torch import nn

    from multitask.config import TASKS

    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": cfg.lr_encoder},
            {"params": model.heads.parameters(), "lr": cfg.lr_head},
        ],
        weight_decay=cfg.weight_decay,
    )
    texts = df["text"].tolist()
    targets = {
        t: torch.tensor([model.labels[t].index(v) for v in df[t]], dtype=torch.long) for t in TASKS
    }
    model.train()
    perm = torch.randperm(len(texts)).tolist()
    for start in range(0, len(perm), batch_size):
        idx = perm[start : start + batch_size]
        enc = model.tokenizer(
            [texts[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=model.max_length,
            return_tensors="pt",
        )
        logits = model(enc["input_ids"], enc["attention_mask"])
        loss = sum(nn.functional.cross_entropy(logits[t], targets[t][idx]) for t in TASKS)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def run(quick: bool) -> list[Row]:
    import torch

    from multitask.config import load_params
    from multitask.training.loop import fit

    n_train, n_val = (96, 32) if quick else (320, 64)
    repeats = 2 if quick else 3
    params = load_params(ROOT / "params.yaml")
    train_df, val_df = load_data(n_train, n_val)
    bs = params.train.batch_size
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        path = backbone_path(quick, Path(tmp))
        log(f"train: {len(train_df)} train / {len(val_df)} val rows, batch {bs}, {path}")

        # -- full fine-tuning: fit vs the plain loop, one epoch each -------------------------
        cfg1 = params.train.model_copy(update={"epochs": 1})
        full = cfg1.scenario("full_finetune")
        reference_loop(fresh_model(path), train_df.head(2 * bs), bs, cfg1)  # warm-up

        def ours_full() -> float:
            model = fresh_model(path)
            return len(train_df) / timed(lambda: fit(model, train_df, val_df, cfg1, full))

        def plain_full() -> float:
            model = fresh_model(path)
            return len(train_df) / timed(lambda: reference_loop(model, train_df, bs, cfg1))

        res = interleaved({"fit": ours_full, "plain": plain_full}, repeats, warmup=False)
        log(f"full_finetune samples/s: fit {res['fit']}, plain {res['plain']}")
        rows.append(
            Row(
                "train full_finetune (samples/s)",
                median(res["fit"]),
                median(res["plain"]),
                "/s",
                ">= 0.9 x",
                ratio=paired_ratio(res["fit"], res["plain"]),
                note=(
                    f"one epoch over {len(train_df)} rows, batch {bs}; fit's time includes "
                    f"tokenising, its validation pass over {len(val_df)} rows and keeping the "
                    "best state."
                ),
                extra={"ours_all": res["fit"], "baseline_all": res["plain"]},
            )
        )

        # -- frozen backbone: embedding cache vs re-encoding every epoch ---------------------
        cfg3 = params.train.model_copy(update={"epochs": 3})
        frozen = cfg3.scenario("frozen_backbone")
        heads: dict[bool, dict[str, torch.Tensor]] = {}
        hist: dict[bool, list[list[dict[str, float]]]] = {True: [], False: []}

        def frozen_fit(use_cache: bool) -> float:
            model = fresh_model(path)
            result: list[Any] = []
            seconds = timed(
                lambda: result.append(
                    fit(model, train_df, val_df, cfg3, frozen, use_cache=use_cache)
                )
            )
            heads[use_cache] = {k: v.clone() for k, v in model.heads.state_dict().items()}
            hist[use_cache].append(result[0].history)
            return seconds

        res = interleaved(
            {"cached": lambda: frozen_fit(True), "uncached": lambda: frozen_fit(False)},
            repeats,
            warmup=False,
        )
        for k in heads[True]:
            torch.testing.assert_close(heads[True][k], heads[False][k], atol=1e-5, rtol=1e-4)
        cached, uncached = median(res["cached"]), median(res["uncached"])
        # Where the time goes: epoch 1 of the cached run embeds once; later epochs run heads only.
        secs = {
            k: [[h["train/epoch_seconds"] for h in run] for run in runs] for k, runs in hist.items()
        }
        first = median([run[0] for run in secs[True]])
        head_epoch = median([s for run in secs[True] for s in run[1:]])
        slow_epoch = median([s for run in secs[False] for s in run])
        ceiling = slow_epoch / max(head_epoch, 1e-9)
        need = (
            math.ceil(10 * (first - head_epoch) / (slow_epoch - 10 * head_epoch))
            if slow_epoch > 10 * head_epoch
            else None
        )
        log(
            f"frozen_backbone seconds: cached {res['cached']}, uncached {res['uncached']}; "
            f"epoch seconds cached {secs[True]}, uncached {secs[False]}"
        )
        rows.append(
            Row(
                "train frozen_backbone cache, 3 epochs (s)",
                cached,
                uncached,
                "s",
                ">= 10 x",
                ratio=paired_ratio(res["uncached"], res["cached"]),
                note=(
                    "ratio = re-encoding (use_cache=False) time / cached time; same heads "
                    "(assert_close atol 1e-5). Cached epoch 1 (embeds once) "
                    f"{first:.2f} s, later epochs {head_epoch:.3f} s; re-encoding epochs "
                    f"{slow_epoch:.2f} s. With E epochs the speedup is about "
                    f"E x {slow_epoch:.2f} / ({first:.2f} + (E-1) x {head_epoch:.3f}): "
                    f"about {3 * slow_epoch / (first + 2 * head_epoch):.1f}x at 3 epochs, "
                    f"and never above 3 x {slow_epoch:.2f} / {first:.2f} = "
                    f"{3 * slow_epoch / first:.1f}x however cheap the head step (the cached "
                    f"run still embeds once); tending to {ceiling:.0f}x; 10x needs "
                    + (f"E >= {need} epochs." if need else "a cheaper head step.")
                ),
                extra={
                    "ours_all": res["cached"],
                    "baseline_all": res["uncached"],
                    "cached_epoch_seconds": secs[True],
                    "uncached_epoch_seconds": secs[False],
                },
            )
        )
        rows.append(
            Row(
                "train frozen_backbone, epoch after the first (s)",
                head_epoch,
                slow_epoch,
                "s",
                ratio=ceiling,
                note=(
                    "ratio = re-encoding epoch / cached epoch: the steady state of the same "
                    "runs (a cached epoch runs the heads only); median over epochs and repeats."
                ),
            )
        )
    return rows


if __name__ == "__main__":
    bench_main(run, __doc__)
