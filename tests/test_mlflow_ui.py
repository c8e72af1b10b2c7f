"""Integration: the compare URL `make ui` prints opens the six scenarios side by side.

A child process logs one run per scenario of params.yaml (named after it, with a `val/acc_topic`
metric) through the project's own tracking code into a fresh sqlite store, and writes the
`models/<scenario>/run.json` records the train stage writes. A real `mlflow ui` serves that store
on a free 127.0.0.1 port; a real headless Chromium renders the URL that `multitask ui` prints
(multitask.tracking.compare), and the rendered DOM must show every scenario name and metric
value.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.browser import dump_dom, find_browser
from multitask.cli import ui_banner
from multitask.config import load_params
from multitask.tracking.compare import compare_url, current_runs

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = list(load_params(ROOT / "params.yaml").train.all_scenarios)
# Distinct values that only these runs' metrics can put on the page.
ACC = {name: round(0.8137 + 0.0211 * i, 4) for i, name in enumerate(SCENARIOS)}

LOG_RUNS = """
import json, sys
from pathlib import Path
from harness.records import train_run
from multitask.tracking import runs, store

root, acc = Path(sys.argv[1]), json.loads(sys.argv[2])
store.connect(root)
import mlflow
mlflow.MlflowClient().create_experiment("made-before-the-tag")  # an older store's experiment
store.ensure_experiment("made-before-the-tag", root)
for name, value in acc.items():
    with runs.start_training_run("multitask-sentence-transformer", name, {}) as run:
        runs.log_metrics({"val/acc_topic": value, "val/f1_mean": value - 0.01}, step=0)
        record = train_run(name, run.info.run_id, run.info.experiment_id)
        record.write(root / "models" / name / "run.json")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow ui exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/health", timeout=2) as resp,  # nosec B310
        ):
            if resp.status == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"mlflow ui not healthy after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with mlflow.db (six runs) and models/<scenario>/run.json, as after a pipeline."""
    root = tmp_path_factory.mktemp("ui-project")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("MULTITASK_PIPELINE_ID", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", LOG_RUNS, str(root), json.dumps(ACC)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def ui(project: Path) -> Iterator[str]:
    """`mlflow ui` as `make ui` starts it, in its own process group, stopped at teardown."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    cmd = [str(mlflow_bin), "ui", "--backend-store-uri", f"sqlite:///{project / 'mlflow.db'}"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = project / "mlflow-ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_experiments_are_tagged_as_model_training(project: Path) -> None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(project / "mlflow.db")) as db:
        rows = db.execute(
            "select t.value from experiment_tags t join experiments e "
            "on t.experiment_id = e.experiment_id "
            "where t.key = 'mlflow.experimentKind' order by e.name"
        ).fetchall()
    # created with the tag, and tagged when found without it
    assert rows == [("custom_model_development",)] * 2


def test_make_ui_prints_the_compare_url(project: Path, capsys: pytest.CaptureFixture) -> None:
    runs, missing = current_runs(ROOT / "params.yaml", project / "models")
    assert [r.scenario for r in runs] == SCENARIOS and not missing
    printed = ui_banner(5123, ROOT / "params.yaml", project / "models")
    assert compare_url("http://127.0.0.1:5123", runs) in printed


def test_compare_view_renders_the_six_scenarios(project: Path, ui: str) -> None:
    runs, _ = current_runs(ROOT / "params.yaml", project / "models")
    url = compare_url(ui, runs)
    dom = dump_dom(find_browser(), url)
    (project / "compare.html").write_text(dom)
    absent = [name for name in SCENARIOS if name not in dom]
    assert not absent, f"{absent} not rendered by {url}; DOM in {project / 'compare.html'}"
    assert "val/acc_topic" in dom
    assert any(f"{value:.4f}".rstrip("0") in dom for value in ACC.values()), "no metric value"
