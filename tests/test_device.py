"""One device choice for every stage: MULTITASK_DEVICE = auto | cpu | cuda, and the data-parallel
rank count must fit the GPUs of a CUDA host. (Unit tests; the GPU runs are tests/test_gpu.py.)"""

from __future__ import annotations

import pytest
import torch

from multitask.errors import ConfigError
from multitask.model import device


def test_cpu_is_chosen_without_cuda_or_when_asked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.pick_device() == torch.device("cpu")
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    assert device.pick_device() == torch.device("cpu")


def test_asking_for_cuda_without_it_is_a_config_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device"):
        device.pick_device("cuda")


def test_an_unknown_choice_names_the_variable(monkeypatch):
    monkeypatch.setenv(device.DEVICE_ENV, "tpu")
    with pytest.raises(ConfigError, match="MULTITASK_DEVICE='tpu'"):
        device.pick_device()


@pytest.mark.parametrize(("nproc", "gpus"), [(2, 1), (4, 2)])
def test_more_ranks_than_gpus_is_a_config_error_naming_both(monkeypatch, nproc, gpus):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    with pytest.raises(ConfigError) as err:
        device.check_ranks_fit(nproc)
    assert f"train.nproc={nproc}" in str(err.value) and f"{gpus} CUDA device" in str(err.value)
    device.check_ranks_fit(gpus)  # one rank per GPU is fine
    device.check_ranks_fit(nproc, "cpu")  # and so is the CPU (gloo), whatever the GPUs


def test_mixed_precision_only_on_a_gpu():
    assert device.autocast_dtype(torch.device("cpu"), True) is None
    assert device.autocast_dtype(torch.device("cpu"), False) is None
