"""Unit: the publish scripts without DVC or Docker: oci_labels.py (labels from dist/bento.json,
checking an image's labels) and pull_bento.py's checks against dvc.lock (`--no-pull`)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import yaml

from multitask.records import BentoRecord, Lineage, ModelVersion
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts" / "publish"))
import oci_labels
import pull_bento

LINEAGE = Lineage(
    registered_name="multitask-sentence-transformer",
    version=3,
    run_id="abc123",
    scenario="full_finetune",
    git_commit="0" * 40,
    data_digest="d" * 16,
    model_md5="f" * 32 + ".dir",
)
CHAMPION = ModelVersion(
    name=LINEAGE.registered_name, version=3, run_id="abc123", scenario="full_finetune"
)


def _record(bento: bytes = b"bento", lineage: Lineage | None = LINEAGE) -> BentoRecord:
    return BentoRecord(
        bento_tag="multitask:v1",
        model_tag="multitask-model:m1",
        bento_file="dist/multitask.bento",
        bento_sha256=hashlib.sha256(bento).hexdigest(),
        champion=CHAMPION,
        backend="onnx-int8",
        lineage=lineage,
    )


def test_model_labels_are_the_lineage_record_s_labels():
    labels = oci_labels.model_labels(_record().model_dump(mode="json"))
    lineage_part = {k: v for k, v in labels.items() if k.startswith(oci_labels.PREFIX)}
    assert lineage_part == LINEAGE.labels(oci_labels.PREFIX)
    assert labels["io.multitask.served_backend"] == "onnx-int8"
    assert labels["io.multitask.bento_tag"] == "multitask:v1"


def test_cli_formats(tmp_path, capsys):
    path = tmp_path / "bento.json"
    _record().write(path)
    source = ["--source", "https://example.invalid/o/r", "--revision", "c0ffee", "--created", "t"]
    assert oci_labels.main([str(path), "--format", "args", *source]) == 0
    args = capsys.readouterr().out.splitlines()
    assert "--label=org.opencontainers.image.revision=c0ffee" in args
    assert "--label=io.multitask.model.data_digest=" + "d" * 16 in args
    assert all(a.startswith("--label=") for a in args)
    assert oci_labels.main([str(path), "--format", "lines"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "io.multitask.model.version=3" in lines
    assert not any(ln.startswith("org.opencontainers") for ln in lines)  # none given
    assert oci_labels.main([str(path), "--format", "json", *source]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert as_json["org.opencontainers.image.source"] == "https://example.invalid/o/r"
    assert as_json["io.multitask.model.run_id"] == "abc123"


def test_a_record_without_lineage_gives_the_champion_or_is_refused(tmp_path, capsys):
    path = tmp_path / "bento.json"
    _record(lineage=None).write(path)
    assert oci_labels.main([str(path)]) == 0
    labels = dict(ln.split("=", 1) for ln in capsys.readouterr().out.splitlines())
    assert labels["io.multitask.model.version"] == "3"
    assert "io.multitask.model.data_digest" not in labels
    assert oci_labels.main([str(path), "--require-lineage"]) == 2
    assert "no lineage" in capsys.readouterr().err


def test_verify_names_what_differs(tmp_path, capsys):
    path = tmp_path / "bento.json"
    _record().write(path)
    good = {
        **oci_labels.model_labels(_record().model_dump(mode="json")),
        **oci_labels.oci_labels("s", "r", "c"),
    }
    image = tmp_path / "labels.json"
    image.write_text(json.dumps(good))
    assert oci_labels.main([str(path), "--verify", str(image), "--require-oci"]) == 0
    bad = {**good, "io.multitask.model.version": "2"}
    del bad["org.opencontainers.image.revision"]
    image.write_text(json.dumps(bad))
    assert oci_labels.main([str(path), "--verify", str(image)]) == 1
    err = capsys.readouterr().err
    assert "io.multitask.model.version: image has '2', bento.json says '3'" in err
    assert oci_labels.main([str(path), "--verify", str(image), "--require-oci"]) == 1
    assert "org.opencontainers.image.revision: missing" in capsys.readouterr().err
    image.write_text("null")  # an image without any label
    assert oci_labels.main([str(path), "--verify", str(image)]) == 1


# -- pull_bento.py's checks -----------------------------------------------------------------------
@pytest.fixture
def repo(tmp_path) -> Path:
    """A checkout whose dvc.lock pins the bento and bento.json that lie in dist/."""
    bento = b"the pinned bento"
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "multitask.bento").write_bytes(bento)
    _record(bento).write(tmp_path / "dist" / "bento.json")
    md5 = {
        p: hashlib.md5((tmp_path / p).read_bytes(), usedforsecurity=False).hexdigest()
        for p in ("dist/multitask.bento", "dist/bento.json")
    }
    outs = [{"path": p, "hash": "md5", "md5": m, "size": 1} for p, m in md5.items()]
    lock = {"schema": "2.0", "stages": {"package": {"cmd": "x", "outs": outs}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    return tmp_path


def _pull(repo: Path, capsys) -> tuple[int, str]:
    rc = pull_bento.main(["--repo", str(repo), "--no-pull"])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_pull_check_accepts_the_pinned_bento(repo, capsys):
    rc, said = _pull(repo, capsys)
    assert rc == 0, said
    assert "OK dist/multitask.bento" in said and "v3" in said


@pytest.mark.parametrize(
    "spoil, why",
    [
        (lambda r: (r / "dist" / "multitask.bento").write_bytes(b"rebuilt"), "dvc.lock pins md5"),
        (lambda r: (r / "dist" / "multitask.bento").unlink(), "is not there"),
        (lambda r: (r / "dvc.lock").unlink(), "pins no bento"),
        (
            lambda r: (r / "dist" / "bento.json").write_text("{}"),
            "is not the one dvc.lock records",
        ),
    ],
    ids=["another-bento", "no-bento", "no-lock", "bento-json-of-another-run"],
)
def test_pull_check_refuses_and_says_what_to_push(repo, capsys, spoil, why):
    spoil(repo)
    rc, said = _pull(repo, capsys)
    assert rc == 1 and why in said, said
    assert "make pipeline" in said and "dvc push" in said and "nothing was pushed" in said


def test_pull_check_refuses_a_bento_json_whose_sha256_disagrees(repo, capsys):
    path = repo / "dist" / "bento.json"
    record = json.loads(path.read_text()) | {"bento_sha256": "0" * 64}
    path.write_text(json.dumps(record))
    lock = yaml.safe_load((repo / "dvc.lock").read_text())  # committed together: same md5
    new_md5 = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    lock["stages"]["package"]["outs"][1]["md5"] = new_md5
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    rc, said = _pull(repo, capsys)
    assert rc == 1 and "but dist/bento.json says" in said, said
