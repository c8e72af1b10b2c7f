"""The serving image: its size and how soon a container answers /readyz, with the default model.

The model (all-MiniLM-L6-v2 with fresh heads; the tiny random backbone with --quick) is made into
the default backend's bento as the package stage does (ONNX export, int8 quantization; the
accuracy gate is not applied to untrained heads) and exported to a .bento file; then
scripts/docker/smoke.sh builds the image from it (the ONNX image: no torch), runs it with
``--network host`` on 127.0.0.1 and checks it, and its log gives the two figures: the image size
(``docker image inspect``) and the seconds from ``docker run`` to the first 200 from /readyz.
The image is removed afterwards. Needs a Docker engine (smoke.sh starts a bridge-less dockerd
when it can, as root); without one the rows say so instead of a figure.

Targets: image <= 450 MB, ready <= 3 s.

    .venv/bin/python benchmarks/bench_image.py [--quick]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, Row, backbone_path, bench_main, labels, log

IMAGE = "multitask:bench"


def build_bento(quick: bool, tmp: Path) -> Path:
    """dist/multitask.bento (+ bento.json naming its backend) of the benchmark model, onnx-int8."""
    from harness.local_server import build_in_store
    from multitask.config import load_params
    from multitask.model.network import MultiTaskSentenceTransformer
    from multitask.model.onnx_export import export_onnx, quantize_folder
    from multitask.records import ModelVersion, PackagedModel
    from multitask.serving.bento_store import export_bento

    model = MultiTaskSentenceTransformer.from_backbone(
        backbone_path(quick, tmp), labels(), max_length=128
    ).eval()
    export_onnx(model, tmp / "fp32", source_digest="benchmark")
    quantize_folder(tmp / "fp32", tmp / "int8", model)
    packaged = PackagedModel(
        registered=ModelVersion(name="benchmark", version=0, run_id="-", scenario="untrained"),
        labels=model.labels, dim=model.dim, max_length=model.max_length, backend="onnx-int8",
    )  # fmt: skip
    serve = load_params(ROOT / "params.yaml").serve.model_copy(update={"backend": "onnx-int8"})
    home = tmp / "bentoml_home"
    _, tag = build_in_store(tmp / "int8", home, ROOT, packaged, serve)
    bento = export_bento(tag, tmp / "dist" / "multitask.bento", home=home)
    (bento.parent / "bento.json").write_text(json.dumps({"backend": "onnx-int8"}))
    return bento


def run(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp_name:
        bento = build_bento(quick, Path(tmp_name))
        env = {**os.environ, "IMAGE": IMAGE, "BACKEND": "onnx"}
        log(f"image: scripts/docker/smoke.sh {bento} ({bento.stat().st_size / 1e6:.0f} MB)")
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / "docker" / "smoke.sh"), str(bento)],
            env=env, capture_output=True, text=True, timeout=1500, check=False,
        )  # fmt: skip
    out = proc.stdout + proc.stderr
    subprocess.run(["docker", "rmi", "-f", IMAGE], capture_output=True, check=False, timeout=120)
    size = re.search(r"image size (\d+) MB", out)
    ready = re.search(r"ready after ([\d.]+) s \(docker run", out)
    if proc.returncode != 0 or not size or not ready:
        tail = "\n".join(line for line in out.splitlines() if "WARNING: Location" not in line)
        if "engine" in tail and ("error" in tail or "cannot" in tail) and not size:
            why = "not measured: no Docker engine could be started here"
            log(f"image: {why}\n{tail[-1500:]}")
            return [
                Row("serving image size, onnx-int8 (MB)", float("nan"), None, "MB", note=why),
                Row("container ready: docker run to /readyz (s)", float("nan"), None, "s"),
            ]
        raise RuntimeError(f"smoke.sh failed (exit {proc.returncode}):\n{tail[-3000:]}")
    log("image: " + " | ".join(re.findall(r"\[smoke [^\]]*\] ([^\n]*)", out)))
    model_mb = bento.stat().st_size / 1e6 if bento.exists() else float("nan")
    return [
        Row(
            "serving image size, onnx-int8 (MB)",
            float(size.group(1)),
            None,
            "MB",
            "<= 450 MB",
            note=(
                "`docker image inspect` size of the image scripts/docker/smoke.sh builds "
                "(Debian bookworm-slim, python3, the ONNX Runtime venv: no torch) around a bento "
                f"of all-MiniLM-L6-v2 quantized to int8 ({model_mb:.0f} MB exported); the "
                "smoke test passed (GET /model, /predict, no torch loaded)."
            ),
        ),
        Row(
            "container ready: docker run to /readyz (s)",
            float(ready.group(1)),
            None,
            "s",
            "<= 3 s",
            note="`docker run --network host` to the first 200 from /readyz, polled every 0.1 s.",
        ),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__)
