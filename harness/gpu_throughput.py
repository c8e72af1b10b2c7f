"""Training throughput on the GPU against the same run on the CPU (scripts/gpu_check.sh).

One epoch of `full_finetune` on the real backbone, the same rows, batches and seed on each
device; prints samples/s per device and the ratio. CUDA with bf16 autocast where supported.
"""

from __future__ import annotations

import argparse
import time

import torch


def samples_per_second(device: str, rows: int, mixed_precision: bool) -> float:
    from multitask.config import load_params
    from multitask.data.splitting import load_source, stratified_split
    from multitask.model.network import MultiTaskSentenceTransformer
    from multitask.training.loop import fit

    params = load_params("params.yaml")
    gen = params.generate.model_copy(update={"rows": rows})
    table = stratified_split(load_source(gen, params.labels), gen)
    train, val = table[table.split == "train"], table[table.split == "val"]
    cfg = params.train.model_copy(update={"epochs": 1, "mixed_precision": mixed_precision})
    model = MultiTaskSentenceTransformer.from_backbone("default", params.labels.as_dict(), seed=0)
    model = model.to(device)
    started = time.perf_counter()
    fit(model, train, val, cfg, params.train.scenario("full_finetune"))
    if device == "cuda":
        torch.cuda.synchronize()
    return len(train) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600, help="generated rows (70%% train)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device (or a CPU-only torch build): nothing to compare")
        return 1
    gpu = samples_per_second("cuda", args.rows, mixed_precision=True)
    cpu = samples_per_second("cpu", args.rows, mixed_precision=False)
    print(f"full_finetune, 1 epoch, {args.rows} rows: GPU {gpu:.1f} samples/s "
          f"({torch.cuda.get_device_name(0)}, bf16), CPU {cpu:.1f} samples/s, "
          f"ratio {gpu / cpu:.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
