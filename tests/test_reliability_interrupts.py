"""Ctrl-C, SIGTERM and SIGKILL in the middle of a stage: nothing half-written, no ghost runs.

One tiny pipeline copy (one scenario, `full_finetune`, a few seconds of training) is taken up to
`validate`; then `pipeline/train.py` is interrupted mid-epoch:
- SIGINT (to the process group, as Ctrl-C does) and SIGTERM (to the process, as `kill` does):
  exit 130 promptly, no traceback, the MLflow run ends KILLED, the model folder is absent or
  whole, no temporary file is left;
- SIGKILL: the run stays RUNNING (nothing can run in the process); running the stage again
  completes and marks the orphan KILLED.
The package stage is interrupted the same way while it writes dist/; `dvc repro` then completes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import tiny_pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SCENARIO = "full_finetune"
EPOCHS = 20  # a tiny epoch takes ~0.1 s: enough of them that a signal lands mid-training
OVERRIDES = {
    "generate": {"rows": 480},
    "train": {
        "epochs": EPOCHS,
        "scenarios": {
            SCENARIO: {"phases": [{"epoch": 0, "heads": ["topic", "sentiment"],
                                   "encoder_layers": "all"}]},
        },
        "warm_scenarios": {},
    },
}  # fmt: skip
STARTUP_S = 180  # imports + MLflow store on a busy 2-core runner
EXIT_S = 20  # from the signal to the exit: "promptly"
OUTPUT_DIRS = ("data", "models", "reports", "dist")


def _run(cmd: list[str], work: Path, env: dict[str, str], timeout: float = 600):
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class Stage:
    """A stage script in its own process group, its output in a log file we can poll."""

    def __init__(self, cmd: list[str], work: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.fh = log.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=self.fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = STARTUP_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"never saw {pattern!r}; output:\n{self.text()}")

    def signal(self, sig: int, group: bool) -> float:
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        return time.monotonic()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            msg = f"still running {timeout}s after the signal:\n{self.text()}"
            raise AssertionError(msg) from None
        finally:
            self.fh.close()

    def assert_group_gone(self, grace: float = 5.0) -> None:
        """No child (e.g. a `bentoml` CLI) outlives the stage in its process group."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.killpg(self.proc.pid, signal.SIGKILL)
        raise AssertionError("a child process outlived the interrupted stage")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A tiny pipeline copy with data generated and validated; (work, env)."""
    work = tmp_path_factory.mktemp("interrupts") / "repo"
    env = tiny_pipeline.prepare(work, OVERRIDES)
    _run(["dvc", "repro", "validate"], work, env)
    return work, env


def _client(work: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{work / 'mlflow.db'}")


def _leftovers(work: Path) -> list[str]:
    """Temporary or half-replaced files and folders among the pipeline's outputs."""
    found = []
    for top in OUTPUT_DIRS:
        for path in (work / top).rglob("*"):
            if ".tmp" in path.name or path.name.endswith(".old"):
                found.append(str(path.relative_to(work)))
    return sorted(found)


def _assert_model_absent_or_whole(work: Path) -> None:
    folder = work / "models" / SCENARIO
    if not folder.exists():
        return
    run = json.loads((folder / "run.json").read_text())
    assert run["scenario"] == SCENARIO
    from multitask.model.network import MultiTaskSentenceTransformer

    MultiTaskSentenceTransformer.load(folder / "model")  # checksums and all
    report = work / "reports" / "train" / SCENARIO
    assert (report / "history.csv").is_file() and (report / "curves.png").is_file()


def _start_train(work: Path, env: dict[str, str], log: Path) -> tuple[Stage, str]:
    """Start the train stage; return once its first epoch has ended, with its MLflow run id.

    Waiting for a log line, not sleeping: training got fast enough that a fixed sleep let all
    epochs finish, and the signal then landed while outputs were being written.
    """
    stage = Stage(tiny_pipeline.stage_command(work, f"train@{SCENARIO}"), work, env, log)
    run_id = stage.wait_for(r"MLflow run ([0-9a-f]{32})").group(1)
    stage.wait_for(rf"epoch 1/{EPOCHS}:")
    return stage, run_id


