"""Data-parallel training without a wrapper: shard each global batch, then average gradients.

Under ``torchrun`` every rank runs the same loop on the same global batch order; rank r takes
rows r, r+W, ... of each batch, and gradients are summed across ranks after backward (each rank's
loss is already divided by the GLOBAL batch size). So W processes compute exactly what one
process computes on the whole batch, which also works when scenarios switch ``requires_grad``
between epochs (DistributedDataParallel fixes the trainable set at construction). gloo on CPU,
NCCL when CUDA is present. Only rank 0 logs to MLflow and writes outputs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import torch
import torch.distributed as dist


def pick_device() -> torch.device:
    """CUDA (this rank's GPU under torchrun) when present, otherwise the CPU."""
    if torch.cuda.is_available():
        index = int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def launched_by_torchrun() -> bool:
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_from_env() -> None:
    """Join the process group torchrun describes (no-op when not under torchrun)."""
    if launched_by_torchrun() and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return rank_and_world()[0] == 0


def shard(batch: Sequence[int]) -> list[int]:
    """This rank's rows of a global batch."""
    rank, world = rank_and_world()
    return list(batch[rank::world])


def sum_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Sum each gradient over ranks (losses are pre-scaled by the global batch size)."""
    _, world = rank_and_world()
    if world == 1:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)


def sum_scalars(values: list[float]) -> list[float]:
    _, world = rank_and_world()
    if world == 1:
        return values
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces GPU tensors only
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
