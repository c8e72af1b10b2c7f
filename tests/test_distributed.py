"""Data-parallel training: 2 gloo processes under torchrun reach the weights of 1 process."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.integration

FIT = """
import sys
from safetensors.torch import save_file
from multitask.config import load_params
from multitask.data.splitting import stratified_split
from multitask.training.distributed import init_from_env, is_main, shutdown
from multitask.model.device import pick_device
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.data.synthetic.generator import generate_synthetic

backbone, params_path, out = sys.argv[1:4]
init_from_env()
params = load_params(params_path)
labels = params.labels.as_dict()
raw = generate_synthetic(240, 3, labels["topic"], labels["sentiment"])
table = stratified_split(raw, params.generate)
cfg = params.train.model_copy(update={"epochs": 1, "batch_size": 16, "lr_encoder": 1e-3})
model = MultiTaskSentenceTransformer.from_backbone(backbone, labels, dropout=0.0, seed=0)
model = model.to(pick_device())  # this rank's GPU on a CUDA host
from multitask.training.loop import fit
fit(model, table[table.split == "train"], table[table.split == "val"], cfg,
    params.train.scenario("full_finetune"))
if is_main():
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, out)
shutdown()
"""


def test_two_ranks_match_one_process(tmp_path):
    from harness.tiny import make_tiny_backbone
    from tests.conftest import ROOT

    backbone = make_tiny_backbone(tmp_path / "tiny", dropout=0.0)
    script = tmp_path / "fit.py"
    script.write_text(FIT)
    args = [str(script), str(backbone), str(ROOT / "params.yaml")]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    for n in (1, 2):
        subprocess.run(
            [*torchrun, f"--nproc_per_node={n}", *args, str(tmp_path / f"w{n}.safetensors")],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    one, two = load_file(tmp_path / "w1.safetensors"), load_file(tmp_path / "w2.safetensors")
    assert one.keys() == two.keys()
    changed = 0
    for key in one:
        torch.testing.assert_close(one[key], two[key], atol=1e-5, rtol=1e-4, msg=key)
    base = load_file(backbone / "model.safetensors")
    changed = sum(not torch.equal(one[f"encoder.{k}"], v) for k, v in base.items())
    assert changed > 0, "training must have moved the encoder"
