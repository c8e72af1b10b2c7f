#!/usr/bin/env bash
# Point this checkout's DVC at a shared remote (the default one, named `team`), so that
# `dvc push` shares data, models and the bento, and a fresh clone gets them with `dvc pull`.
#
#   scripts/team/dvc_remote.sh /shared/dvc-store                     # a folder (NFS, a mounted disk)
#   scripts/team/dvc_remote.sh s3://my-bucket/multitask               # AWS S3
#   scripts/team/dvc_remote.sh s3://my-bucket/multitask http://127.0.0.1:9000   # S3-compatible
#
# The remote goes into .dvc/config (commit it so that clones find it). Credentials never do: for
# S3 use the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or a profile), or keep them in the
# untracked .dvc/config.local: dvc remote modify --local team access_key_id ...
# Environment: REMOTE (name, default team), DVC (the dvc command, default .venv/bin/dvc or dvc).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
URL="${1:?usage: dvc_remote.sh <folder | s3://bucket/path> [s3 endpoint url]}"
ENDPOINT="${2:-}"
NAME="${REMOTE:-team}"
DVC="${DVC:-$ROOT/.venv/bin/dvc}"
[ -x "$DVC" ] || DVC=dvc

case "$URL" in
    s3://*) ;;
    *://*) echo "error: only a folder or s3:// is set up here (dvc remote add handles the rest)" >&2
           exit 2 ;;
    *) mkdir -p "$URL"; URL="$(cd "$URL" && pwd)" ;;   # DVC wants an absolute path for a folder
esac
if [[ "$URL" == s3://* ]] && ! "$DVC" version 2>/dev/null | grep -q "s3"; then
    echo "error: DVC has no S3 support here: pip install dvc-s3 (pinned in requirements-dev.txt)" >&2
    exit 2
fi

"$DVC" remote add --default --force "$NAME" "$URL"
if [ -n "$ENDPOINT" ]; then
    "$DVC" remote modify "$NAME" endpointurl "$ENDPOINT"
fi
echo "DVC remote '$NAME' -> $URL${ENDPOINT:+ (endpoint $ENDPOINT)}; now: dvc push (and commit .dvc/config)"
