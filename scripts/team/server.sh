#!/usr/bin/env bash
# A team MLflow tracking server on this machine: PostgreSQL (runs) + local S3 (artifacts) + MLflow.
#
#   scripts/team/server.sh start [DIR]        # prints: export MLFLOW_TRACKING_URI=http://127.0.0.1:<p>
#   eval "$(scripts/team/server.sh env [DIR])"  # then dvc repro / make pipeline use the server
#   scripts/team/server.sh env [DIR] --s3     # plus AWS_* for a DVC S3 remote on the same local S3
#   scripts/team/server.sh status [DIR]
#   scripts/team/server.sh stop [DIR] [--purge]
#
# DIR defaults to $TEAM_SERVER_DIR, else ~/.cache/multitask/team-server. Everything listens on
# 127.0.0.1 at free ports; stop stops only what start recorded there. See team_server.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" "$ROOT/scripts/team/team_server.py" "$@"
