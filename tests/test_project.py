"""Where the project is and how DVC runs us (multitask.project), and where the stores land.

DVC's four ways of running a stage are simulated by the working directory and the environment
variables DVC sets (measured with DVC 3.67; see multitask/project.py). The stores' defaults
(tracking URI, artifact folder, BentoML home) must name the user's project in every case, never
a temporary copy under .dvc/tmp.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from multitask import records
from multitask.errors import ConfigError, DataError
from multitask.project import Mode, dvc_run, executor_root, locked_md5, project_root
from tests.conftest import ROOT

BASELINE = "a" * 40


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def _copy(root: Path, sub: str) -> Path:
    copy = root / ".dvc" / "tmp" / "exps" / sub
    copy.mkdir(parents=True)
    return copy


def test_dvc_repro_runs_in_the_project(env, tmp_path):
    env.setenv("DVC_ROOT", str(tmp_path))
    run = dvc_run(tmp_path)
    assert (run.mode, run.root, run.exp_name, run.baseline_rev) == ("repro", tmp_path, None, None)
    assert run.moves_champion and not run.temporary
    assert run.tags() == {"dvc.mode": "repro"}


def test_a_stage_started_by_hand_is_the_working_directory(env, tmp_path):
    run = dvc_run(tmp_path)
    assert (run.mode, run.root) == ("repro", tmp_path) and run.moves_champion


def test_workspace_experiment_registers_a_candidate(env, tmp_path):
    env.setenv("DVC_ROOT", str(tmp_path))
    env.setenv("DVC_EXP_NAME", "lr-1")
    env.setenv("DVC_EXP_BASELINE_REV", BASELINE)
    run = dvc_run(tmp_path)
    assert (run.mode, run.root) == ("exp-workspace", tmp_path)
    assert not run.moves_champion and not run.temporary


@pytest.mark.parametrize(
    ("sub", "mode"), [("tmpab12cd", "exp-queue"), ("standalone/tmpab12cd", "exp-temp")]
)
def test_a_temporary_copy_finds_the_original_project(env, tmp_path, sub, mode):
    copy = _copy(tmp_path, sub)
    env.setenv("DVC_ROOT", str(tmp_path))  # DVC sets it to the ORIGINAL project on purpose
    env.setenv("DVC_EXP_NAME", "lr-1")
    env.setenv("DVC_EXP_BASELINE_REV", BASELINE)
    run = dvc_run(copy / "pipeline")  # any folder inside the copy
    assert (run.mode, run.root) == (mode, tmp_path)
    assert run.temporary and not run.moves_champion
    assert run.tags() == {"dvc.mode": mode, "dvc.exp_name": "lr-1", "dvc.baseline_rev": BASELINE}
    env.delenv("DVC_ROOT")  # the path structure alone is enough
    assert project_root(copy) == tmp_path


def test_dvc_root_and_the_path_must_agree(env, tmp_path):
    copy = _copy(tmp_path / "a", "tmpab12cd")
    env.setenv("DVC_ROOT", str(tmp_path / "b"))
    with pytest.raises(ConfigError, match="refusing to guess"):
        project_root(copy)


def test_dvc_root_through_a_symlink_agrees(env, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    copy = _copy(tmp_path / "real", "standalone/tmpab12cd")
    env.setenv("DVC_ROOT", str(tmp_path / "link"))
    assert project_root(copy) == tmp_path / "real"


def test_a_foreign_dvc_root_is_ignored(env, tmp_path):
    (tmp_path / "here").mkdir()
    env.setenv("DVC_ROOT", str(tmp_path / "other"))  # inherited from some outer DVC stage
    assert project_root(tmp_path / "here") == tmp_path / "here"


def test_a_subfolder_of_dvc_root_is_the_project(env, tmp_path):
    (tmp_path / "pipeline").mkdir()
    env.setenv("DVC_ROOT", str(tmp_path))
    assert project_root(tmp_path / "pipeline") == tmp_path


def test_dvc_bookkeeping_folders_are_not_copies(tmp_path):
    assert executor_root(tmp_path / ".dvc" / "tmp" / "exps") is None
    assert executor_root(tmp_path / ".dvc" / "tmp") is None
    assert executor_root(tmp_path / "x" / "tmp" / "exps" / "tmp1") is None
    assert executor_root(tmp_path / ".dvc/tmp/exps/standalone/tmp1") == (tmp_path, True)
    assert executor_root(tmp_path / ".dvc/tmp/exps/tmp1/src") == (tmp_path, False)


def test_records_name_the_same_modes():
    dvc = records.DvcContext.model_fields["mode"].annotation
    assert set(typing.get_args(dvc)) == set(typing.get_args(Mode))


def test_an_old_champion_json_reads_as_a_champion():
    old = {"name": "m", "version": 3, "run_id": "r", "scenario": "s", "metrics": {}}
    champion = records.Champion.parse({**old, "selected_by": "val/f1_mean", "labels": {}}, "x")
    assert champion.registered_as == "champion" and champion.dvc.mode == "repro"
    with pytest.raises(DataError, match="registered_as"):
        records.Champion.parse(
            {**old, "selected_by": "v", "labels": {}, "registered_as": "maybe"}, "x"
        )


# -- the stores' defaults land in the project -----------------------------------------------
@pytest.mark.parametrize("sub", ["tmpab12cd", "standalone/tmpab12cd"])
def test_default_stores_are_the_projects_from_a_copy(env, tmp_path, sub):
    from multitask.serving.bento_store import bentoml_home
    from multitask.tracking.store import tracking_uri

    copy = _copy(tmp_path, sub)
    env.chdir(copy)
    env.setenv("DVC_ROOT", str(tmp_path))
    env.delenv("BENTOML_HOME", raising=False)
    assert tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    env.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db?mode=rwc")  # relative: anchored too
    assert tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}?mode=rwc"
    env.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")  # a server always wins
    assert tracking_uri() == "http://127.0.0.1:5000"
    assert bentoml_home() == tmp_path / ".bentoml"


def test_the_staged_build_context_is_visible_and_holds_the_inputs(tmp_path):
    from multitask.serving.bento_store import staged_build_context

    project = _copy(tmp_path, "standalone/tmpab12cd")  # a hidden path BentoML would refuse
    (project / "bentofile.yaml").write_text("python:\n  requirements_txt: reqs/serve.txt\n")
    (project / "reqs").mkdir()
    (project / "reqs/serve.txt").write_text("numpy\n")
    (project / "src/multitask/__pycache__").mkdir(parents=True)
    (project / "src/multitask/__init__.py").write_text("")
    (project / "src/multitask/__pycache__/x.pyc").write_text("")
    (project / "src/.hidden").write_text("")
    with staged_build_context(project) as ctx:
        assert not any(part.startswith(".") for part in ctx.parts)
        found = sorted(p.relative_to(ctx).as_posix() for p in ctx.rglob("*") if p.is_file())
        assert found == ["bentofile.yaml", "reqs/serve.txt", "src/multitask/__init__.py"]
    assert not ctx.exists()


LOCK_WITH_A_STALE_ENTRY = """\
schema: '2.0'
stages:
  train@frozen_head_a:
    cmd: python train.py frozen_head_a
    outs:
    - path: models/frozen_head_a
      hash: md5
      md5: {stale}
      size: 3
      nfiles: 1
  train_warm@frozen_head_a:
    cmd: python train.py frozen_head_a
    outs:
    - path: models/frozen_head_a
      hash: md5
      md5: {current}
      size: 3
      nfiles: 1
