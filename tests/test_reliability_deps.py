"""Broken dependencies fail fast, once, with a message naming what is broken (no traceback).

- the MLflow tracking store: a closed loopback port (train stage, CLI), credentials in the URI
  (never echoed), a store without the champion alias or version asked for;
- the model folder: missing encoder config, tokenizer, weights or heads, an encoder config or
  metadata file that was edited: ModelLoadError naming the file, never a silently different
  model. (Truncated encoder weights, altered heads, a missing tokenizer_config.json and another
  label set are covered in tests/test_model.py.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from multitask.config import load_params
from multitask.data.tables import COLUMNS, SPLITS, write_table
from multitask.errors import ModelLoadError
from multitask.model.network import MultiTaskSentenceTransformer
from tests.conftest import ROOT

# "Fails fast": about 30 s on top of the interpreter's own start-up (imports alone take 5-40 s
# on a busy 2-core runner), against minutes with MLflow's default HTTP retries.
DEADLINE_S = 30
TEXTS = ["The striker scored twice in the final.", "Shares fell after the earnings call."]


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "BENTOML_"))}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT / "src"), DVC_NO_ANALYTICS="1")
    env.update(extra)
    return env


def _run_all(cmds: list[list[str]], cwd: Path, env: dict[str, str]) -> list[tuple[int, str, float]]:
    """Run commands side by side (each mostly waits); (exit code, stderr, seconds) for each."""
    logs = [cwd / f".stderr-{i}.log" for i in range(len(cmds))]
    started = time.monotonic()
    procs = []
    for cmd, log in zip(cmds, logs, strict=True):
        with log.open("w") as fh:
            procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                          stderr=fh))  # fmt: skip
    done: dict[int, float] = {}
    while len(done) < len(procs) and time.monotonic() - started < DEADLINE_S * 6:
        for i, proc in enumerate(procs):
            if i not in done and proc.poll() is not None:
                done[i] = time.monotonic() - started
        time.sleep(0.05)
    out = []
    for i, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.append((proc.returncode, log.read_text(errors="replace"), done.get(i, float("inf"))))
        log.unlink()
    return out


def _assert_clean_failure(code: int, stderr: str, *needles: str) -> None:
    assert code == 1, stderr
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/val/test.csv with every class in every split (enough for read_splits)."""
    params = load_params(ROOT / "params.yaml")
    rows = [
        {"id": f"{s}-{t}-{m}", "text": f"A {m} remark on {t} ({s}).", "topic": t,
         "sentiment": m, "split": s}
        for s in SPLITS for t in params.labels.topic for m in params.labels.sentiment
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=COLUMNS)
    folder = tmp_path_factory.mktemp("data")
    for split in SPLITS:
        write_table(df[df["split"] == split], folder / f"{split}.csv")
    return folder


PREDICT = [sys.executable, "-m", "multitask.cli", "predict"]


def test_unreachable_tracking_server_fails_fast_naming_the_uri(data_dir, tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"

    def train(scenario: str) -> list[str]:
        return [sys.executable, str(ROOT / "pipeline/train.py"), "--params",
                str(ROOT / "params.yaml"), "--data", str(data_dir), "--scenario", scenario,
                "--model-dir", f"models/{scenario}",
                "--report-dir", f"reports/train/{scenario}"]  # fmt: skip

    # The baseline fails on its params right after the same imports, before touching MLflow.
    cmds = [train("full_finetune"), [*PREDICT, "x"], train("no_such_scenario")]
    *results, (code, stderr, startup) = _run_all(cmds, tmp_path, _env(MLFLOW_TRACKING_URI=uri))
    _assert_clean_failure(code, stderr, "no_such_scenario")
    for (code, stderr, seconds), what in zip(results, ("train", "predict"), strict=True):
        _assert_clean_failure(code, stderr, uri)
        assert "unreachable" in stderr, (what, stderr)
        waited = seconds - startup
        assert waited < DEADLINE_S, f"{what} took {waited:.0f}s (after start-up) to give up"
    # Nothing was started or written before the store answered.
    assert not (tmp_path / "models").exists() and not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "reports").exists()


