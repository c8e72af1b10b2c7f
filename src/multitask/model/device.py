"""Where the model runs: one device choice for every stage, the CLI, the pyfunc and serving.

``MULTITASK_DEVICE`` = ``auto`` (default: CUDA when present, else the CPU), ``cpu`` or ``cuda``.
It is an environment variable, not a DVC-tracked param: moving to another device must not
retrain six models. Under torchrun each rank takes the GPU of its LOCAL_RANK.
"""

from __future__ import annotations

import os

import torch

from multitask.errors import ConfigError

DEVICE_ENV = "MULTITASK_DEVICE"
CHOICES = ("auto", "cpu", "cuda")


def device_choice(choice: str | None = None) -> str:
    """The requested choice (argument, else MULTITASK_DEVICE, else auto), checked."""
    value = (choice or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if value not in CHOICES:
        raise ConfigError(f"{DEVICE_ENV}={value!r}: must be one of {', '.join(CHOICES)}")
    return value


def pick_device(choice: str | None = None) -> torch.device:
    """The device to use: this rank's GPU when CUDA is chosen or available, else the CPU."""
    value = device_choice(choice)
    if value == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        if value == "cuda":
            raise ConfigError(f"{DEVICE_ENV}=cuda, but no CUDA device is available")
        return torch.device("cpu")
    index = int(os.environ.get("LOCAL_RANK", 0))
    check_ranks_fit(index + 1)
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def check_ranks_fit(nproc: int, choice: str | None = None) -> None:
    """On a CUDA host, each of `nproc` data-parallel ranks needs a GPU of its own (NCCL refuses
    two ranks on one device); ConfigError naming both numbers otherwise."""
    if device_choice(choice) == "cpu" or not torch.cuda.is_available():
        return
    gpus = torch.cuda.device_count()
    if nproc > gpus:
        raise ConfigError(
            f"train.nproc={nproc} data-parallel ranks, but this host has {gpus} CUDA device(s): "
            f"set train.nproc <= {gpus}, or {DEVICE_ENV}=cpu"
        )


def autocast_dtype(device: torch.device, mixed_precision: bool) -> torch.dtype | None:
    """bf16 when mixed precision is asked for and the GPU supports it; None (fp32) otherwise,
    and always on the CPU."""
    if not mixed_precision or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
