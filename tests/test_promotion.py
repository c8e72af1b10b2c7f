"""`multitask promote` refuses to promote anything the workspace does not package.

Unit tests of the checks made before anything is imported or the alias moves: champion.json and
dist/bento.json must name the same registry version and run, and dist/multitask.bento must be
the file bento.json describes. (The whole path, after a real `dvc exp apply`, is in
tests/test_pipeline_experiments.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from multitask.errors import UsageError
from multitask.io import file_digest
from multitask.promotion import promote
from multitask.records import BentoRecord, Champion, DvcContext, ModelVersion

VERSION = ModelVersion(name="m", version=4, run_id="r4", scenario="s", metrics={})


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    Champion(
        **VERSION.model_dump(),
        selected_by="val/f1_mean",
        labels={},
        registered_as="candidate",
        dvc=DvcContext(mode="exp-queue", exp_name="sweep-b", baseline_rev="a" * 40),
    ).write(tmp_path / "champion.json")
    (tmp_path / "dist").mkdir()
    bento = tmp_path / "dist" / "multitask.bento"
    bento.write_bytes(b"not really a bento")
    BentoRecord(
        bento_tag="multitask:abc",
        model_tag="multitask-model:def",
        bento_file="dist/multitask.bento",
        bento_sha256=file_digest(bento),
        champion=VERSION,
    ).write(tmp_path / "dist" / "bento.json")
    return tmp_path


def test_a_missing_champion_json_says_what_to_run(tmp_path):
    with pytest.raises(UsageError, match="dvc exp apply"):
        promote(tmp_path / "champion.json", tmp_path / "dist")


def test_bento_json_must_package_the_champion_json_version(workspace):
    other = VERSION.model_copy(update={"version": 3, "run_id": "r3"})
    record = BentoRecord.read(workspace / "dist" / "bento.json")
    record.model_copy(update={"champion": other}).write(workspace / "dist" / "bento.json")
    with pytest.raises(UsageError, match="packages m version 3"):
        promote(workspace / "champion.json", workspace / "dist")


def test_the_bento_file_must_be_the_one_bento_json_describes(workspace):
    (workspace / "dist" / "multitask.bento").write_bytes(b"something else")
    with pytest.raises(UsageError, match="dvc checkout"):
        promote(workspace / "champion.json", workspace / "dist")
    (workspace / "dist" / "multitask.bento").unlink()
    with pytest.raises(UsageError, match="missing"):
        promote(workspace / "champion.json", workspace / "dist")