"""


def test_locked_md5_is_the_current_stages_not_a_stale_lock_entry(tmp_path, monkeypatch):
    """dvc.lock keeps entries of stages that left dvc.yaml (here `frozen_head_a` moved from the
    `train` group to `train_warm`, as it did in this project): the lineage must name the md5 of
    the stage dvc.yaml has now, even when the stale entry comes first in the file."""
    monkeypatch.delenv("DVC_ROOT", raising=False)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train_warm:\n    foreach: [frozen_head_a]\n    do:\n"
        "      cmd: python train.py ${item}\n      outs:\n        - models/${item}\n"
    )
    stale, current = "1" * 32 + ".dir", "2" * 32 + ".dir"
    (tmp_path / "dvc.lock").write_text(LOCK_WITH_A_STALE_ENTRY.format(stale=stale, current=current))
    assert locked_md5("models/frozen_head_a", tmp_path) == current
    assert locked_md5("models/frozen_head_a/", tmp_path) == current
    assert locked_md5("models/other", tmp_path) == ""
    (tmp_path / "dvc.lock").unlink()
    assert locked_md5("models/frozen_head_a", tmp_path) == ""  # stage never ran


def test_locked_md5_outside_a_dvc_project_is_empty(tmp_path):
    assert locked_md5("models/x", tmp_path) == ""


def test_the_committed_dvc_lock_holds_only_stages_of_dvc_yaml():
    """What `git show <commit>:dvc.lock` says about a model must be about a stage that exists:
    DVC never drops the entry of a stage removed from dvc.yaml (only `dvc remove` does), so a
    renamed or regrouped scenario leaves a second, stale md5 for the same folder."""
    with Repo(str(ROOT)) as repo:
        current = {stage.addressing for stage in repo.index.stages}
    locked = set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"])
    stale = sorted(locked - current)
    assert not stale, (
        f"dvc.lock holds entries of stages that are no longer in dvc.yaml: {stale}; "
        "delete them from dvc.lock (DVC keeps them) and commit"
    )
