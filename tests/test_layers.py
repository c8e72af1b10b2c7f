"""The house rules, checked on the import graph (static, imports inside functions included).

- Import direction: the bottom layer (config, errors, records, io, signals, project) imports
  nothing above it; `data` and `model` only the bottom; `training` the bottom, `data` and
  `model`; `tracking` the bottom and `model`; `serving` the bottom and `model`, never
  `training`, `tracking` or `data`. Only `tracking` imports mlflow, only `serving` imports
  bentoml (stage scripts reach both through them). The torch-free modules stay torch-free.
- dvc.yaml: every stage's deps cover each project file its command runs or loads (the closure
  of its script, plus the service a bento build imports), and name nothing else under src/, so
  editing a module reruns exactly the stages that run it.
- bentofile.yaml packs exactly the service's closure: no training, tracking, data or harness.
"""

from __future__ import annotations

import ast
import fnmatch
import shlex
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from harness.imports import SRC, closure, imported_names, module_file, module_name
from tests.conftest import ROOT

BOTTOM = {"config", "errors", "records", "io", "signals", "project"}
ROOMS = {"data", "model", "training", "tracking", "serving"}
MAY_IMPORT = {  # room -> the rooms (besides the bottom layer) it may import
    "bottom": set(),
    "data": set(),
    "model": set(),
    "training": {"data", "model"},
    "tracking": {"model"},
    "serving": {"model"},
    "top": {"data", "model", "training", "tracking", "serving"},  # console, cli
}
THIRD_PARTY_OWNER = {"mlflow": "tracking", "bentoml": "serving"}
TORCH_FREE = {  # modules that must never import torch (the ONNX serving path, the contract)
    "multitask.config", "multitask.errors", "multitask.records", "multitask.io",
    "multitask.signals", "multitask.project", "multitask.model.inputs", "multitask.model.outputs",
    "multitask.model.onnx_runtime", "multitask.model.gate",
    "multitask.serving.contract", "multitask.serving.guard", "multitask.serving.state",
    "multitask.serving.batching", "multitask.serving.packaged", "multitask.serving.answers",
    "multitask.serving.backend", "multitask.serving.onnx_backend",
}  # fmt: skip
HEAVY = {"torch", "transformers", "safetensors", "sentence_transformers"}  # not in the ONNX image


def room(module: str) -> str:
    """multitask.training.loop -> training; multitask.config -> bottom; multitask.cli -> top."""
    parts = module.split(".")
    if len(parts) < 2:
        return "top"
    if parts[1] in ROOMS:
        return parts[1]
    return "bottom" if parts[1] in BOTTOM else "top"


def rule_violations(module: str, imported: Iterable[str]) -> list[str]:
    """What `module` breaks by importing `imported` (absolute module names)."""
    own = room(module)
    bad = []
    for name in imported:
        top = name.split(".")[0]
        if top == "multitask" and name != "multitask":
            other = room(name)
            if other != own and other != "bottom" and other not in MAY_IMPORT[own]:
                bad.append(f"{module} ({own}) imports {name} ({other})")
            if own == "bottom" and other != "bottom":
                bad.append(f"{module} (bottom layer) imports {name}")
        elif top in THIRD_PARTY_OWNER and own != THIRD_PARTY_OWNER[top]:
            bad.append(f"{module} imports {top}: only {THIRD_PARTY_OWNER[top]}/ may")
        elif top in HEAVY and module in TORCH_FREE:
            bad.append(f"{module} imports {top} but must stay torch-free")
    return bad


def package_files() -> list[Path]:
    return sorted((SRC / "multitask").rglob("*.py"))


def test_import_rules_hold() -> None:
    bad = [v for f in package_files() for v in rule_violations(module_name(f), imported_names(f))]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("multitask.serving.guard", "multitask.training.loop"),
        ("multitask.serving.service", "multitask.tracking.registry"),
        ("multitask.serving.backend", "multitask.data.tables"),
        ("multitask.records", "multitask.model.network"),
        ("multitask.model.network", "multitask.training.scenarios"),
        ("multitask.training.loop", "mlflow"),
        ("multitask.data.tables", "bentoml"),
        ("multitask.serving.contract", "torch"),
        ("multitask.serving.onnx_backend", "transformers"),
        ("multitask.model.onnx_runtime", "torch"),
        ("multitask.tracking.store", "multitask.serving.packaged"),
        ("multitask.project", "multitask.tracking.store"),
        ("multitask.promotion", "mlflow"),
    ],
)
def test_a_forbidden_import_is_caught(module: str, imported: str) -> None:
    assert rule_violations(module, [imported])


def test_the_onnx_serving_path_is_torch_free_all_the_way_down() -> None:
    """Everything the ONNX backend imports, transitively, is torch-free (the service imports the
    torch backend only when a bento serves torch: that import sits in `load_backend`)."""
    entry = module_file("multitask.serving.onnx_backend")
    assert entry is not None
    reached = {module_name(p) for p in closure([entry]) if p.suffix == ".py"}
    assert not reached - TORCH_FREE - {"multitask", "multitask.model", "multitask.serving"}
    heavy = {m: sorted(HEAVY & {n.split(".")[0] for n in imported_names(module_file(m))})
             for m in reached}  # fmt: skip
    assert not {m: h for m, h in heavy.items() if h}


