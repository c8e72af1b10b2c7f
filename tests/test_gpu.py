"""On a CUDA host: training, evaluation and prediction run on the GPU, and 2 data-parallel
ranks (NCCL, one GPU each) reach the weights of 1. Skipped, with that reason, without CUDA.
`scripts/gpu_check.sh` runs these and compares samples/s with the same run on the CPU."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from tests.test_distributed import FIT

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this host"),
]


def test_one_epoch_of_full_finetune_evaluate_and_predict_on_the_gpu(params, small_table):
    from multitask.model.network import MultiTaskSentenceTransformer
    from multitask.training.evaluation import evaluate_table
    from multitask.training.loop import fit

    labels = params.labels.as_dict()
    model = MultiTaskSentenceTransformer.from_backbone("default", labels, seed=0).to("cuda")
    cfg = params.train.model_copy(update={"epochs": 1, "mixed_precision": True})
    train, val = small_table[small_table.split == "train"], small_table[small_table.split == "val"]
    result = fit(model, train, val, cfg, params.train.scenario("full_finetune"))
    assert model.device.type == "cuda" and result.history[0]["train/loss"] > 0
    metrics, _, _ = evaluate_table(model, val, "val")
    assert metrics["val/acc_topic"] > 0.5  # one epoch on the real backbone learns the topics
    assert model.predict(["The striker scored twice"])[0]["topic"]["label"] in labels["topic"]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")
def test_two_gpu_ranks_match_one(tmp_path, tiny_backbone):
    from safetensors.torch import load_file

    from tests.conftest import ROOT

    script = tmp_path / "fit.py"
    script.write_text(FIT)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    for n in (1, 2):
        out = tmp_path / f"w{n}.safetensors"
        subprocess.run(
            [*torchrun, f"--nproc_per_node={n}", str(script), str(tiny_backbone),
             str(ROOT / "params.yaml"), str(out)],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    one, two = load_file(tmp_path / "w1.safetensors"), load_file(tmp_path / "w2.safetensors")
    for key in one:
        torch.testing.assert_close(one[key], two[key], atol=1e-4, rtol=1e-3, msg=key)
