"""DVC stage `package`: champion -> ONNX + accuracy gate -> BentoML model store -> bento -> file.

Packages exactly the registry version that <champion> (champion.json, written by this pipeline's
`register`) names: never whatever an alias points to at this moment, so a concurrent pipeline
moving `champion` cannot change what this one ships. The model is checked (checksums, the label
sets of params.yaml), then made into what `serve.backend` asks for (`model.onnx_gate`):
    onnx-int8  exported to ONNX, quantized to int8, and gated against the PyTorch model on
               val + test pooled and the natural set; failing the gate falls back to onnx
               (fp32) with a warning;
    onnx       exported to ONNX fp32 and gated; failing the gate fails the stage with a message
               naming the metric and its figure (never a silent fall back to torch);
    torch      the trained folder as it is.
What is served goes into the BentoML model store with its record (`PackagedModel`: registered
version, metrics, labels, backend, gate figures), the gate figures also go onto the MLflow model
version as tags, and the bento is built pinned to that exact model tag and params.yaml's `serve`.

Outputs (for the Docker build and DVC; names fixed by dvc.yaml):
    <dist>/multitask.bento   the exported bento, model included (`bentoml import` restores both)
    <dist>/bento.json        bento tag, model tag, the file's sha256, backend, the champion

BENTOML_HOME defaults to <project>/.bentoml: the user's project, also when DVC runs this stage in
an experiment's temporary copy; the bento is built from a staging copy of its inputs outside any
hidden folder, since BentoML refuses build paths under .dvc/tmp/exps/ (see
multitask/serving/bento_store.py). The code packed is this checkout's (an experiment's own).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd

from multitask.config import TASKS, Params, load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.data.tables import COLUMNS, read_table, split_path
from multitask.errors import PackagingError
from multitask.io import file_digest
from multitask.model.gate import TextSet
from multitask.model.network import MultiTaskSentenceTransformer
from multitask.model.onnx_gate import prepare_backend
from multitask.records import BentoRecord, Champion, PackagedModel
from multitask.serving import bento_store

log = logging.getLogger("package")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENTO_FILE = "multitask.bento"
BENTO_JSON = "bento.json"


def gate_sets(data: Path, params: Params) -> tuple[TextSet, TextSet]:
    """The gate's texts: val + test pooled, and the natural set (rows with known labels)."""
    labels = params.labels.as_dict()
    pooled = pd.concat([read_table(split_path(data, s), COLUMNS) for s in ("val", "test")])
    natural = read_table(params.evaluate.natural_set, ["text", *TASKS])
    natural = natural[natural["topic"].isin(labels["topic"])]
    natural = natural[natural["sentiment"].isin(labels["sentiment"])]
    return tuple(  # type: ignore[return-value]
        TextSet(df["text"].tolist(), {t: df[t].tolist() for t in TASKS}) for df in (pooled, natural)
    )


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--champion", required=True, type=Path, help="written by register")
    parser.add_argument("--data", required=True, type=Path, help="folder with val.csv, test.csv")
    parser.add_argument("--dist", required=True, type=Path, help="output folder")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    champion = Champion.read(args.champion, PackagingError, "run the register stage first")
    labelled, natural = gate_sets(args.data, params)
    home = bento_store.bentoml_home()  # exported before anything imports bentoml

    from multitask.tracking import registry, store  # mlflow only once it is needed

    uri = store.connect()
    dist: Path = args.dist
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        log.info("downloading %s version %d from %s", champion.name, champion.version, uri)
        model_dir, version = registry.download_registered(
            champion.name, str(champion.version), Path(tmp)
        )
        if version.run_id != champion.run_id:
            raise PackagingError(
                f"{champion.name} version {champion.version} comes from run {version.run_id}, "
                f"{args.champion} says run {champion.run_id}: they were made against different "
                "tracking stores; run `dvc repro -f register` against this one"
            )
        # Fail here, not in the server: checksums and the label sets params.yaml expects.
        model = MultiTaskSentenceTransformer.load(model_dir, params.labels.as_dict())
        form = prepare_backend(
            model, params.serve.backend, Path(tmp) / "export", labelled, natural,
            source_digest=file_digest(model_dir),
        )  # fmt: skip
        packaged = PackagedModel(
            registered=version,
            labels=model.labels,
            dim=model.dim,
            max_length=model.max_length,
            backend=form.backend,
            gate=form.gate,
            refused=form.refused,
            lineage=champion.lineage,
        )
        model_tag = bento_store.store_model(form.folder or model_dir, packaged)
        log.info("stored %s (backend %s) in %s", model_tag, form.backend, home)
        registry.tag_version(champion.name, champion.version, packaged.version_tags())
        bento_tag = bento_store.build_bento(
            model_tag, params.serve, PROJECT_ROOT, torch=form.backend == "torch",
            labels=packaged.bento_labels(),
        )  # fmt: skip
        log.info("built bento %s", bento_tag)
        bento_file = bento_store.export_bento(bento_tag, dist / BENTO_FILE)
    BentoRecord(
        bento_tag=bento_tag,
        model_tag=model_tag,
        bento_file=(dist / BENTO_FILE).as_posix(),
        bento_sha256=file_digest(bento_file),
        champion=version,
        backend=form.backend,
        lineage=champion.lineage,
    ).write(dist / BENTO_JSON)
    log.info("exported %s -> %s (%d bytes)", bento_tag, bento_file, bento_file.stat().st_size)


if __name__ == "__main__":
    run_main(main)