def test_stage_scripts_reach_mlflow_and_bentoml_only_through_the_library() -> None:
    for script in sorted((ROOT / "pipeline").glob("*.py")):
        tops = {name.split(".")[0] for name in imported_names(script)}
        assert not tops & {"mlflow", "bentoml"}, script


# -- dvc.yaml deps ---------------------------------------------------------------------------
def _inert(path: Path) -> bool:
    """A package __init__ holding only a docstring: importing it runs nothing."""
    if path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def _stages() -> dict[str, dict]:
    """dvc.yaml's stages, a foreach stage taken for the first item of its params dict (all
    items run the same code)."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    out = {}
    for name, stage in spec.items():
        text = yaml.safe_dump(stage.get("do", stage))
        if "foreach" in stage:  # e.g. ${train.scenarios}
            items = params
            for part in stage["foreach"].strip("${}").split("."):
                items = items[part]
            key, item = next(iter(items.items()))
            text = text.replace("${key}", key)
            for field, value in item.items():
                text = text.replace(f"${{item.{field}}}", str(value))
        out[name] = yaml.safe_load(text)
    return out


def _entries(stage: dict) -> list[Path]:
    argv = shlex.split(stage["cmd"])
    assert argv[0] == "python", stage["cmd"]
    entries = [ROOT / argv[1]]
    if "bentofile.yaml" in stage.get("deps", []):  # the bento build imports the service
        service = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["service"]
        entries.append(module_file(service.split(":")[0]))
    return entries


def _dep_paths(stage: dict) -> list[Path]:
    return [ROOT / (d if isinstance(d, str) else next(iter(d))) for d in stage.get("deps", [])]


def _covered(path: Path, deps: list[Path]) -> bool:
    return any(path == d or path.is_relative_to(d) for d in deps)


@pytest.mark.parametrize("name", list(_stages()))
def test_stage_deps_cover_the_code_it_runs(name: str) -> None:
    stage = _stages()[name]
    deps = _dep_paths(stage)
    runs = {p for p in closure(_entries(stage)) if not _inert(p)}
    missing = sorted(p.relative_to(ROOT).as_posix() for p in runs if not _covered(p, deps))
    assert not missing, (
        f"dvc.yaml stage {name!r} runs these files but lacks them in deps: {missing}"
    )
    # ... and nothing else of ours: a dep on code the stage never runs reruns it for nothing.
    ours = [
        d for d in deps if d.is_relative_to(ROOT / "src") or d.is_relative_to(ROOT / "pipeline")
    ]
    extra = [
        d.relative_to(ROOT).as_posix()
        for d in ours
        if not any(p == d or p.is_relative_to(d) for p in runs)
        or (d.is_dir() and any(f not in runs and not _inert(f) for f in d.rglob("*.py")))
    ]
    assert not extra, f"dvc.yaml stage {name!r} depends on code it does not run: {extra}"


# -- what the bento packs --------------------------------------------------------------------
def bento_files() -> set[Path]:
    """The files bentofile.yaml's anchored include/exclude patterns select under src/."""
    spec = yaml.safe_load((ROOT / "bentofile.yaml").read_text())

    def matches(rel: str, pattern: str) -> bool:
        pattern = pattern.lstrip("/")
        return fnmatch.fnmatch(rel, pattern) or rel.startswith(pattern.rstrip("/") + "/")

    selected = set()
    for path in (SRC / "multitask").rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        wanted = any(matches(rel, p) for p in spec["include"])
        if wanted and path.is_file() and not any(matches(rel, p) for p in spec["exclude"]):
            selected.add(path)
    return selected


def service_closure() -> set[Path]:
    service = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["service"].split(":")[0]
    return closure([module_file(service)])


def test_the_bento_packs_exactly_what_the_service_imports() -> None:
    packed, needed = bento_files(), service_closure()
    assert not needed - packed, f"the service needs, the bento lacks: {sorted(needed - packed)}"
    assert not packed - needed, f"packed, never imported: {sorted(packed - needed)}"
    for path in packed:
        assert room(module_name(path)) not in {"training", "tracking", "data"}, path


# -- small rooms -----------------------------------------------------------------------------
MAX_LINES = 400
MAX_SERVICE_LINES = 200


def test_every_module_is_small() -> None:
    sizes = {f: len(f.read_text().splitlines()) for f in package_files()}
    big = {str(f.relative_to(ROOT)): n for f, n in sizes.items() if n >= MAX_LINES}
    assert not big, f"modules of {MAX_LINES}+ lines: {big}"
    service = module_file("multitask.serving.service")
    assert sizes[service] < MAX_SERVICE_LINES, f"the service module has {sizes[service]} lines"
