"""Integration: share pipeline outputs through a DVC remote, a folder and an S3 bucket (moto).

After a tiny `dvc repro` in a copy of the repo (two scenarios, one epoch) and a commit of
dvc.lock, `scripts/team/dvc_remote.sh` adds the remote, `dvc push` fills it, and a fresh
`git clone` + `dvc pull` must get every cached output back byte for byte, so that `dvc status`
and `dvc repro` in the clone are no-ops. mlflow.db is not a DVC output: the clone points
MLFLOW_TRACKING_URI at the first copy's store, as a team would at its tracking server.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
import yaml

from harness import tiny_pipeline
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts" / "team"))
import team_server

_run, _commit, GIT_ID = tiny_pipeline.run, tiny_pipeline.commit_all, tiny_pipeline.GIT_ID

pytestmark = pytest.mark.integration
REMOTE_SH = ROOT / "scripts" / "team" / "dvc_remote.sh"
SCENARIOS = ["frozen_backbone", "full_finetune"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A tiny pipeline run whose dvc.lock (and params) are committed, as a user would."""
    scenarios = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["scenarios"]
    chosen = {s: scenarios[s] for s in SCENARIOS}
    overrides = {"train": {"epochs": 1, "scenarios": chosen, "warm_scenarios": {}}}
    work = tmp_path_factory.mktemp("dvc-remote") / "repo"
    env = tiny_pipeline.prepare(work, overrides)
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")} | GIT_ID
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    _run(["dvc", "repro"], work, env, timeout=1200)
    _commit(work, env, "pipeline run: dvc.lock")
    return work, env


def _cached_outputs(work: Path) -> tuple[list[str], list[str]]:
    """(files DVC caches, cache: false outputs) of the pipeline, relative to `work`."""
    from dvc.repo import Repo

    cached, uncached = [], []
    with Repo(str(work)) as repo:
        for stage in repo.index.stages:
            for out in stage.outs:
                path = Path(out.fs_path)
                files = (
                    sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
                )
                rel = [str(p.relative_to(work)) for p in files]
                (cached if out.use_cache else uncached).extend(rel)
    return sorted(cached), sorted(uncached)


def _digests(root: Path, files: list[str]) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}


def _gitignored(work: Path, files: list[str], env: dict) -> list[str]:
    proc = _run(["git", "check-ignore", *files], work, env, check=False)
    return proc.stdout.split()


def _clone_and_pull(work: Path, dst: Path, env: dict, remote: str) -> dict[str, str]:
    _run(["git", "clone", "-q", str(work), str(dst)], dst.parent, env)
    clone_env = {**env, "BENTOML_HOME": str(dst / ".bentoml")}
    _run(["dvc", "pull", "-r", remote], dst, clone_env, timeout=300)
    return clone_env


def _assert_noop(work: Path, clone: Path, env: dict) -> None:
    _, uncached = _cached_outputs(work)
    missing = _gitignored(work, uncached, env)
    # DVC leaves `cache: false` outputs (metrics, plots, reports) to git: they must not be
    # git-ignored, or no clone can get them back and the stages re-run.
    assert not missing, f"git-ignored `cache: false` outputs: {missing}"
    status = _run(["dvc", "status"], clone, env).stdout
    assert "up to date" in status, status
    repro = _run(["dvc", "repro"], clone, env, timeout=600).stdout
    assert "Running stage" not in repro, repro


# -- a folder as the remote ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_clone(pipeline, tmp_path_factory):
    work, env = pipeline
    store = tmp_path_factory.mktemp("dvc-store")
    _run(["bash", str(REMOTE_SH), str(store)], work, env)
    _commit(work, env, "dvc remote: folder")
    _run(["dvc", "push", "-r", "team"], work, env, timeout=300)
    clone = tmp_path_factory.mktemp("clone-local") / "repo"
    return clone, _clone_and_pull(work, clone, env, "team"), store


def test_folder_remote_is_the_default_and_holds_the_cache(pipeline, local_clone):
    work, env = pipeline
    _, _, store = local_clone
    assert _run(["dvc", "remote", "default"], work, env).stdout.strip() == "team"
    assert len([p for p in store.rglob("*") if p.is_file()]) >= 5


def test_folder_remote_pull_restores_every_cached_output(pipeline, local_clone):
    work, _ = pipeline
    clone, _, _ = local_clone
    cached, _ = _cached_outputs(work)
    assert "dist/multitask.bento" in cached and any(f.startswith("models/") for f in cached)
    assert _digests(clone, cached) == _digests(work, cached)


def test_folder_remote_clone_is_a_noop(pipeline, local_clone):
    work, _ = pipeline
    clone, clone_env, _ = local_clone
    _assert_noop(work, clone, clone_env)


# -- an S3 bucket as the remote (moto on loopback) -----------------------------------------------
@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "s3.log"
    pid, url = team_server.start_s3(log, buckets=["dvc-store"])
    yield url
    team_server.stop_group(pid, "moto")
    assert not team_server._alive(pid, "moto")


@pytest.fixture(scope="module")
def s3_clone(pipeline, s3, tmp_path_factory):
    work, env = pipeline
    env = {**env, **team_server.S3_KEYS}  # credentials from the environment, never in .dvc/config
    _run(["bash", str(REMOTE_SH), "s3://dvc-store/multitask", s3], work, {**env, "REMOTE": "s3"})
    assert "testing" not in (work / ".dvc" / "config").read_text()
    _commit(work, env, "dvc remote: s3")
    _run(["dvc", "push", "-r", "s3"], work, env, timeout=300)
    clone = tmp_path_factory.mktemp("clone-s3") / "repo"
    return clone, _clone_and_pull(work, clone, env, "s3")


def test_s3_remote_holds_the_cache(s3, s3_clone):
    listing = team_server.s3_client(s3).list_objects_v2(Bucket="dvc-store", Prefix="multitask/")
    assert listing.get("KeyCount", 0) >= 5


def test_s3_remote_pull_restores_every_cached_output(pipeline, s3_clone):
    work, _ = pipeline
    clone, _ = s3_clone
    cached, _ = _cached_outputs(work)
    assert _digests(clone, cached) == _digests(work, cached)


def test_s3_remote_clone_is_a_noop(pipeline, s3_clone):
    work, _ = pipeline
    clone, clone_env = s3_clone
    _assert_noop(work, clone, clone_env)


def test_remote_script_rejects_what_it_does_not_set_up(tmp_path):
    env = {**os.environ, "DVC": "true"}
    proc = _run(["bash", str(REMOTE_SH), "gs://bucket/x"], tmp_path, env, check=False)
    assert proc.returncode == 2 and "only a folder or s3://" in proc.stderr
