#!/usr/bin/env python3
"""Pull the bento this commit's dvc.lock pins from the DVC remote, and prove it is that bento.

    pull_bento.py [--remote NAME] [--dvc CMD] [--repo DIR] [--no-pull]

The publish workflow and its test run this; nothing else decides what ships. Checks, in order:
1. dvc.lock's `package` stage records dist/multitask.bento and dist/bento.json (their md5s);
2. the committed dist/bento.json is the one that run wrote (its md5 = dvc.lock's);
3. `dvc pull dist/multitask.bento` (from --remote, else the default remote) succeeds;
4. the pulled file's md5 = dvc.lock's, and its sha256 = dist/bento.json's `bento_sha256`.
Any failure exits 1 with a message saying what to push: the workflow then pushes nothing, and
there is no rebuild fallback (a rebuilt bento is not the one the commit pins). `--no-pull` checks
a bento already in place (steps 1, 2 and 4). Needs `dvc` on PATH (or --dvc) and PyYAML or
ruamel.yaml (DVC's own YAML library) to read dvc.lock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

BENTO = "dist/multitask.bento"
RECORD = "dist/bento.json"
STAGE = "package"
HOW_TO_PUBLISH = """\
The image ships only the bento this commit's dvc.lock pins; nothing was pushed and nothing is
rebuilt. Whoever runs the pipeline for a commit publishes its outputs:
  make pipeline                                   # dist/multitask.bento, dist/bento.json, dvc.lock
  git add dvc.lock dist/bento.json champion.json && git commit
  dvc push                                        # the bento (and models, data) to the DVC remote
then push the commit (the remote: repository variable DVC_REMOTE_URL, see the README)."""


class PublishError(Exception):
    pass


def _load_yaml(text: str) -> dict:
    try:
        import yaml

        return yaml.safe_load(text)
    except ImportError:
        from ruamel.yaml import YAML

        return YAML(typ="safe").load(text)


def pinned(repo: Path) -> dict[str, dict]:
    """dvc.lock's records of the package stage's outputs, by path."""
    lock = repo / "dvc.lock"
    if not lock.is_file():
        raise PublishError(f"{lock} is missing: this commit pins no bento")
    stage = (_load_yaml(lock.read_text(encoding="utf-8")) or {}).get("stages", {}).get(STAGE)
    if not stage:
        raise PublishError(f"dvc.lock has no `{STAGE}` stage: this commit pins no bento")
    outs = {o["path"]: o for o in stage.get("outs", [])}
    for path in (BENTO, RECORD):
        if not outs.get(path, {}).get("md5"):
            raise PublishError(f"dvc.lock's `{STAGE}` stage records no md5 for {path}")
    return outs


def digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dvc_pull(repo: Path, dvc: list[str], remote: str | None) -> None:
    cmd = [*dvc, "pull", *(["-r", remote] if remote else []), BENTO]
    print(f"[pull] {shlex.join(cmd)}", flush=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        said = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        where = f"DVC remote '{remote}'" if remote else "the default DVC remote"
        raise PublishError(f"`dvc pull {BENTO}` from {where} failed:\n{said}")


def check(repo: Path, outs: dict[str, dict]) -> dict:
    record_path, bento = repo / RECORD, repo / BENTO
    want = outs[RECORD]["md5"]
    if not record_path.is_file():
        raise PublishError(f"{RECORD} is missing (it is git-tracked: commit it with dvc.lock)")
    if (got := digest(record_path, "md5")) != want:
        raise PublishError(
            f"{RECORD} (md5 {got}) is not the one dvc.lock records (md5 {want}): "
            "commit dist/bento.json and dvc.lock from the same pipeline run"
        )
    if not bento.is_file():
        raise PublishError(f"{BENTO} is not there")
    want = outs[BENTO]["md5"]
    if (got := digest(bento, "md5")) != want:
        raise PublishError(
            f"{BENTO} has md5 {got}, but dvc.lock pins md5 {want}: the remote holds another file"
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if (got := digest(bento, "sha256")) != record.get("bento_sha256"):
        raise PublishError(
            f"{BENTO} has sha256 {got}, but {RECORD} says {record.get('bento_sha256')}"
        )
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path.cwd())
    parser.add_argument("--remote", default=os.environ.get("DVC_REMOTE") or None)
    parser.add_argument("--dvc", default=os.environ.get("DVC", "dvc"), help="the dvc command")
    parser.add_argument("--no-pull", action="store_true", help="check the bento in place")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    try:
        outs = pinned(repo)
        print(f"[pull] dvc.lock pins {BENTO} md5 {outs[BENTO]['md5']}", flush=True)
        if not args.no_pull:
            dvc_pull(repo, shlex.split(args.dvc), args.remote)
        record = check(repo, outs)
    except PublishError as err:
        prefix = "::error::" if os.environ.get("GITHUB_ACTIONS") == "true" else "error: "
        print(
            f"{prefix}{err}".replace("\n", "%0A" if prefix == "::error::" else "\n"),
            file=sys.stderr,
        )
        print(HOW_TO_PUBLISH, file=sys.stderr)
        return 1
    champion, lineage = record.get("champion", {}), record.get("lineage") or {}
    print(
        f"[pull] OK {BENTO}: md5 = dvc.lock, sha256 = {RECORD}; serves "
        f"{champion.get('name')} v{champion.get('version')} ({champion.get('scenario')}, "
        f"run {champion.get('run_id')}, backend {record.get('backend', 'torch')}, "
        f"pipeline commit {lineage.get('git_commit', 'unknown')})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