@pytest.mark.parametrize(("sig", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_interrupt_mid_epoch_ends_cleanly(pipeline, tmp_path, sig, group):
    work, env = pipeline
    stage, run_id = _start_train(work, env, tmp_path / "train.log")
    sent = stage.signal(sig, group)
    code = stage.wait(EXIT_S)
    took = time.monotonic() - sent
    out = stage.text()
    assert code == 130, out
    assert took < EXIT_S, f"took {took:.1f}s to stop"
    assert "interrupted" in out and "Traceback" not in out, out
    stage.assert_group_gone()

    client = _client(work)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED", run.info
    assert run.info.end_time is not None
    epochs_logged = len(client.get_metric_history(run_id, "val/acc_topic"))
    assert epochs_logged < EPOCHS, "the signal came after training had finished"
    assert not client.search_runs(
        [run.info.experiment_id], filter_string="attributes.status = 'RUNNING'"
    )
    _assert_model_absent_or_whole(work)
    assert _leftovers(work) == []


def test_sigkill_leaves_an_orphan_that_the_next_run_closes(pipeline, tmp_path):
    work, env = pipeline
    stage, orphan = _start_train(work, env, tmp_path / "train.log")
    stage.signal(signal.SIGKILL, group=True)
    assert stage.wait(EXIT_S) == -signal.SIGKILL
    client = _client(work)
    assert client.get_run(orphan).info.status == "RUNNING"  # nothing could end it
    _assert_model_absent_or_whole(work)
    assert _leftovers(work) == []

    proc = _run(["dvc", "repro", f"train@{SCENARIO}"], work, env)
    logs = proc.stdout + proc.stderr
    assert f"closing orphaned run {orphan}" in logs, logs
    killed = client.get_run(orphan)
    assert killed.info.status in ("KILLED", "FAILED") and killed.info.end_time is not None
    run = json.loads((work / "models" / SCENARIO / "run.json").read_text())
    assert run["run_id"] != orphan
    assert client.get_run(run["run_id"]).info.status == "FINISHED"
    _assert_model_absent_or_whole(work)
    assert (work / "models" / SCENARIO).is_dir()
    assert _leftovers(work) == []
    exp = killed.info.experiment_id
    assert not client.search_runs([exp], filter_string="attributes.status = 'RUNNING'")


def _assert_dist_whole(work: Path) -> None:
    dist = work / "dist"
    if not dist.exists():
        return
    names = sorted(p.name for p in dist.iterdir())
    assert names in ([], ["bento.json", "multitask.bento"]), names
    if names:
        from multitask.io import file_digest

        record = json.loads((dist / "bento.json").read_text())
        assert record["bento_sha256"] == file_digest(dist / "multitask.bento")


@pytest.mark.skipif(
    not (ROOT / "pipeline" / "package.py").is_file(), reason="no package stage in this tree"
)
def test_interrupted_package_then_repro_completes(pipeline, tmp_path):
    """Ctrl-C while `bentoml export` writes dist/ (its own process: the whole group gets it)."""
    work, env = pipeline
    _run(["dvc", "repro", "register"], work, env)
    stage = Stage(tiny_pipeline.stage_command(work, "package"), work, env, tmp_path / "package.log")
    stage.wait_for(r"built bento \S+")
    time.sleep(0.5)  # inside `bentoml export` (a CLI process: seconds to start)
    stage.signal(signal.SIGINT, group=True)
    code = stage.wait(EXIT_S)
    out = stage.text()
    assert code == 130, out
    assert "Traceback" not in out, out
    stage.assert_group_gone()
    assert _leftovers(work) == []
    _assert_dist_whole(work)

    _run(["dvc", "repro"], work, env)
    assert sorted(p.name for p in (work / "dist").iterdir()) == ["bento.json", "multitask.bento"]
    _assert_dist_whole(work)
    assert _leftovers(work) == []
    assert "up to date" in _run(["dvc", "status"], work, env).stdout
