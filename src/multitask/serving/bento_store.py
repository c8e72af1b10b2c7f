"""The BentoML model store and bentos: store a model folder, build, export and import the bento.

Where things live (BENTOML_HOME): the environment variable when set, otherwise ``.bentoml`` in
the project folder (`multitask.project.project_root`: the user's project even when DVC runs the
package stage in an experiment's temporary copy, as for ``mlflow.db``), so that the pipeline,
``bentoml serve`` and the tests agree without touching ``~/bentoml``; it is git-ignored. Point
BENTOML_HOME anywhere else (e.g. ``~/.cache/multitask/bentoml``) to share one store across clones.

Building: BentoML refuses any build file whose absolute path has a part starting with "."
("Accessing hidden files is not allowed"): every DVC experiment copy has one (.dvc/tmp/exps/...),
and so does a project under a hidden folder. So the bento is always built from a staging copy of
exactly its inputs (the bentofile, the requirements file it names, src/) in a visible temporary
folder; the store is never inside that build context (the bentofile's patterns are anchored with
a leading ``/`` and exclude ``/.bentoml/`` all the same).

The model goes into the bento through the model store (``bentoml.models.create``), with its
`PackagedModel` record as metadata: the folder its backend serves (an ONNX export folder for
onnx-int8 and onnx, the trained model folder for torch), nothing else, so the image carries no
weights it never loads. The bento is pinned to that exact model tag and to the ``serve`` settings
with ``bentoml build --arg model_tag=<tag> --arg serve=<json>`` (see packaged.py); a torch bento
declares requirements-serve-torch.txt instead of requirements-serve.txt.
Build, export and import run the ``bentoml`` CLI in a subprocess whose BENTOML_HOME is explicit:
BentoML memoises its home folder on first use, so one process cannot switch stores, and the CLI
is what a user would run anyway. Exports are atomic (temporary name, then rename).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from multitask.config import Serve
from multitask.errors import PackagingError
from multitask.project import project_root
from multitask.records import BENTO_MODEL_NAME, MODEL_META_FILE, ONNX_META_FILE, PackagedModel

DEFAULT_HOME_DIR = ".bentoml"
TAG_PREFIX = "__tag__:"
TORCH_REQUIREMENTS = "requirements-serve-torch.txt"  # the torch backend's, instead of bentofile's


def bentoml_home(home: str | Path | None = None) -> Path:
    """The BentoML home in use (argument, else BENTOML_HOME, else <project>/.bentoml), absolute.

    Without an argument it also exports BENTOML_HOME, so a later ``import bentoml`` in this
    process and every subprocess agree on the same store.
    """
    if home is not None:
        return Path(home).expanduser().resolve()
    path = Path(os.environ.get("BENTOML_HOME") or project_root() / DEFAULT_HOME_DIR)
    path = path.expanduser().resolve()
    os.environ["BENTOML_HOME"] = str(path)
    return path


def _env(home: Path, src: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["BENTOML_HOME"] = str(home)
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")  # no usage reports from a pipeline stage
    env.setdefault("HF_HUB_OFFLINE", "1")
    if src is not None:  # the service is imported from source while building
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    return env


def _run_bentoml(
    args: Sequence[str], home: Path, cwd: Path | None = None, src: Path | None = None
) -> str:
    """Run ``bentoml <args>`` with this interpreter; return stdout or raise PackagingError."""
    cmd = [sys.executable, "-m", "bentoml", *args]
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(home, src), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PackagingError(
            f"`bentoml {' '.join(args)}` failed (exit {proc.returncode}, "
            f"BENTOML_HOME={home}):\n{tail}"
        )
    return proc.stdout


def store_model(
    model_dir: str | Path, packaged: PackagedModel, name: str = BENTO_MODEL_NAME
) -> str:
    """Copy the folder `packaged.backend` serves into the BentoML model store; return its tag
    ``name:version``: a saved model folder (torch) or an ONNX export folder (onnx-int8, onnx).

    The `packaged` record becomes the model's metadata (read back by the service) and its short
    labels (registered name, version, run id, scenario, backend). Runs in this process.
    """
    model_dir = Path(model_dir)
    meta = MODEL_META_FILE if packaged.backend == "torch" else ONNX_META_FILE
    if not (model_dir / meta).is_file():
        raise PackagingError(
            f"not a folder the {packaged.backend} backend serves: {model_dir / meta} is missing"
        )
    home = bentoml_home()
    import bentoml

    # BentoML metadata takes no None: absent fields read back as their defaults (None).
    labels, metadata = packaged.bento_labels(), packaged.model_dump(mode="json", exclude_none=True)
    with bentoml.models.create(name, labels=labels, metadata=metadata) as bm:
        shutil.copytree(model_dir, bm.path, dirs_exist_ok=True)
        tag = str(bm.tag)
    stored = Path(bentoml.models.get(tag).path).resolve()  # bm.path was a temporary folder
    if not stored.is_relative_to(home):
        raise PackagingError(
            f"BentoML in this process already uses another store ({stored.parent.parent}); "
            f"set BENTOML_HOME={home} before anything imports bentoml"
        )
    return tag


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") for part in path.resolve().parts)


def visible_tmp() -> Path:
    """A writable temporary folder whose path BentoML accepts (no part starting with ".")."""
    # The standard places, in order; the build copies only public inputs into a fresh subfolder.
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp"):  # nosec B108
        path = Path(candidate)
        if path.is_dir() and os.access(path, os.W_OK) and not _hidden(path):
            return path.resolve()
    raise PackagingError(
        "no writable temporary folder outside hidden folders to build the bento in: set TMPDIR"
    )


@contextlib.contextmanager
def staged_build_context(
    project: Path,
    bentofile: str = "bentofile.yaml",
    requirements: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """A throw-away copy of the bento's build inputs: the bentofile, the requirements file it
    names (or `requirements`, written into the staged bentofile instead) and src/ without caches
    or dot files (the bentofile's patterns pick what goes in). `labels` join the bentofile's."""
    config = yaml.safe_load((project / bentofile).read_text(encoding="utf-8")) or {}
    if labels:
        config["labels"] = {**(config.get("labels") or {}), **labels}
    if requirements:
        config.setdefault("python", {})["requirements_txt"] = requirements
    requirements = (config.get("python") or {}).get("requirements_txt")
    files = [requirements] if requirements else []
    with tempfile.TemporaryDirectory(prefix="bento-build-", dir=visible_tmp()) as tmp:
        ctx = Path(tmp)
        (ctx / bentofile).parent.mkdir(parents=True, exist_ok=True)
        (ctx / bentofile).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        for rel in files:
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / rel, ctx / rel)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        shutil.copytree(project / "src", ctx / "src", ignore=ignore)
        yield ctx


def build_bento(
    model_tag: str,
    serve: Serve,
    build_dir: str | Path = ".",
    bentofile: str = "bentofile.yaml",
    home: str | Path | None = None,
    torch: bool = False,
    labels: Mapping[str, str] | None = None,
) -> str:
    """``bentoml build`` pinned to `model_tag` and `serve`; return the bento tag (name:version).

    `build_dir` is the checkout whose code goes into the bento (in a DVC experiment: its
    temporary copy, i.e. the experiment's code); the build runs on a staged copy of it.
    `torch`: the model is served by PyTorch, so the staged bentofile declares TORCH_REQUIREMENTS.
    `labels`: the bento's labels (the package stage gives the model's lineage).
    """
    requirements = TORCH_REQUIREMENTS if torch else None
    with staged_build_context(Path(build_dir).resolve(), bentofile, requirements, labels) as ctx:
        args = ["build", str(ctx), "-f", str(ctx / bentofile), "-o", "tag"]
        args += ["--arg", f"model_tag={model_tag}", "--arg", f"serve={serve.model_dump_json()}"]
        out = _run_bentoml(args, bentoml_home(home), cwd=ctx, src=ctx / "src")
    for line in reversed(out.splitlines()):
        if line.strip().startswith(TAG_PREFIX):
            return line.strip()[len(TAG_PREFIX) :]
    raise PackagingError(f"`bentoml build` printed no {TAG_PREFIX} line:\n{out[-2000:]}")


def export_bento(tag: str, dest: str | Path, home: str | Path | None = None) -> Path:
    """Export a bento (with its model) to the file `dest`, atomically; return its absolute path."""
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name ends in ".bento" so BentoML neither appends nor guesses an extension.
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp.bento")
    try:
        _run_bentoml(["export", tag, str(tmp)], bentoml_home(home))
        if not tmp.is_file():
            raise PackagingError(f"`bentoml export {tag}` wrote no file at {tmp}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def bento_tag_of(path: str | Path) -> str:
    """Read ``name:version`` from an exported .bento file (an xz tarball holding bento.yaml)."""
    path = Path(path)
    try:
        with tarfile.open(path, "r:*") as tar:
            member = next(
                (m for m in tar.getmembers() if m.name.lstrip("./") == "bento.yaml"), None
            )
            if member is None:
                raise PackagingError(f"{path} holds no bento.yaml: not an exported bento")
            handle = tar.extractfile(member)
            info = yaml.safe_load(handle.read()) if handle else None
    except (OSError, tarfile.TarError) as err:
        raise PackagingError(f"cannot read {path}: {err}") from None
    if not isinstance(info, dict) or "name" not in info or "version" not in info:
        raise PackagingError(f"{path}: bento.yaml has no name and version")
    return f"{info['name']}:{info['version']}"


def import_bento(path: str | Path, home: str | Path | None = None) -> str:
    """Import an exported .bento (bento + model) into the store; return its tag.

    Idempotent: a bento already in the store is left as it is.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise PackagingError(f"no bento file at {path}: run `dvc repro package` first")
    tag = bento_tag_of(path)
    where = bentoml_home(home)
    name, version = tag.split(":", 1)
    if (where / "bentos" / name / version / "bento.yaml").is_file():
        return tag
    _run_bentoml(["import", str(path)], where)
    return tag
