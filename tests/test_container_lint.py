"""Static checks of the container and CI files: Dockerfile, .dockerignore, workflows, scripts.

Runs hadolint and actionlint (the pinned PyPI builds in the venv) and asserts the rules the design
fixes: a non-root image that exposes 3000 with a HEALTHCHECK and no BuildKit-only syntax, and
workflows with least-privilege permissions. Seconds, no Docker engine needed; the image itself is
exercised by scripts/docker/smoke.sh (make docker-smoke).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = sorted((ROOT / "scripts" / "docker").glob("*.sh"))


def _tool(name: str) -> str:
    """The linter next to this interpreter (the project venv), else on PATH, else skip."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements-dev.txt)")
    return found


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        buf += " " + line[:-1] if line.endswith("\\") else " " + line
        if not line.endswith("\\"):
            word, _, rest = buf.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            buf = ""
    return out


def _stages(instr: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for item in instr:
        if item[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(item)
    return stages


def _arg(instr: list[tuple[str, str]], name: str) -> str:
    for word, rest in instr:
        if word == "ARG" and rest.startswith(name + "="):
            return rest.split("=", 1)[1].strip('"')
    raise AssertionError(f"no ARG {name}=... in the Dockerfile")


def _pins(name: str = "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _workflows() -> dict[str, dict]:
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert files, "no workflows under .github/workflows"
    return {f.name: yaml.safe_load(f.read_text()) for f in files}


def _triggers(wf: dict) -> dict:
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on:` key as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def _writes(perms) -> set[str]:
    if perms in ("write-all",):
        return {"*"}
    if not isinstance(perms, dict):
        return set()
    return {scope for scope, level in perms.items() if level == "write"}


# --- linters -----------------------------------------------------------------------------------


def test_hadolint_clean():
    proc = subprocess.run(
        [_tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_clean():
    proc = subprocess.run(
        [_tool("actionlint"), "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script: Path):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script.read_text()


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_final_stage_runs_as_non_root():
    final = _stages(_instructions(DOCKERFILE))[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"final USER is {users[-1]}"


def test_dockerfile_exposes_3000_and_has_a_healthcheck():
    instr = _instructions(DOCKERFILE)
    final = _stages(instr)[-1]
    assert ("EXPOSE", "3000") in final
    checks = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert checks and "NONE" not in checks[-1].upper()
    assert "/readyz" in checks[-1]
    cmd = [rest for word, rest in final if word == "CMD"]
    assert cmd and cmd[-1].startswith("["), "CMD should use the exec (JSON) form"
    assert "serve" in cmd[-1]


def test_dockerfile_builds_with_the_classic_builder():
    for word, rest in _instructions(DOCKERFILE):
        assert not (word == "RUN" and "--mount" in rest), "RUN --mount needs BuildKit"
        assert not (word in ("COPY", "ADD") and "--link" in rest), "COPY --link needs BuildKit"
    assert not DOCKERFILE.read_text().startswith("# syntax="), "no BuildKit frontend directive"


def test_dockerfile_bases_are_pinned_tags():
    instr = _instructions(DOCKERFILE)
    stage_names: set[str] = set()
    for word, rest in instr:
        if word != "FROM":
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        image = parts[0]
        if image not in stage_names:
            assert image == "debian:bookworm-slim", f"unexpected base image {image}"
        assert not image.endswith(":latest")
        if len(parts) >= 3 and parts[1].upper() == "AS":
            stage_names.add(parts[2])


def test_dockerfile_installs_the_backend_first_and_the_bento_last():
    """Default image: ONNX Runtime, no torch. BACKEND=torch: the torch wheel in its own layer
    first, then its requirements file; the bento always comes after the dependency layers."""
    text = DOCKERFILE.read_text()
    instr = _instructions(DOCKERFILE)
    assert _arg(instr, "BACKEND") == "onnx", "the default image is the ONNX one"
    torch_at = text.index('"torch==$TORCH_VERSION"')
    guard_at = text.index('if [ "$BACKEND" = torch ]; then')
    rest_at = text.index('-r "/tmp/wheels/$req"')
    bento_at = text.index("COPY dist/multitask.bento")
    assert guard_at < torch_at < rest_at < bento_at
    assert (
        'req=requirements-serve.txt; [ "$BACKEND" = onnx ] || req=requirements-serve-torch.txt'
        in text
    )
    assert "--no-index --find-links" in text, "offline install from wheels/ when present"
    assert "torch in the ONNX image" in text, "the ONNX build fails if torch sneaks in"
    final = _stages(instr)[-1]
    assert not any(w == "RUN" and "pip install" in r for w, r in final), "no pip in the final stage"


def test_serving_pins_agree_with_requirements():
    serve, torch, full = (
        _pins("requirements-serve.txt"),
        _pins("requirements-serve-torch.txt"),
        _pins(),
    )
    assert _arg(_instructions(DOCKERFILE), "TORCH_VERSION") == torch["torch"]
    assert next(iter(torch)) == "torch", "torch comes first in the torch backend's file"
    assert not {"torch", "transformers", "safetensors", "sentence-transformers"} & set(serve), (
        "the default (ONNX) serving requirements hold torch"
    )
    assert {"onnxruntime", "tokenizers", "bentoml"} <= set(serve)
    assert {k: v for k, v in torch.items() if k in serve} == serve, "torch file = ONNX file + torch"
    for name, pins in (("requirements-serve.txt", serve), ("requirements-serve-torch.txt", torch)):
        differ = {n: (pin, full.get(n)) for n, pin in pins.items() if full.get(n) != pin}
        assert not differ, f"{name} vs requirements.txt: {differ}"
        training_only = {"mlflow", "dvc", "pandera", "matplotlib", "scikit-learn", "pandas", "onnx"}
        assert not training_only & set(pins), f"training-only packages in {name}"


def test_dockerignore_is_an_allowlist():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[0] == "*", "exclude everything first"
    allowed = {line[1:] for line in lines[1:] if line.startswith("!")}
    needed_files = ("Dockerfile", "requirements-serve.txt", "requirements-serve-torch.txt")
    for needed in (*needed_files, "dist/multitask.bento", ".dockerignore"):
        assert needed in allowed, f"{needed} is not let back into the build context"
    assert any(a.startswith("wheels/") for a in allowed)


def test_no_package_registry_host_names_in_container_files():
    files = [DOCKERFILE, ROOT / ".dockerignore", *WORKFLOWS.glob("*.yml"), *SCRIPTS]
    for path in files:
        text = path.read_text().lower()
        for host in ("pypi.org", "pythonhosted.org", "pytorch.org"):
            assert host not in text, f"{path.name} names {host}"


# --- workflows ---------------------------------------------------------------------------------


def test_workflows_declare_permissions_everywhere():
    for name, wf in _workflows().items():
        assert "permissions" in wf, f"{name}: no workflow-level permissions"
        assert not _writes(wf["permissions"]), f"{name}: the workflow level grants write"
        for job_id, job in wf["jobs"].items():
            assert "permissions" in job, f"{name}: job {job_id} declares no permissions"


def test_no_pull_request_target():
    for name, wf in _workflows().items():
        assert "pull_request_target" not in _triggers(wf), name
        assert "pull_request_target" not in (WORKFLOWS / name).read_text()


def test_ci_runs_on_push_and_pull_request_read_only():
    wf = _workflows()["ci.yml"]
    triggers = _triggers(wf)
    assert "push" in triggers and "pull_request" in triggers
    assert wf["permissions"] == {"contents": "read"}
    runs = " ".join(
        step.get("run", "") for job in wf["jobs"].values() for step in job.get("steps", [])
    )
    assert "make test" in runs and "make pipeline-tiny" in runs
    assert "scripts/docker/smoke.sh" in runs, "CI smoke-tests the image with the one smoke script"
    for job_id, job in wf["jobs"].items():
        assert not _writes(job["permissions"]), f"ci job {job_id} can write"
    uses = [s.get("uses", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)


def test_publish_writes_packages_only_where_it_pushes():
    wf = _workflows()["publish.yml"]
    triggers = _triggers(wf)
    assert set(triggers) == {"push"}
    assert "main" in triggers["push"]["branches"] and "v*" in triggers["push"]["tags"]
    pushing = []
    for job_id, job in wf["jobs"].items():
        uses = [s.get("uses", "") for s in job.get("steps", [])]
        pushes = any(u.startswith("docker/build-push-action@") for u in uses)
        writes = _writes(job["permissions"])
        if pushes:
            pushing.append(job_id)
            assert job["permissions"] == {"contents": "read", "packages": "write"}, job_id
            assert any(u.startswith("docker/login-action@") for u in uses)
            assert any(u.startswith("docker/metadata-action@") for u in uses)
            assert any(u.startswith("docker/setup-buildx-action@") for u in uses)
        else:
            assert not writes, f"publish job {job_id} does not push but can write {writes}"
    assert pushing, "no job runs docker/build-push-action"


def test_no_secrets_in_run_steps():
    for name, wf in _workflows().items():
        for job_id, job in wf["jobs"].items():
            for step in job.get("steps", []):
                assert "secrets." not in step.get("run", ""), (
                    f"{name}: {job_id} uses a secret in run"
                )


def _steps(wf: dict, job: str) -> list[dict]:
    return wf["jobs"][job]["steps"]


def _index(steps: list[dict], pred) -> int:
    found = [i for i, step in enumerate(steps) if pred(step)]
    assert found, "no such step"
    return found[0]


def test_publish_ships_the_pinned_bento_or_a_tiny_one_under_tiny_tags():
    """Release: pull_bento.py (dvc.lock's bento from the DVC remote), never a rebuild; fork
    (no DVC_REMOTE_URL): the tiny pipeline, whose image gets only -tiny tags."""
    wf = _workflows()["publish.yml"]
    bento = _steps(wf, "bento")
    release = [s for s in bento if s.get("if") == "steps.mode.outputs.mode == 'release'"]
    tiny = [s for s in bento if s.get("if") == "steps.mode.outputs.mode == 'tiny'"]
    release_runs = " ".join(s.get("run", "") for s in release)
    assert "scripts/publish/pull_bento.py" in release_runs
    assert "scripts/team/dvc_remote.sh" in release_runs
    for step in bento:
        run = step.get("run", "")
        if ("pipeline" in run and "make" in run) or "dvc repro" in run:
            assert step in tiny, f"a pipeline run outside the fork path: {step}"
    mode = next(s for s in bento if s.get("id") == "mode")
    assert "vars.DVC_REMOTE_URL" in mode["env"]["DVC_REMOTE_URL"]
    rules = next(s for s in _steps(wf, "image") if s.get("id") == "rules")["run"]
    release_rules, tiny_rules = rules.split("else")
    assert "latest" in release_rules and "type=semver" in release_rules
    tiny_tags = [ln for ln in tiny_rules.splitlines() if "type=" in ln]
    assert tiny_tags and all("suffix=-tiny" in ln for ln in tiny_tags)
    assert "latest" not in tiny_rules and "semver" not in tiny_rules
    meta = next(s for s in _steps(wf, "image") if s.get("id") == "meta")
    assert meta["with"]["flavor"] == "latest=false", "metadata-action must not add latest itself"


def test_publish_smoke_tests_the_image_before_it_pushes_it():
    wf = _workflows()["publish.yml"]
    steps = _steps(wf, "image")
    build = _index(steps, lambda s: s.get("uses", "").startswith("docker/build-push-action@"))
    assert steps[build]["with"]["push"] is False and steps[build]["with"]["load"] is True
    labels = steps[build]["with"]["labels"]
    assert "steps.meta.outputs.labels" in labels and "steps.bento.outputs.labels" in labels
    assert (
        "scripts/publish/oci_labels.py" in next(s for s in steps if s.get("id") == "bento")["run"]
    )
    smoke = _index(steps, lambda s: "scripts/docker/smoke.sh" in s.get("run", ""))
    assert steps[smoke]["env"]["SKIP_BUILD"] == "1"
    assert steps[smoke]["env"]["IMAGE"] in steps[build]["with"]["tags"]
    login = _index(steps, lambda s: s.get("uses", "").startswith("docker/login-action@"))
    push = _index(steps, lambda s: "docker push" in s.get("run", ""))
    assert build < smoke < login < push, "build, smoke test, then log in and push"
