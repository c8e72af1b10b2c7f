#!/usr/bin/env bash
# GPU check, for a host with CUDA: the `gpu` tests (training, evaluation and prediction on the
# GPU; 1 vs 2 data-parallel ranks where two GPUs exist), then training samples/s on the GPU
# against the same run on the CPU. The project's venv carries a CPU build of torch: on a CUDA
# host install a CUDA build first (e.g. `.venv/bin/pip install torch==2.14.1`).
#   bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export HF_HUB_OFFLINE=1
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device (or a CPU-only torch)"
print("torch", torch.__version__, "on", torch.cuda.device_count(), "x", torch.cuda.get_device_name(0))'
"$PY" -m pytest -m gpu -rs -q -p no:cacheprovider tests/test_gpu.py tests/test_device.py
"$PY" -m harness.gpu_throughput "$@"
