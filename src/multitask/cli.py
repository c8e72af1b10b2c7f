"""The `multitask` command: predict from the command line, open the MLflow UI, promote a candidate.

multitask predict "The striker scored twice" "My phone died again"
echo "Shares fell 3%" | multitask predict --jsonl
multitask predict --model models:/multitask-sentence-transformer/2 "..."
multitask predict --model models/full_finetune/model "..."
multitask ui --port 5000
multitask promote          # after `dvc exp apply <name>`: alias, champion.json and bento agree
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from multitask.config import load_params
from multitask.console import run_main, setup_logging
from multitask.errors import ConfigError, UsageError

DEFAULT_NAME = "multitask-sentence-transformer"


def _registered_name(params_path: str) -> str:
    try:
        return load_params(params_path).register_.model_name
    except ConfigError:
        if Path(params_path).exists():
            raise
        return DEFAULT_NAME


def _load_model(ref: str | None, params_path: str, workdir: Path, device: str | None):
    from multitask.model.network import MultiTaskSentenceTransformer

    if ref and not ref.startswith("models:/"):
        if not Path(ref).exists():
            raise UsageError(f"model folder not found: {ref}")
        return MultiTaskSentenceTransformer.load(ref, device=device)
    from multitask.tracking import registry, store

    name, version = registry.parse_model_uri(
        ref or f"models:/{_registered_name(params_path)}@champion"
    )
    store.connect(create=False)
    folder, _ = registry.download_registered(name, version, workdir)
    return MultiTaskSentenceTransformer.load(folder, device=device)


def predict(args: argparse.Namespace) -> int:
    texts = list(args.texts) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise UsageError("no texts given (pass them as arguments or one per line on stdin)")
    with tempfile.TemporaryDirectory(prefix="multitask-predict-") as tmp:
        model = _load_model(args.model, args.params, Path(tmp), args.device)
        results = model.predict(texts)
    for text, result in zip(texts, results, strict=True):
        if args.jsonl:
            print(json.dumps({"text": text, **result}, ensure_ascii=False))
        else:
            parts = [
                f"{task}: {r['label']} ({r['scores'][r['label']]:.2f})"
                for task, r in result.items()
            ]
            print(f"{' | '.join(parts)}  <-  {text}")
    return 0


def ui_banner(port: int, params: Path, models: Path) -> str:
    """What `multitask ui` prints first: the store, and the compare view of the workspace's runs."""
    from multitask.tracking.compare import current_runs, describe
    from multitask.tracking.store import redact, tracking_uri

    runs, missing = current_runs(params, models)
    base = f"http://127.0.0.1:{port}"
    return f"Tracking store: {redact(tracking_uri())}\n" + describe(base, runs, missing)


def ui(args: argparse.Namespace) -> int:
    from multitask.tracking.store import tracking_uri

    uri = tracking_uri()
    print(ui_banner(args.port, args.params, args.models), flush=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    cmd += ["--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"]
    # Our own interpreter running mlflow, argument list, no shell.
    os.execvpe(cmd[0], cmd, env)  # nosec B606
    return 0  # pragma: no cover - exec does not return


def promote(args: argparse.Namespace) -> int:
    from multitask.promotion import promote as promote_workspace

    print(promote_workspace(args.champion, args.dist))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multitask", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="topic and sentiment for texts (args or stdin)")
    p.add_argument("texts", nargs="*", help="texts to classify; none = read stdin, one per line")
    p.add_argument(
        "--model",
        help="models:/<name>@<alias>, models:/<name>/<version> or a model folder "
        "(default: models:/<register.model_name>@champion)",
    )
    p.add_argument("--params", default="params.yaml", help="where register.model_name is read")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="where the model runs (default: $MULTITASK_DEVICE, else auto: CUDA when present)",
    )
    p.set_defaults(func=predict)
    u = sub.add_parser(
        "ui",
        help="print the compare view of the workspace's runs, then start the MLflow UI on "
        "127.0.0.1 against the project store",
    )
    u.add_argument("--port", type=int, default=5000)
    u.add_argument("--params", type=Path, default=Path("params.yaml"), help="lists the scenarios")
    u.add_argument("--models", type=Path, default=Path("models"), help="train outputs (run.json)")
    u.set_defaults(func=ui)
    r = sub.add_parser(
        "promote",
        help="point the registry alias `champion` at champion.json's version, after checking "
        "that dist/ packages it (typically after `dvc exp apply <name>`)",
    )
    r.add_argument("--champion", type=Path, default=Path("champion.json"))
    r.add_argument("--dist", type=Path, default=Path("dist"))
    r.set_defaults(func=promote)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    setup_logging(args.verbose)
    if not args.verbose:
        import logging

        logging.getLogger().setLevel(logging.WARNING)
    run_main(lambda: args.func(args))


if __name__ == "__main__":
    main()
