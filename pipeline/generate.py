"""DVC stage `generate`: labelled sentences (synthetic or the user's CSV) split into CSV files.

Writes ``train.csv``, ``val.csv`` and ``test.csv`` into the folder given by ``--out``
(dvc.yaml passes every path).
"""

from __future__ import annotations

import logging

from multitask.config import load_params
from multitask.console import run_main, setup_logging, stage_parser
from multitask.data.splitting import load_source, stratified_split
from multitask.data.tables import SPLITS, split_path, write_table

log = logging.getLogger("generate")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", required=True, help="output folder for train/val/test.csv")
    args = parser.parse_args()
    setup_logging(args.verbose)
    params = load_params(args.params)
    raw = load_source(params.generate, params.labels)
    table = stratified_split(raw, params.generate)
    for split in SPLITS:
        part = table[table["split"] == split]
        write_table(part, split_path(args.out, split))
        log.info("%s: %d rows -> %s", split, len(part), split_path(args.out, split))


if __name__ == "__main__":
    run_main(main)
