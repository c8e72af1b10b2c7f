"""Integration: DVC experiments (--queue with 2 workers, --temp) lose nothing and move no alias.

A tiny project (two scenarios, one epoch) runs `dvc repro` once (the champion) and is committed;
then it is swept the way a user sweeps: two queued experiments at once (`dvc queue start -j 2`)
whose encoder rates DVC writes as `1e-05`-style floats, and one `--temp` experiment. As a user
would, no BENTOML_HOME or MLFLOW_TRACKING_URI is set: the defaults must be the project's.
Checked: every run lands in the PROJECT's sqlite store and artifact folder, FINISHED, tagged with
its experiment name, mode and baseline commit, with the figures `dvc exp show --json` reports;
each experiment registered a candidate version, packaged exactly it into the project's BentoML
store, and `champion` did not move; no store file ever appeared under .dvc/tmp (watched while
the experiments ran). Last, `dvc exp apply` + `multitask promote` make alias, champion.json and
the bento agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from harness import tiny_pipeline
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3600)]
SCENARIOS = ["frozen_backbone", "full_finetune"]
NAME = "multitask-sentence-transformer"
SWEEP = {"sweep-a": "1e-5", "sweep-b": "3e-5"}  # DVC writes 1e-05 / 3e-05: no dot
STORE_NAMES = ("mlflow.db", "mlartifacts", ".bentoml")


def _run(cmd, cwd, env, check=True, **kw):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class Tripwire(threading.Thread):
    """Watches <project>/.dvc/tmp while experiments run: any store file there is a failure."""

    def __init__(self, work: Path) -> None:
        super().__init__(daemon=True)
        self.tmp, self.seen, self.stop = work / ".dvc" / "tmp", set(), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.look()

    def look(self) -> None:
        for path in self.tmp.rglob("*") if self.tmp.exists() else []:
            if path.name.startswith(STORE_NAMES):
                self.seen.add(str(path.relative_to(self.tmp)))

    def __enter__(self) -> Tripwire:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()
        self.look()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    scenarios = {s: params["train"]["scenarios"][s] for s in SCENARIOS}
    work = tmp_path_factory.mktemp("experiments") / "repo"
    overrides = {"train": {"epochs": 1, "scenarios": scenarios, "warm_scenarios": {}}}
    env = tiny_pipeline.prepare(work, overrides)
    for var in ("BENTOML_HOME", "MULTITASK_PIPELINE_ID"):  # as a user: the defaults
        env.pop(var)
    for who in ("AUTHOR", "COMMITTER"):
        env |= {f"GIT_{who}_NAME": "ci", f"GIT_{who}_EMAIL": "ci@localhost"}
    _run(["dvc", "repro"], work, env, timeout=1800)
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "pipeline run"], work, env)
    champion = json.loads((work / "champion.json").read_text())
    assert champion["registered_as"] == "champion" and champion["dvc"]["mode"] == "repro"
    return work, env


@pytest.fixture(scope="module")
def swept(project):
    work, env = project
    for name, lr in SWEEP.items():
        queue = ["dvc", "exp", "run", "--queue", "-n", name, "-S", f"train.lr_encoder={lr}"]
        _run(queue, work, env)
    with Tripwire(work) as tripwire:
        started = time.monotonic()
        _run(["dvc", "queue", "start", "-j", "2"], work, env)
        status = ""
        while time.monotonic() - started < 3000:
            status = _run(["dvc", "queue", "status"], work, env).stdout
            if not any(s in status for s in ("Queued", "Running")):
                break
            time.sleep(5)
        seconds = time.monotonic() - started
    print(f"\ntwo-experiment sweep at -j 2: {seconds:.0f} s", flush=True)
    assert all(f"{name}" in status for name in SWEEP) and "Failed" not in status, status
    assert not tripwire.seen, f"store files under .dvc/tmp: {sorted(tripwire.seen)}"
    yield work, env
    _run(["dvc", "queue", "stop"], work, env, check=False)


def _client(work: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{work / 'mlflow.db'}"
    return MlflowClient(uri, registry_uri=uri)


def _shown(work: Path, env: dict) -> dict[str, dict[str, dict[str, float]]]:
    """{experiment name: {scenario: metrics}} as `dvc exp show --json` reports them."""
    shown = json.loads(_run(["dvc", "exp", "show", "--json"], work, env).stdout)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                metrics = (rev.get("data") or {}).get("metrics") or {}
                out[rev.get("name")] = {
                    Path(f).parent.name: v["data"] for f, v in metrics.items() if "data" in v
                }
    return out


def _exp_file(work: Path, env: dict, name: str, path: str) -> dict:
    refs = _run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], work, env).stdout
    [ref] = [r for r in refs.split() if r.endswith("/" + name)]
    return json.loads(_run(["git", "show", f"{ref}:{path}"], work, env).stdout)


def _check_experiment(work: Path, env: dict, name: str, mode: str) -> int:
    """All runs of experiment `name` are in the project's store as `dvc exp show` says; the
    experiment registered and packaged one candidate. Returns its version."""
    client = _client(work)
    exp = client.get_experiment_by_name(NAME)
    runs = client.search_runs([exp.experiment_id], f"tags.`dvc.exp_name` = '{name}'")
    assert sorted(r.info.run_name for r in runs) == SCENARIOS
    baseline = _run(["git", "rev-parse", "HEAD"], work, env).stdout.strip()
    shown = _shown(work, env)[name]
    assert len({r.data.tags["pipeline_id"] for r in runs}) == 1  # one execution
    for run in runs:
        tags = run.data.tags
        assert run.info.status == "FINISHED"
        assert (tags["dvc.mode"], tags["dvc.baseline_rev"]) == (mode, baseline)
        artifacts = Path(urlparse(run.info.artifact_uri).path)
        assert artifacts.is_relative_to(work / "mlartifacts"), artifacts
        logged = json.loads((artifacts / "eval" / "metrics.json").read_text())
        figures = {k: v for k, v in shown[run.info.run_name].items() if "/" in k}
        assert figures and logged == shown[run.info.run_name]
        for key, value in figures.items():
            assert run.data.metrics[key] == pytest.approx(value, abs=1e-9), key
    [version] = client.search_model_versions(f"name = '{NAME}' and tags.`dvc.exp_name` = '{name}'")
    champion = _exp_file(work, env, name, "champion.json")
    assert champion["registered_as"] == "candidate" and champion["dvc"]["exp_name"] == name
    assert champion["version"] == int(version.version)
    bento = _exp_file(work, env, name, "dist/bento.json")
    assert bento["champion"]["version"] == int(version.version)  # packaged exactly that
    bento_name, tag = bento["bento_tag"].split(":")
    assert (work / ".bentoml" / "bentos" / bento_name / tag / "bento.yaml").is_file()
    return int(version.version)


def test_a_queued_sweep_lands_in_the_project_store(swept):
    work, env = swept
    versions = {name: _check_experiment(work, env, name, "exp-queue") for name in SWEEP}
    client = _client(work)
    champion = json.loads((work / "champion.json").read_text())  # the workspace's (dvc repro)
    assert int(client.get_model_version_by_alias(NAME, "champion").version) == champion["version"]
    assert champion["version"] not in versions.values()
    exp = client.get_experiment_by_name(NAME).experiment_id
    runs = {n: client.search_runs([exp], f"tags.`dvc.exp_name` = '{n}'") for n in SWEEP}
    executions = {n: {r.data.tags["pipeline_id"] for r in found} for n, found in runs.items()}
    assert not executions["sweep-a"] & executions["sweep-b"]  # one execution per experiment
    lrs = {n: {r.data.params["train.lr_encoder"] for r in found} for n, found in runs.items()}
    assert lrs == {"sweep-a": {"1e-05"}, "sweep-b": {"3e-05"}}  # floats the config accepted
    assert not client.search_runs(["0"]), "no run may land in the Default experiment"


def test_a_temp_experiment_finishes_and_loses_nothing(project):
    work, env = project
    with Tripwire(work) as tripwire:
        cmd = ["dvc", "exp", "run", "--temp", "-n", "temp-1", "-S", "train.seed=7"]
        _run(cmd, work, env, timeout=1800)
    assert not tripwire.seen, f"store files under .dvc/tmp: {sorted(tripwire.seen)}"
    _check_experiment(work, env, "temp-1", "exp-temp")
    champion = json.loads((work / "champion.json").read_text())
    assert (
        int(_client(work).get_model_version_by_alias(NAME, "champion").version)
        == (champion["version"])
    )


def test_promote_after_exp_apply_makes_alias_champion_and_bento_agree(swept):
    work, env = swept
    before = json.loads((work / "champion.json").read_text())["version"]
    _run(["dvc", "exp", "apply", "sweep-b"], work, env)
    assert "up to date" in _run(["dvc", "status"], work, env).stdout
    out = _run([sys.executable, "-m", "multitask.cli", "promote"], work, env).stdout
    champion = json.loads((work / "champion.json").read_text())
    bento = json.loads((work / "dist" / "bento.json").read_text())
    client = _client(work)
    alias = client.get_model_version_by_alias(NAME, "champion")
    assert int(alias.version) == champion["version"] == bento["champion"]["version"] != before
    assert alias.run_id == champion["run_id"] and f"-> {champion['version']}" in out
    assert int(client.get_model_version_by_alias(NAME, "previous").version) == before
    assert "up to date" in _run(["dvc", "status"], work, env).stdout  # no DVC output edited
    again = _run([sys.executable, "-m", "multitask.cli", "promote"], work, env).stdout
    assert f"version {champion['version']} -> {champion['version']}" in again  # idempotent
