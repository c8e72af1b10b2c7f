"""Where the user's project is, how DVC is running us, what its dvc.lock records (bottom layer).

DVC runs a stage in one of four ways (measured with DVC 3.67 by a probe stage):

    started by                      stage cwd                                  DVC_EXP_NAME
    dvc repro                       the project                                unset
    dvc exp run (workspace)         the project                                set
    dvc exp run --temp              <project>/.dvc/tmp/exps/standalone/tmpXXX  set
    dvc exp run --queue + start     <project>/.dvc/tmp/exps/tmpXXX             set

In every case DVC sets DVC_ROOT to the ORIGINAL project (for experiments on purpose: "point to
the parent DVC repo root, not an executor tempdir root"), and for experiments DVC_EXP_NAME and
DVC_EXP_BASELINE_REV. A temporary copy holds only git-tracked files and the workspace's changes,
and DVC deletes it afterwards; so the project's git-ignored state (mlflow.db, mlartifacts/,
.bentoml/) is found through `project_root()`, never through the working directory. The path
structure is a second, independent signal: DVC_ROOT and it must agree, or we refuse to guess.
A DVC_ROOT that does not contain the working directory was inherited from some other DVC run
(DVC keeps an existing DVC_ROOT for plain `dvc repro`) and is ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from multitask.errors import ConfigError

Mode = Literal["repro", "exp-workspace", "exp-temp", "exp-queue"]
EXPS_TMP = (".dvc", "tmp", "exps")  # DVC's executor folders: <root>/.dvc/tmp/exps/...
STANDALONE = "standalone"  # --temp executors live one level deeper
ROOT_VAR, NAME_VAR, BASELINE_VAR = "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"


def _here(cwd: str | Path | None) -> Path:
    return Path(cwd if cwd is not None else os.getcwd()).resolve()


def executor_root(cwd: str | Path | None = None) -> tuple[Path, bool] | None:
    """(project, is --temp) when `cwd` lies in a DVC executor copy <project>/.dvc/tmp/exps/X/...

    None outside one. Only a folder BELOW exps/ counts (exps/ itself is DVC's bookkeeping).
    """
    parts = _here(cwd).parts
    for i in range(1, len(parts) - len(EXPS_TMP)):
        if parts[i : i + len(EXPS_TMP)] == EXPS_TMP:
            below = parts[i + len(EXPS_TMP) :]
            return Path(*parts[:i]), below[0] == STANDALONE and len(below) > 1
    return None


def project_root(cwd: str | Path | None = None) -> Path:
    """The project the user works in, even from an experiment's temporary copy.

    Inside an executor copy: the project the path names, cross-checked against DVC_ROOT
    (ConfigError if they disagree). Elsewhere: DVC_ROOT when it contains the working directory,
    else the working directory itself.
    """
    here = _here(cwd)
    env_root = os.environ.get(ROOT_VAR)
    dvc_root = Path(env_root).resolve() if env_root else None
    found = executor_root(here)
    if found is not None:
        root = found[0]
        if dvc_root is not None and dvc_root != root:
            raise ConfigError(
                f"this stage runs in a DVC experiment copy of {root}, but DVC_ROOT={env_root}: "
                "refusing to guess which project's MLflow and BentoML stores to write to "
                "(unset DVC_ROOT in the shell that runs dvc)"
            )
        return root
    if dvc_root is not None and here.is_relative_to(dvc_root):
        return dvc_root
    return here


@dataclass(frozen=True)
class DvcRun:
    """How this process was started, as far as DVC tells: the champion rule and the run tags."""

    mode: Mode
    exp_name: str | None  # DVC_EXP_NAME: the name `dvc exp show` lists
    baseline_rev: str | None  # DVC_EXP_BASELINE_REV: the commit the experiment started from
    root: Path  # the user's project (see project_root)

    @property
    def in_experiment(self) -> bool:
        return self.mode != "repro"

    @property
    def temporary(self) -> bool:
        """Running in a copy that DVC deletes afterwards (--temp, --queue)."""
        return self.mode in ("exp-temp", "exp-queue")

    @property
    def moves_champion(self) -> bool:
        """The champion rule: only `dvc repro` (outside any DVC experiment) moves `champion`.

        Every `dvc exp run` (workspace, --temp, --queue) registers a candidate version tagged
        with its experiment name; `multitask promote` promotes it after `dvc exp apply`.
        """
        return not self.in_experiment

    def tags(self) -> dict[str, str]:
        """MLflow tags that let the UI filter one experiment (dvc.exp_name) or a sweep
        (dvc.baseline_rev), and say how the run was made (dvc.mode)."""
        tags = {"dvc.mode": self.mode}
        if self.exp_name:
            tags["dvc.exp_name"] = self.exp_name
        if self.baseline_rev:
            tags["dvc.baseline_rev"] = self.baseline_rev
        return tags


def dvc_run(cwd: str | Path | None = None) -> DvcRun:
    """How DVC runs this process (`repro` also covers a stage script started by hand)."""
    here = _here(cwd)
    root = project_root(here)
    name = os.environ.get(NAME_VAR) or None
    found = executor_root(here)
    mode: Mode
    if found is not None:
        mode = "exp-temp" if found[1] else "exp-queue"
    else:
        mode = "exp-workspace" if name else "repro"
    return DvcRun(mode, name, os.environ.get(BASELINE_VAR) or None, root)


def locked_md5(path: str | Path, repo_dir: str | Path = ".") -> str:
    """The md5 dvc.lock records for output `path` of the dvc.yaml stage that produces it ("" when
    no stage of the DVC project at `repo_dir` does, or there is no DVC project).

    DVC writes dvc.lock after each stage, so a later stage (register) reads the md5 of what an
    earlier one (train) produced in this same run: DVC's own hash of the folder, the one a user
    finds with `git show <commit>:dvc.lock`. DVC resolves the stages: dvc.lock keeps entries of
    stages that left dvc.yaml (a scenario renamed or moved to another stage group), so a plain
    scan of the lock file can return the md5 of a model trained by a stage that no longer exists.
    Reading the index does not take DVC's repo lock, so this works inside a running `dvc repro`.
    """
    from dvc.exceptions import NotDvcRepoError  # heavy imports, only for the register stage
    from dvc.repo import Repo

    want = Path(path).as_posix().rstrip("/")
    try:
        repo = Repo(os.fspath(repo_dir))
    except NotDvcRepoError:
        return ""
    with repo:
        for stage in repo.index.stages:
            for out in stage.outs:
                if out.def_path.rstrip("/") == want:
                    return str(out.hash_info.value or "")
    return ""
