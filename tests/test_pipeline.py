"""Integration: the real `dvc repro` on a tiny configuration in a temporary copy of the repo.

One pipeline run (session fixture) is checked from every side: DVC outputs and metrics, MLflow
runs and registry, the champion and its report, the pyfunc and the CLI from fresh processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness import tiny_pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
SCENARIOS = [
    "frozen_all", "frozen_backbone", "frozen_head_a", "frozen_head_b",
    "full_finetune", "gradual_unfreeze",
]  # fmt: skip


def _run(cmd, work, env, check=True, **kw):
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    reuse = os.environ.get("MULTITASK_REUSE_PIPELINE")  # dev loop: a folder from an earlier run
    if reuse:
        work = Path(reuse)
        return work, tiny_pipeline.pipeline_env(work)
    work = tmp_path_factory.mktemp("pipeline") / "repo"
    env = tiny_pipeline.prepare(work)
    _run(["dvc", "repro"], work, env, timeout=1200)
    return work, env


def _client(work):
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{work / 'mlflow.db'}")


def test_every_stage_wrote_its_outputs(pipeline):
    work, _ = pipeline
    for split in ("train", "val", "test"):
        assert (work / "data" / f"{split}.csv").stat().st_size > 0
    assert json.loads((work / "reports/validation.json").read_text())["valid"]
    for s in SCENARIOS:
        assert (work / "models" / s / "model" / "heads.safetensors").is_file()
        metrics = json.loads((work / "reports/eval" / s / "metrics.json").read_text())
        for key in ("val/acc_topic", "test/f1_sentiment", "natural/acc_topic"):
            assert 0.0 <= metrics[key] <= 1.0
        confusion = pd.read_csv(work / "reports/eval" / s / "confusion_topic.csv")
        assert list(confusion.columns) == ["actual", "predicted"]
        assert (work / "reports/train" / s / "curves.png").stat().st_size > 1000
    assert not list(work.rglob("*.tmp")), "no temporary files may remain"


def test_noop_repro_and_metrics_show(pipeline):
    work, env = pipeline
    status = _run(["dvc", "status"], work, env).stdout
    assert "up to date" in status, status
    shown = _run(["dvc", "metrics", "show", "--json"], work, env).stdout
    assert "frozen_backbone" in shown and "val/acc_topic" in shown


def test_mlflow_runs_follow_the_conventions(pipeline):
    work, _ = pipeline
    client = _client(work)
    exp = client.get_experiment_by_name("multitask-sentence-transformer")
    runs = client.search_runs([exp.experiment_id])
    by_name = {r.info.run_name: r for r in runs}
    assert sorted(by_name) == sorted(SCENARIOS)
    for name, run in by_name.items():
        assert run.info.status == "FINISHED"
        assert run.data.tags["scenario"] == name
        assert run.data.tags["pipeline_id"] == "tiny"
        assert run.data.tags["data_digest"] and run.data.tags["git_commit"]
        assert "val/acc_topic" in run.data.metrics and "test/f1_sentiment" in run.data.metrics
        assert "params_trainable" in run.data.metrics
        assert run.data.params["train.epochs"] == "2"
        assert run.inputs.dataset_inputs, "training data logged as a dataset input"
        # One value per epoch from training, then the evaluated best model one step later.
        history = client.get_metric_history(run.info.run_id, "val/acc_topic")
        assert [m.step for m in history] == ([0, 1] if name == "frozen_all" else [0, 1, 2])
        final = json.loads((work / "reports/eval" / name / "metrics.json").read_text())
        assert history[-1].value == pytest.approx(final["val/acc_topic"])
    frozen = by_name["frozen_all"].data.metrics["params_trainable"]
    assert frozen == 0 and by_name["full_finetune"].data.metrics["params_trainable"] > 1e6


INIT_KEYS = ("init/acc_topic", "init/acc_sentiment", "init/f1_topic", "init/f1_sentiment")


def test_warm_scenarios_start_from_the_trained_frozen_backbone(pipeline):
    """frozen_head_a/b start where frozen_backbone ended: their `init/` figures are its final
    validation figures, their runs name its run, and dvc.lock records the dependency."""
    work, _ = pipeline
    metrics = {
        s: json.loads((work / "reports/eval" / s / "metrics.json").read_text()) for s in SCENARIOS
    }
    for s in SCENARIOS:
        assert all(0.0 <= metrics[s][k] <= 1.0 for k in INIT_KEYS), (s, metrics[s])
    parent = metrics["frozen_backbone"]
    parent_run = json.loads((work / "models/frozen_backbone/run.json").read_text())["run_id"]
    lock = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    client = _client(work)
    for warm in ("frozen_head_a", "frozen_head_b"):
        for task in ("topic", "sentiment"):
            start = metrics[warm][f"init/acc_{task}"]
            assert start == pytest.approx(parent[f"val/acc_{task}"], abs=1e-6), (warm, task)
        run_id = json.loads((work / "models" / warm / "run.json").read_text())["run_id"]
        tags = client.get_run(run_id).data.tags
        assert (tags["init_from"], tags["init_from_run"]) == ("frozen_backbone", parent_run)
        deps = {d["path"] for d in lock[f"train_warm@{warm}"]["deps"]}
        assert "models/frozen_backbone" in deps
    # From scratch, the starting model is the untrained one: chance-level on 4 topics.
    assert metrics["full_finetune"]["init/acc_topic"] < 0.5


def test_champion_is_registered_and_reported(pipeline):
    work, _ = pipeline
    champion = json.loads((work / "champion.json").read_text())
    client = _client(work)
    mv = client.get_model_version_by_alias(champion["name"], "champion")
    assert int(mv.version) == champion["version"] and mv.run_id == champion["run_id"]
    assert mv.tags["scenario"] == champion["scenario"]
    table = pd.read_csv(work / "reports/comparison.csv", index_col="scenario")
    assert champion["scenario"] == table["val/f1_mean"].idxmax()
    for s in SCENARIOS:
        metrics = json.loads((work / "reports/eval" / s / "metrics.json").read_text())
        assert table.loc[s, "test/acc_topic"] == pytest.approx(metrics["test/acc_topic"])
    best_val = max(
        json.loads((work / "reports/eval" / s / "metrics.json").read_text())["val/f1_mean"]
        for s in SCENARIOS
    )
    assert champion["metrics"]["val/f1_mean"] == pytest.approx(best_val)
    assert f"**{champion['scenario']}**" in (work / "reports/comparison.md").read_text()


def test_register_is_idempotent(pipeline):
    work, env = pipeline
    before = json.loads((work / "champion.json").read_text())
    _run(["dvc", "repro", "-f", "-s", "register"], work, env)
    after = json.loads((work / "champion.json").read_text())
    assert after["version"] == before["version"]
    versions = _client(work).search_model_versions(f"name = '{before['name']}'")
    assert len(versions) == 1


CLEAN_LOAD = """
import sys, mlflow, pandas as pd
assert "multitask" not in sys.modules
m = mlflow.pyfunc.load_model("models:/multitask-sentence-transformer@champion")
out = m.predict(pd.DataFrame({"text": ["The striker scored twice.", "Shares fell 3%."]}))
print(out.to_json(orient="records"))
"""


def test_pyfunc_loads_from_the_registry_in_a_clean_process(pipeline, tmp_path):
    work, env = pipeline
    env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "PYTHONPATH": ""}
    # Run from an empty folder with -I so the repo's own package cannot be imported by accident.
    out = _run([sys.executable, "-I", "-c", CLEAN_LOAD], tmp_path, env).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    assert len(rows) == 2 and {"topic", "sentiment", "topic_prob_sports"} <= set(rows[0])


def test_predict_cli_uses_the_champion(pipeline):
    work, env = pipeline
    out = _run([sys.executable, "-m", "multitask.cli", "predict", "--jsonl", "A great match"],
               work, env).stdout  # fmt: skip
    row = json.loads(out.strip().splitlines()[-1])
    assert row["text"] == "A great match" and row["topic"]["label"] in row["topic"]["scores"]
    piped = _run([sys.executable, "-m", "multitask.cli", "predict"], work, env,
                 input="one\ntwo\n").stdout  # fmt: skip
    assert len(piped.strip().splitlines()) == 2


def test_predict_cli_before_the_pipeline_fails_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    proc = _run([sys.executable, "-m", "multitask.cli", "predict", "hello"], tmp_path, env,
                check=False)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_bad_params_stop_the_pipeline_with_the_key(pipeline, tmp_path):
    work, env = pipeline
    params = (work / "params.yaml").read_text()
    try:
        (work / "params.yaml").write_text(params.replace("epochs: 2", "epochs: -2"))
        proc = _run(tiny_pipeline.stage_command(work, "train@frozen_all"), work, env,
                    check=False)  # fmt: skip
        assert proc.returncode == 1 and "train.epochs" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        (work / "params.yaml").write_text(params)
    assert Path(work / "models/frozen_all/run.json").is_file()


def test_walkthrough_notebook_runs_top_to_bottom(pipeline):
    import nbformat
    from nbclient import NotebookClient

    work, env = pipeline
    nb = nbformat.read(ROOT / "notebooks" / "walkthrough.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit clean"
    old = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k != "PATH"})
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={
            "metadata": {"path": str(work)}}).execute()  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("output_type") == "error" for o in outputs) is False
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "similarity heatmap and scenario comparison plot"
    assert any("champion:" in o.get("text", "") for o in outputs)


def test_bad_data_stops_dvc_repro_at_validate(tmp_path):
    """Defects in a user CSV stop `dvc repro` at validate, naming column and check."""
    natural = pd.read_csv(ROOT / "tests/data/natural.csv")
    bad = pd.concat(
        [
            natural,
            pd.DataFrame(
                {
                    "text": ["A recipe for lemon cake.", "x", "Stocks rose again today."],
                    "topic": ["cooking", "sports", "business"],
                    "sentiment": ["positive", "neutral", "thrilled"],
                }
            ),
        ]
    )
    work = tmp_path / "repo"
    env = tiny_pipeline.prepare(work, {"generate": {"source": "bad.csv"}})
    bad.to_csv(work / "bad.csv", index=False)
    proc = _run(["dvc", "repro"], work, env, check=False, timeout=600)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "column 'topic', check isin" in out and "cooking" in out
    assert "column 'sentiment', check isin" in out and "thrilled" in out
    assert "column 'text', check str_length" in out
    assert (work / "reports/validation_failures.csv").is_file()
    assert not (work / "models").exists(), "nothing downstream of validate may run"


def test_ui_command_serves_the_project_store_on_loopback(pipeline):
    import signal
    import socket
    import time
    import urllib.request

    work, env = pipeline
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "multitask.cli", "ui", "--port", str(port)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        body = ""
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search"
                headers = {"Content-Type": "application/json"}
                req = urllib.request.Request(url, b'{"max_results": 10}', headers, method="POST")
                body = urllib.request.urlopen(req, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        assert "multitask-sentence-transformer" in body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("module", "stages"),
    [
        # the synthetic grammar: only generate runs it
        ("src/multitask/data/synthetic/grammar.py", {"generate"}),
        # metrics: the training loop (best epoch) and the evaluate stage run it
        ("src/multitask/training/evaluation.py", {"train", "train_warm", "evaluate",
                                                   "evaluate_warm"}),
        # the request contract: only the bento build imports it
        ("src/multitask/serving/contract.py", {"package"}),
        # champion selection: only register
        ("src/multitask/training/selection.py", {"register"}),
    ],
)  # fmt: skip
def test_editing_a_module_flags_exactly_the_stages_that_run_it(pipeline, module, stages):
    """dvc.yaml's deps follow the code: `dvc status` after a one-line edit names those stages,
    no more (editing the service must not retrain six models) and no fewer (no stale output)."""
    work, env = pipeline
    path = work / module
    original = path.read_text()
    try:
        path.write_text(original + "\n# an edit\n")
        status = json.loads(_run(["dvc", "status", "--json"], work, env).stdout)
    finally:
        path.write_text(original)
    changed = {name.split("@")[0] for name, why in status.items() if module in json.dumps(why)}
    assert changed == stages, status
    assert "up to date" in _run(["dvc", "status"], work, env).stdout


def test_one_lineage_from_the_served_bento_back_to_the_run(pipeline, tmp_path):
    """champion.json, dist/bento.json, the bento's labels and GET /model of the served bento
    carry the same lineage, and it names the registered version, its run, this checkout's commit
    and dvc.lock's md5 of the champion's model folder."""
    import httpx

    from harness.local_server import serve_bento
    from multitask.serving.bento_store import import_bento

    work, pipeline_env = pipeline
    champion = json.loads((work / "champion.json").read_text())
    lineage = champion["lineage"]
    lock = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    scenario = champion["scenario"]
    # DVC keeps lock entries of stages that left dvc.yaml: only the stages it lists count.
    current = _run(["dvc", "stage", "list", "--name-only"], work, pipeline_env).stdout.split()
    (out,) = [
        o
        for name in current
        for o in lock.get(name, {}).get("outs", [])
        if o["path"] == f"models/{scenario}"
    ]
    head = _run(["git", "rev-parse", "HEAD"], work, None, check=False).stdout.strip() or "unknown"
    run = _client(work).get_run(champion["run_id"])
    assert lineage == {
        "registered_name": champion["name"],
        "version": champion["version"],
        "run_id": champion["run_id"],
        "scenario": scenario,
        "git_commit": head,
        "data_digest": run.data.tags["data_digest"],
        "model_md5": out["md5"],
    }
    assert lineage["data_digest"] and lineage["model_md5"].endswith(".dir")
    assert json.loads((work / "dist/bento.json").read_text())["lineage"] == lineage

    home = tmp_path / "home"
    bento_tag = import_bento(work / "dist/multitask.bento", home=home)
    env = {**pipeline_env, "BENTOML_HOME": str(home)}
    info = _run(["bentoml", "get", bento_tag, "-o", "json"], tmp_path, env)
    labels = json.loads(info.stdout)["labels"]
    assert {k: labels[k] for k in lineage} == {k: str(v) for k, v in lineage.items()}
    with serve_bento(bento_tag, home, tmp_path) as server:
        served = httpx.get(f"{server.url}/model", timeout=30).json()
    assert served["lineage"] == lineage
    assert (served["registered_name"], served["version"]) == (champion["name"], champion["version"])
