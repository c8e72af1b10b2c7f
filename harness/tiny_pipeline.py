"""Run the real pipeline (`dvc repro`) on a tiny configuration in a temporary copy of the repo.

The copy holds the git-tracked files plus the working tree's changes, a tiny random backbone,
and params shrunk for speed (few rows, 1 epoch); it has its own MLflow store and BentoML home.
Used by CI (`make pipeline-tiny`: `python -m harness.tiny_pipeline`), the integration tests
and the benchmarks.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "generate": {"rows": 480},
    "train": {"epochs": 2, "batch_size": 32},
}


def copy_repo(dst: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    # The committed results of the default run (reports, champion.json, dist/bento.json, the
    # lock) describe another configuration: a tiny copy starts without them, like a new project.
    skip = ("reports/", "dist/", "champion.json", "dvc.lock")
    for rel in filter(None, files):
        if rel.startswith(skip):
            continue
        src = ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@localhost"}
    env |= {"GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@localhost"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "tiny"]):
        subprocess.run(cmd, cwd=dst, check=True, env=env)


def tiny_params(work: Path, overrides: dict | None = None) -> None:
    from harness.tiny import make_tiny_backbone

    params = yaml.safe_load((work / "params.yaml").read_text())
    backbone = make_tiny_backbone(work / ".tiny-backbone")
    params["model"]["backbone"] = str(backbone)
    for section, values in {**TINY, **(overrides or {})}.items():
        params[section].update(values)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def pipeline_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "BENTOML_"))}
    env.update(
        BENTOML_HOME=str(work / ".bentoml"),
        DVC_NO_ANALYTICS="1",
        HF_HUB_OFFLINE="1",
        MULTITASK_PIPELINE_ID="tiny",
        PYTHONFAULTHANDLER="1",  # a native crash in a stage prints its Python stack
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


def prepare(work: Path, overrides: dict | None = None) -> dict[str, str]:
    """Copy the repo into `work` with tiny params; return the environment to run it with."""
    work.mkdir(parents=True, exist_ok=True)
    copy_repo(work)
    (work / ".gitignore").open("a").write("/.tiny-backbone/\n")
    tiny_params(work, overrides)
    return pipeline_env(work)


GIT_ID = {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@localhost"}
GIT_ID |= {"GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@localhost"}  # commits in a copy


def run(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str] | None,
    check: bool = True,
    timeout: float | None = None,
):
    """Run `cmd` in `cwd`, output captured; AssertionError with both streams if it fails.

    Past `timeout` the AssertionError says which of two things happened, with the output so far:
    the command itself still runs, or it ended but a process it started (a daemon that was not
    detached) still holds its stdout or stderr open, so reading them never ends.
    """
    with subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as popen:
        try:
            out, err = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            ended = popen.poll()
            popen.kill()
            why = (
                f"ended (exit {ended}), but a process it started still holds its stdout/stderr"
                if ended is not None
                else "was still running"
            )
            partial = [
                s.decode(errors="replace") if isinstance(s, bytes) else s or ""
                for s in (e.stdout, e.stderr)
            ]
            raise AssertionError(
                f"{cmd} {why} after {timeout} s:\n{partial[0][-4000:]}\n{partial[1][-4000:]}"
            ) from None
    proc = subprocess.CompletedProcess(cmd, popen.returncode, out, err)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def commit_all(work: Path, env: dict[str, str], message: str) -> None:
    """`git add -A` and commit in the copy, as a user commits dvc.lock after a run."""
    run(["git", "add", "-A"], work, env)
    run(["git", "commit", "-qm", message], work, env)


def stage_command(work: Path, stage: str) -> list[str]:
    """The command dvc.yaml runs for `stage` (e.g. ``train@full_finetune``), as an argv with this
    interpreter: tests that start a stage by hand use exactly dvc.yaml's paths."""
    name, _, key = stage.partition("@")
    spec = yaml.safe_load((work / "dvc.yaml").read_text())["stages"][name]
    argv = shlex.split(spec.get("do", spec)["cmd"].replace("${key}", key))
    return [sys.executable if argv[0] == "python" else argv[0], *argv[1:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, help="keep the copy here (default: a temp dir)")
    parser.add_argument("--bento-out", type=Path, help="copy dist/multitask.bento here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="multitask-tiny-"))
    env = prepare(work)
    print(f"tiny pipeline in {work}", flush=True)
    subprocess.run(["dvc", "repro"], cwd=work, env=env, check=True)
    if args.bento_out:
        args.bento_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / "dist" / "multitask.bento", args.bento_out)
        shutil.copy2(work / "dist" / "bento.json", args.bento_out.parent / "bento.json")
        print(f"bento -> {args.bento_out}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
