"""Integration: the pipeline against a team tracking server (PostgreSQL + S3 artifacts + MLflow).

`scripts/team/server.sh start` brings up real PostgreSQL, a moto S3 and `mlflow server` on free
loopback ports; the tiny pipeline (`dvc repro`, two scenarios, one epoch) then runs with ONLY
MLFLOW_TRACKING_URI pointing at it: no S3 endpoint or credentials on the client side, because the
server proxies artifacts. Checked: runs in the PostgreSQL database, artifacts in the bucket, the
`champion` alias, the bento built from the remote registry, `multitask predict` against it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import tiny_pipeline
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts" / "team"))
import team_server

pytestmark = pytest.mark.integration
SERVER_SH = ROOT / "scripts" / "team" / "server.sh"
SCENARIOS = ["frozen_backbone", "full_finetune"]


def _run(cmd, cwd, env, check=True, **kw):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def two_scenarios() -> dict:
    """train overrides: one epoch, and two scenarios copied from the project's params.yaml."""
    scenarios = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["scenarios"]
    chosen = {s: scenarios[s] for s in SCENARIOS}
    return {"train": {"epochs": 1, "scenarios": chosen, "warm_scenarios": {}}}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The team server as a user starts it; stopped (killpg, pg_ctl -m fast stop) afterwards."""
    state_dir = tmp_path_factory.mktemp("team-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env["PYTHON"] = sys.executable
    try:
        out = _run(["bash", str(SERVER_SH), "start", str(state_dir)], ROOT, env, timeout=240)
        match = re.fullmatch(
            r"export MLFLOW_TRACKING_URI=(http://127\.0\.0\.1:\d+)", out.stdout.strip()
        )
        assert match, out.stdout
        state = json.loads((state_dir / "state.json").read_text())
        yield {"uri": match.group(1), "state": state, "dir": state_dir, "env": env}
    finally:
        state_file = state_dir / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        pg_pid_file = Path(state.get("pgdata", state_dir / "none")) / "postmaster.pid"
        pg_pid = int(pg_pid_file.read_text().split()[0]) if pg_pid_file.exists() else 0
        subprocess.run(["bash", str(SERVER_SH), "stop", str(state_dir), "--purge"], env=env,
                       capture_output=True, timeout=120)  # fmt: skip
        team_server.stop(state_dir, purge=True)  # no-op unless the script failed to stop
        for pid, marker in ((state.get("mlflow_pid"), "mlflow"), (state.get("s3_pid"), "moto"),
                            (pg_pid, "postgres")):  # fmt: skip
            assert not team_server._alive(pid or 0, marker), f"{marker} left running"
        assert not Path(state.get("pgdata", state_dir)).exists(), "stop --purge removes the data"


@pytest.fixture(scope="session")
def pipeline(server, tmp_path_factory):
    work = tmp_path_factory.mktemp("team-pipeline") / "repo"
    env = tiny_pipeline.prepare(work, two_scenarios())
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    env["MLFLOW_TRACKING_URI"] = server["uri"]  # the only thing a client needs
    _run(["dvc", "repro"], work, env, timeout=1200)
    return work, env


def _client(server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server["uri"], registry_uri=server["uri"])


def test_server_env_and_status_commands(server):
    env_out = _run(["bash", str(SERVER_SH), "env", str(server["dir"])], ROOT, server["env"]).stdout
    assert env_out.strip() == f"export MLFLOW_TRACKING_URI={server['uri']}"
    s3 = _run(["bash", str(SERVER_SH), "env", str(server["dir"]), "--s3"], ROOT, server["env"])
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:" in s3.stdout
    status = json.loads(_run(["bash", str(SERVER_SH), "status", str(server["dir"])], ROOT,
                             server["env"]).stdout)  # fmt: skip
    assert "db_password" not in status and status["mlflow_port"] == int(
        server["uri"].rsplit(":")[-1]
    )
    # Everything listens on loopback only.
    assert status["s3_url"].startswith("http://127.0.0.1:")


def test_runs_are_in_the_postgres_backed_server(server, pipeline):
    work, _ = pipeline
    client = _client(server)
    exp = client.get_experiment_by_name("multitask-sentence-transformer")
    assert exp.artifact_location.startswith("mlflow-artifacts:"), "artifacts go through the proxy"
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.info.run_name for r in runs) == SCENARIOS
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all("val/acc_topic" in r.data.metrics for r in runs)
    # The same runs, read straight from PostgreSQL.
    import psycopg2

    state = server["state"]
    with psycopg2.connect(host="127.0.0.1", port=state["pg_port"], dbname="mlflow", user="mlflow",
                          password=state["db_password"]) as conn, conn.cursor() as cur:  # fmt: skip
        cur.execute("SELECT name, status FROM runs WHERE experiment_id = %s",
                    (int(exp.experiment_id),))  # fmt: skip
        assert sorted(cur.fetchall()) == [(s, "FINISHED") for s in SCENARIOS]
    # Artifacts (models, plots) landed in the bucket, and nothing in local stores.
    keys = [o["Key"] for o in team_server.s3_client(state["s3_url"]).list_objects_v2(
        Bucket=state["bucket"]).get("Contents", [])]  # fmt: skip
    assert any(k.endswith("heads.safetensors") for k in keys), keys[:20]
    assert not (work / "mlflow.db").exists() and not (work / "mlartifacts").exists()


def test_champion_alias_resolves_on_the_server(server, pipeline):
    work, _ = pipeline
    champion = json.loads((work / "champion.json").read_text())
    mv = _client(server).get_model_version_by_alias(champion["name"], "champion")
    assert int(mv.version) == champion["version"] and mv.run_id == champion["run_id"]
    assert champion["scenario"] in SCENARIOS


def test_package_built_the_bento_from_the_remote_registry(server, pipeline):
    work, _ = pipeline
    assert (work / "dist" / "multitask.bento").stat().st_size > 100_000
    record = json.loads((work / "dist" / "bento.json").read_text())
    champion = json.loads((work / "champion.json").read_text())
    assert record["champion"]["version"] == champion["version"]
    assert record["champion"]["run_id"] == champion["run_id"]


def test_predict_cli_against_the_server(server, pipeline, tmp_path):
    work, env = pipeline
    # From an empty folder: the model can only come from the server's registry.
    cmd = [sys.executable, "-m", "multitask.cli", "predict", "--jsonl", "--params",
           str(work / "params.yaml"), "A great match", "Shares fell 3%"]  # fmt: skip
    out = _run(cmd, tmp_path, {**env, "PYTHONPATH": str(ROOT / "src")}).stdout
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["text"] for r in rows] == ["A great match", "Shares fell 3%"]
    assert rows[0]["topic"]["label"] in rows[0]["topic"]["scores"]
    assert not (tmp_path / "mlflow.db").exists()


def test_a_second_start_is_refused_while_running(server):
    proc = _run(["bash", str(SERVER_SH), "start", str(server["dir"])], ROOT, server["env"],
                check=False)  # fmt: skip
    assert proc.returncode == 1 and "already running" in proc.stderr
