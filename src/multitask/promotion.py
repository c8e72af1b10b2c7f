"""`multitask promote`: make the registry alias, champion.json and the packaged bento agree.

A DVC experiment registers a candidate version and packages it, but moves no alias (the
champion rule, `multitask.project.DvcRun.moves_champion`). `dvc exp apply <name>` then brings
the experiment's champion.json, dist/bento.json and (from the DVC cache) dist/multitask.bento into
the workspace, and `dvc repro` has nothing left to run. Promoting checks that these three name
the same registry version and run, that the .bento file is the one bento.json describes, and
that the registry's version comes from that run; it imports the bento into the project's
BentoML store (idempotent) and points `champion` at the version (the old one keeps `previous`).

Nothing is retrained or rebuilt, and no DVC output is edited, so `dvc status` stays clean:
champion.json keeps `registered_as: candidate` (what `register` did), the registry says who is
champion now, and the version is tagged `multitask.promoted_at`.
"""

from __future__ import annotations

import time
from pathlib import Path

from multitask.errors import UsageError
from multitask.io import file_digest
from multitask.records import BentoRecord, Champion

PROMOTED_TAG = "multitask.promoted_at"


def promote(champion_file: Path, dist: Path) -> str:
    """Promote the workspace's champion.json version; return a one-line summary."""
    champion = Champion.read(
        champion_file, UsageError, "run `dvc repro`, or `dvc exp apply <name>` first"
    )
    bento = BentoRecord.read(dist / "bento.json", UsageError, "run `dvc repro package` first")
    wanted = (champion.name, champion.version, champion.run_id)
    packaged = (bento.champion.name, bento.champion.version, bento.champion.run_id)
    if packaged != wanted:
        raise UsageError(
            f"{dist}/bento.json packages {packaged[0]} version {packaged[1]} (run {packaged[2]}), "
            f"{champion_file} names version {wanted[1]} (run {wanted[2]}): "
            "run `dvc repro` (or `dvc checkout` after `dvc exp apply`) first"
        )
    bento_file = dist / Path(bento.bento_file).name
    if not bento_file.is_file() or file_digest(bento_file) != bento.bento_sha256:
        raise UsageError(
            f"{bento_file} is missing or not the bento {dist}/bento.json describes: "
            "`dvc checkout` (or `dvc pull`) restores it"
        )

    from multitask.serving import bento_store

    bento_store.bentoml_home()  # the project's store, exported before anything imports bentoml
    tag = bento_store.import_bento(bento_file)
    if tag != bento.bento_tag:
        raise UsageError(f"{bento_file} holds bento {tag}, bento.json says {bento.bento_tag}")

    from multitask.tracking import registry, store

    store.connect(create=False)
    registered = registry.model_version(champion.name, champion.version)
    if registered.run_id != champion.run_id:
        raise UsageError(
            f"registry {champion.name} version {champion.version} is run {registered.run_id}, "
            f"not {champion.run_id}: champion.json was made against another tracking store"
        )
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    before = registry.set_champion(champion.name, champion.version, {PROMOTED_TAG: stamp})
    where = f" (DVC experiment {champion.dvc.exp_name})" if champion.dvc.exp_name else ""
    return (
        f"{champion.name}@{registry.CHAMPION}: version {before} -> {champion.version}{where}, "
        f"run {champion.run_id}; bento {tag} in {bento_store.bentoml_home()}"
    )
