#!/usr/bin/env bash
# Fill wheels/ with the wheels the serving image installs, so `docker build` needs no network.
#
#   scripts/docker/wheelhouse.sh [DEST]      (DEST defaults to wheels/ at the repository root)
#
# Which packages: the service's runtime pins for the image's BACKEND (environment, as the
# Dockerfile's build argument; default onnx): requirements-serve.txt (ONNX Runtime, no torch), or
# requirements-serve-torch.txt (torch first) for BACKEND=torch; the same file the Dockerfile
# installs. The wheels are for the image's platform (Linux x86-64, CPython 3.11), whatever this
# machine is. Files already in DEST are reused; only what is missing is fetched. The Dockerfile
# installs from here with `pip install --no-index --find-links` when the folder holds wheels.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${1:-$ROOT/wheels}"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi

say() { echo "[wheelhouse] $*"; }
die() { echo "[wheelhouse] error: $*" >&2; exit 1; }

case "${BACKEND:-onnx}" in
    onnx) reqs="$ROOT/requirements-serve.txt" ;;
    torch) reqs="$ROOT/requirements-serve-torch.txt" ;;
    *) die "BACKEND must be onnx or torch, not ${BACKEND}" ;;
esac
[ -f "$reqs" ] || die "no $reqs"
if [ "${BACKEND:-onnx}" = torch ]; then
    grep -qE '^torch==' "$reqs" || die "torch is not pinned (torch==...) in $reqs"
elif grep -qE '^(torch|transformers)==' "$reqs"; then
    die "$reqs pins torch or transformers: the ONNX image must not hold them"
fi

# Debian bookworm has glibc 2.36: every manylinux tag up to 2_36 runs there (this pip does not
# expand one --platform into the older tags, so list them).
platforms=()
for minor in $(seq 36 -1 5); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)

mkdir -p "$DEST"
say "$(grep -cE '^[A-Za-z]' "$reqs") pinned packages from $(basename "$reqs") (and their dependencies) -> $DEST"
t0=$SECONDS
opts=(--quiet --dest "$DEST" --only-binary=:all: "${platforms[@]}" --python-version 3.11
      --implementation cp --abi cp311 -r "$reqs")
# A stamp records the requirements' digest and the wheel count of the last complete run: when both
# still hold, there is nothing to do (no resolve at all).
stamp="$DEST/.complete"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want $(ls "$DEST"/*.whl 2>/dev/null | wc -l)" ]; then
    say "up to date ($(ls "$DEST"/*.whl | wc -l) wheels for this $(basename "$reqs"))"
    exit 0
fi
rm -f "$stamp"
# Then offline: when DEST already satisfies every pin and dependency, nothing is fetched or asked.
if "$PY" -m pip download --no-index --find-links "$DEST" "${opts[@]}" >/dev/null 2>&1; then
    say "complete already (resolved offline from $DEST)"
else
    # --find-links DEST: wheels already there satisfy the resolve and are not fetched again.
    # torch is pinned; a local CPU build (2.13.0+cpu), where pip can see one, ranks above the
    # plain release and carries no CUDA dependencies.
    "$PY" -m pip download --find-links "$DEST" "${opts[@]}"
fi
if ls "$DEST" | grep -qiE '^(nvidia_cu|nvidia_nccl|triton-)'; then
    die "a CUDA build of torch was resolved (nvidia_cu*/triton wheels in $DEST): point pip at a CPU torch"
fi
echo "$want $(ls "$DEST"/*.whl | wc -l)" >"$stamp"
say "$(ls "$DEST"/*.whl | wc -l) wheels, $(du -sh "$DEST" | cut -f1), in $((SECONDS - t0)) s"
