"""Model versions registered before the package moved into rooms still load.

A registered version carries its own code (`code_paths`): the pyfunc "model from code" file and
the flat `multitask` package of its day. This test logs and registers a tiny model with the code
of the last commit before the move (taken from git history), then, in a clean process with
today's package installed, loads it as a pyfunc and predicts, and `multitask predict` (today's
CLI, which loads the version's safetensors folder with today's model class) answers too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

FLAT_COMMIT = "22ddc59"  # the last commit with the flat src/multitask/*.py layout
NAME = "compat-model"

LOG_WITH_OLD_CODE = """
import json, sys
from pathlib import Path
from multitask import tracking
from multitask.model import MultiTaskSentenceTransformer
import mlflow

work, backbone, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
labels = {"topic": ["business", "health", "sports", "technology"],
          "sentiment": ["negative", "neutral", "positive"]}
model = MultiTaskSentenceTransformer.from_backbone(backbone, labels, max_length=16, seed=0)
model.save(work / "model")
tracking.connect(work)
tracking.ensure_experiment("compat", work)
with tracking.run_scope(run_name="old") as run:
    uri = tracking.log_pyfunc_model(model, work / "model", ["hello world", "the match"])
version = mlflow.register_model(uri, name).version
print(json.dumps({"version": int(version), "run_id": run.info.run_id}))
"""

LOAD_AS_PYFUNC = """
import sys
import mlflow
import pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(f"models:/{sys.argv[2]}/1")
out = model.predict(pd.DataFrame({"text": ["The striker scored twice", "Shares fell"]}))
assert list(out["topic"].unique()) and len(out) == 2, out
assert {"topic", "sentiment", "topic_prob_sports"} <= set(out.columns), out.columns
print("pyfunc ok")
"""


def _flat_source(dst: Path) -> Path:
    """src/ of FLAT_COMMIT, from git history (CI clones the whole history)."""
    archive = dst / "flat.tar"
    with archive.open("wb") as fh:
        subprocess.run(
            ["git", "archive", FLAT_COMMIT, "src/multitask"], cwd=ROOT, stdout=fh, check=True
        )
    with tarfile.open(archive) as tar:
        tar.extractall(dst, filter="data")
    return dst / "src"


def _env(pythonpath: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PYTHONPATH=str(pythonpath), HF_HUB_OFFLINE="1")
    return env


def test_versions_registered_by_the_flat_layout_still_load(tmp_path, tiny_backbone):
    old_src = _flat_source(tmp_path)
    assert (old_src / "multitask" / "tracking.py").is_file()  # really the old layout
    work = tmp_path / "project"
    work.mkdir()
    logged = subprocess.run(
        [sys.executable, "-c", LOG_WITH_OLD_CODE, str(work), str(tiny_backbone), NAME],
        cwd=work, env=_env(old_src), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert logged.returncode == 0, logged.stderr[-3000:]
    assert json.loads(logged.stdout.strip().splitlines()[-1])["version"] == 1

    uri = f"sqlite:///{work / 'mlflow.db'}"
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_AS_PYFUNC, uri, NAME],
        cwd=tmp_path, env=_env(ROOT / "src"), capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "pyfunc ok" in loaded.stdout

    predicted = subprocess.run(
        [sys.executable, "-m", "multitask.cli", "predict", "--jsonl", "--model",
         f"models:/{NAME}/1", "The striker scored twice"],
        cwd=work, env={**_env(ROOT / "src"), "MLFLOW_TRACKING_URI": uri},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    result = json.loads(predicted.stdout.strip().splitlines()[-1])
    assert result["topic"]["label"] in {"business", "health", "sports", "technology"}
