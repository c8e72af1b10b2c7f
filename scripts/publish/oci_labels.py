#!/usr/bin/env python3
"""The serving image's labels, from dist/bento.json: what the image serves and where it came from.

    oci_labels.py dist/bento.json [--format args|lines|json] [--source URL] [--revision SHA]
                  [--created ISO-8601] [--require-lineage]
    oci_labels.py dist/bento.json --verify LABELS.json [--require-oci]

Model labels (``io.multitask.model.*``): the bento's lineage (registered name and version, run id,
scenario, git commit, data digest, md5 of the trained model folder: the `Lineage` record, keys as
`Lineage.labels(prefix)` writes them), plus the backend, bento tag and the bento file's sha256.
A bento.json written before lineage existed gives the champion's name, version, run id and
scenario only (`--require-lineage` refuses it). The standard ``org.opencontainers.image.source``,
``revision`` and ``created`` come from the options (the publish workflow gets them from
docker/metadata-action instead).

Formats: ``args`` one ``--label=k=v`` per line (``mapfile -t`` them into `docker build`), ``lines``
``k=v`` per line (docker/build-push-action's `labels`), ``json`` an object. ``--verify`` reads an
image's labels (``docker image inspect -f '{{json .Config.Labels}}'``; ``-`` for stdin) and exits 1
naming every model label that is missing or differs (and, with ``--require-oci``, every missing
standard one). Standard library only: runs on a bare runner.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PREFIX = "io.multitask.model."
OCI = "org.opencontainers.image."
LINEAGE_KEYS = (
    "registered_name",
    "version",
    "run_id",
    "scenario",
    "git_commit",
    "data_digest",
    "model_md5",
)
OCI_REQUIRED = ("source", "revision", "created")


class LabelError(Exception):
    pass


def model_labels(record: dict, require_lineage: bool = False) -> dict[str, str]:
    """The ``io.multitask.*`` labels of a bento.json mapping."""
    lineage = record.get("lineage")
    if lineage:
        missing = [k for k in LINEAGE_KEYS if lineage.get(k) in (None, "")]
        if missing:
            raise LabelError(f"bento.json lineage lacks {', '.join(missing)}")
        labels = {f"{PREFIX}{k}": str(lineage[k]) for k in LINEAGE_KEYS}
    else:
        if require_lineage:
            raise LabelError(
                "bento.json has no lineage (written before lineage existed): run `make pipeline` "
                "with this code, commit dvc.lock and dist/bento.json, then `dvc push`"
            )
        champion = record.get("champion") or {}
        if not champion:
            raise LabelError("bento.json names neither a lineage nor a champion")
        labels = {
            f"{PREFIX}registered_name": str(champion["name"]),
            f"{PREFIX}version": str(champion["version"]),
            f"{PREFIX}run_id": str(champion["run_id"]),
            f"{PREFIX}scenario": str(champion["scenario"]),
        }
    labels["io.multitask.served_backend"] = str(record.get("backend", "torch"))
    for key in ("bento_tag", "bento_sha256"):
        if record.get(key):
            labels[f"io.multitask.{key}"] = str(record[key])
    return labels


def oci_labels(source: str = "", revision: str = "", created: str = "") -> dict[str, str]:
    given = {"source": source, "revision": revision, "created": created}
    return {f"{OCI}{k}": v for k, v in given.items() if v}


def verify(expected: dict[str, str], image: dict[str, str], require_oci: bool) -> list[str]:
    """What is wrong with `image`'s labels: one line per missing or differing label."""
    problems = [
        f"{k}: image has {image.get(k)!r}, bento.json says {v!r}"
        for k, v in expected.items()
        if image.get(k) != v
    ]
    if require_oci:
        problems += [f"{OCI}{k}: missing" for k in OCI_REQUIRED if not image.get(f"{OCI}{k}")]
    return problems


def render(labels: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(labels, indent=2, sort_keys=True)
    for k, v in labels.items():
        if "\n" in k or "\n" in v or "=" in k:
            raise LabelError(f"label {k!r} cannot be written one per line")
    if fmt == "args":
        return "\n".join(f"--label={k}={v}" for k, v in labels.items())
    return "\n".join(f"{k}={v}" for k, v in labels.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bento_json", type=Path)
    parser.add_argument("--format", choices=("args", "lines", "json"), default="lines")
    parser.add_argument("--source", default="")
    parser.add_argument("--revision", default="")
    parser.add_argument("--created", default="")
    parser.add_argument("--require-lineage", action="store_true")
    parser.add_argument("--verify", metavar="LABELS_JSON", help="check an image's labels")
    parser.add_argument("--require-oci", action="store_true")
    args = parser.parse_args(argv)
    try:
        record = json.loads(args.bento_json.read_text(encoding="utf-8"))
        labels = model_labels(record, args.require_lineage)
        if args.verify:
            raw = sys.stdin.read() if args.verify == "-" else Path(args.verify).read_text()
            problems = verify(labels, json.loads(raw) or {}, args.require_oci)
            if problems:
                print("image labels do not match " + str(args.bento_json), file=sys.stderr)
                print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
                return 1
            print(f"image labels match {args.bento_json} ({len(labels)} model labels)")
            return 0
        labels = {**oci_labels(args.source, args.revision, args.created), **labels}
        print(render(labels, args.format))
    except (OSError, ValueError, KeyError, LabelError) as err:
        print(f"oci_labels: {args.bento_json}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
