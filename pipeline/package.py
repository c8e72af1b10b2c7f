"""DVC stage `package`: the registry's champion -> BentoML model store -> bento -> dist/.

champion.json (written by `register`) is read only for the registered model name; the model
itself is pulled from the MLflow registry by alias (`champion`), resolved once to an exact
version. It is checked (checksums, label sets of params.yaml), stored in the BentoML model store
with labels (registered name, version, run id, scenario) and metadata (metrics, label sets, the
`serve` section), and the bento is built pinned to that exact model tag.

Outputs (fixed names, for the Docker build and DVC):
    dist/multitask.bento   the exported bento, model included (`bentoml import` restores both)
    dist/bento.json        bento tag, model tag and the champion's registry info

BENTOML_HOME defaults to ./.bentoml (see multitask/bento_store.py).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from multitask import bento_store
from multitask.cli_support import run_main, setup_logging, stage_parser
from multitask.config import load_params
from multitask.errors import PackagingError
from multitask.io import atomic_write_json, file_digest
from multitask.model import MultiTaskSentenceTransformer

log = logging.getLogger("package")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENTO_FILE = "multitask.bento"
BENTO_JSON = "bento.json"


def read_champion(path: Path) -> dict[str, Any]:
    """champion.json as a dict; PackagingError if it is missing or has no name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackagingError(f"{path} not found: run the register stage first") from None
    except ValueError as err:
        raise PackagingError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise PackagingError(f"{path} has no registered model 'name'")
    return data


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--champion", default="champion.json", help="written by register")
    parser.add_argument("--alias", default="champion", help="registry alias to package")
    parser.add_argument("--dist", default="dist", help="output folder")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    champion = read_champion(Path(args.champion))
    name = champion["name"]
    home = bento_store.bentoml_home()  # exported before anything imports bentoml

    from multitask import tracking  # mlflow stays out of the import chain until needed

    uri = tracking.connect()
    dist = Path(args.dist)
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        log.info("downloading %s@%s from %s", name, args.alias, uri)
        model_dir, info = tracking.download_champion(name, args.alias, Path(tmp))
        if str(info.get("version")) != str(champion.get("version", info.get("version"))):
            log.warning(
                "alias %s@%s points at version %s, champion.json says %s: packaging %s",
                name,
                args.alias,
                info.get("version"),
                champion.get("version"),
                info.get("version"),
            )
        # Fail here, not in the server: checksums and the label sets params.yaml expects.
        model = MultiTaskSentenceTransformer.load(model_dir, params.labels.as_dict())
        labels = {
            "registered_name": info["name"],
            "version": str(info["version"]),
            "run_id": info["run_id"],
            "scenario": info.get("scenario", ""),
        }
        metadata = {
            "metrics": dict(info.get("metrics", {})),
            "label_sets": model.labels,
            "serve": params.serve.model_dump(),
        }
        model_tag = bento_store.store_model(model_dir, bento_store.MODEL_NAME, labels, metadata)
        log.info("stored %s in %s", model_tag, home)
        bento_tag = bento_store.build_bento(model_tag, PROJECT_ROOT)
        log.info("built bento %s", bento_tag)
        bento_file = bento_store.export_bento(bento_tag, dist / BENTO_FILE)
    record = {
        "bento_tag": bento_tag,
        "model_tag": model_tag,
        "bento_file": f"{args.dist}/{BENTO_FILE}",
        "bento_sha256": file_digest(bento_file),
        "champion": {
            "name": info["name"],
            "version": info["version"],
            "run_id": info["run_id"],
            "scenario": info.get("scenario", ""),
            "metrics": dict(info.get("metrics", {})),
        },
    }
    atomic_write_json(dist / BENTO_JSON, record)
    log.info("exported %s -> %s (%d bytes)", bento_tag, bento_file, bento_file.stat().st_size)


if __name__ == "__main__":
    run_main(main)