def test_credentials_in_the_tracking_uri_are_never_printed(tmp_path):
    port = _closed_port()
    uri = f"http://alice:s3cr3t-token@127.0.0.1:{port}"
    [(code, stderr, _)] = _run_all([[*PREDICT, "x"]], tmp_path, _env(MLFLOW_TRACKING_URI=uri))
    _assert_clean_failure(code, stderr, f"127.0.0.1:{port}")
    assert "s3cr3t-token" not in stderr, stderr


@pytest.fixture(scope="module")
def store_without_champion(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A sqlite store with the experiment and one registered model without versions or aliases."""
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_experiment("multitask-sentence-transformer")
    client.create_registered_model("registered-but-empty")
    return uri, folder


def test_missing_champion_alias_or_version_is_reported(store_without_champion, tmp_path):
    uri, _ = store_without_champion
    name = load_params(ROOT / "params.yaml").register_.model_name
    cmds = [
        [*PREDICT, "--params", str(ROOT / "params.yaml"), "x"],  # the default: name@champion
        [*PREDICT, "--model", "models:/registered-but-empty/7", "x"],
    ]
    (c1, e1, _), (c2, e2, _) = _run_all(cmds, tmp_path, _env(MLFLOW_TRACKING_URI=uri))
    _assert_clean_failure(c1, e1, repr(name), "alias @champion", uri)
    _assert_clean_failure(c2, e2, "'registered-but-empty'", "version 7")


# -- the model folder ----------------------------------------------------------------------------
@pytest.fixture
def saved(tiny_model: MultiTaskSentenceTransformer, tmp_path: Path) -> Path:
    tiny_model.save(tmp_path / "m")
    return tmp_path / "m"


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "rel",
    ["encoder/config.json", "heads.safetensors", "encoder/model.safetensors",
     "encoder/tokenizer.json"],
)  # fmt: skip
def test_missing_file_is_named(saved, labels, rel):
    (saved / rel).unlink()
    with pytest.raises(ModelLoadError) as err:
        MultiTaskSentenceTransformer.load(saved, labels)
    assert rel.split("/")[-1] in str(err.value)


@pytest.mark.parametrize("layers", [1, 3])
def test_edited_encoder_config_is_refused(saved, labels, layers):
    """One layer fewer or more loads 'fine' in transformers: dropped or random weights."""
    _edit_json(saved / "encoder/config.json", num_hidden_layers=layers)
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        MultiTaskSentenceTransformer.load(saved, labels)


def test_edited_tokenizer_is_refused(saved, labels):
    path = saved / "encoder/tokenizer.json"
    data = json.loads(path.read_text())
    vocab = data["model"]["vocab"]
    vocab["striker"], vocab["shares"] = vocab["shares"], vocab["striker"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json"):
        MultiTaskSentenceTransformer.load(saved, labels)


@pytest.mark.parametrize(
    "changes",
    [
        {"max_length": None},
        {"max_length": "long"},
        {"dropout": "high"},
        {"dropout": 5},
        {"sha256": "deadbeef"},
        {"sha256": ["heads.safetensors"]},
    ],
    ids=["no-max_length", "max_length-str", "dropout-str", "dropout-5", "sha-str", "sha-list"],
)
def test_malformed_metadata_is_named(saved, labels, changes):
    _edit_json(saved / "multitask.json", **changes)
    with pytest.raises(ModelLoadError, match=r"multitask\.json"):
        MultiTaskSentenceTransformer.load(saved, labels)


def test_metadata_without_checksums_is_refused(saved, labels):
    """Dropping the checksum list must not switch verification off."""
    _edit_json(saved / "multitask.json", sha256=None)
    with pytest.raises(ModelLoadError, match=r"multitask\.json"):
        MultiTaskSentenceTransformer.load(saved, labels)


def test_heads_for_other_labels_name_the_heads_file(saved):
    """The metadata claims 5 topics; the heads file holds 4 rows: the heads file is named."""
    meta = json.loads((saved / "multitask.json").read_text())
    meta["labels"]["topic"] = [*meta["labels"]["topic"], "science"]
    (saved / "multitask.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"heads\.safetensors"):
        MultiTaskSentenceTransformer.load(saved)


def test_cli_with_a_broken_model_folder_says_which_file(saved, tmp_path):
    (saved / "heads.safetensors").write_bytes(b"\0" * 64)
    [(code, stderr, _)] = _run_all([[*PREDICT, "--model", str(saved), *TEXTS]], tmp_path, _env())
    _assert_clean_failure(code, stderr, "heads.safetensors")
