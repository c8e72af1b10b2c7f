#!/usr/bin/env bash
# Smoke test of the serving image: build it from the exported bento (or take one already built),
# run it, ask it, tear it down. The one smoke test of `make docker-smoke`, CI and publish.
#
#   scripts/docker/smoke.sh [path/to/bento]      (default dist/multitask.bento, as the pipeline writes)
#   SKIP_BUILD=1 IMAGE=<tag> scripts/docker/smoke.sh   (an image already built, e.g. by publish.yml)
#
# Steps: local engine + base image (scripts/docker/engine.sh), wheelhouse (offline build), classic
# `docker build --network host` for the bento's backend with the image's labels
# (scripts/publish/oci_labels.py: org.opencontainers.image.source/revision/created and the model's
# lineage from bento.json), the image's size against its budget and (ONNX image) no torch installed
# in it, the image's labels against bento.json (`docker image inspect`), `docker run --network
# host` on a free loopback port, wait for readiness (timed) and for Docker's HEALTHCHECK, POST
# /predict and check the answer's shape (and, for a real champion, the labels of a few fixed
# natural sentences), GET /model names the version, run, lineage, BentoML model and backend that
# bento.json records (and the version champion.json names, with CHAMPION_JSON), check a bad
# request gets a 4xx, the server runs as a non-root user and (ONNX image) its processes have
# onnxruntime loaded and nothing of torch. The container this script started is removed on exit,
# whatever happens; the engine is left running (engine.sh stop stops it).
#
# Environment: IMAGE (tag to build or, with SKIP_BUILD=1, to test; default multitask:smoke),
# SKIP_BUILD=1 (no engine start, base image, wheelhouse or build: test IMAGE as it is),
# BENTO_JSON (the record the image must match; default bento.json next to the bento),
# CHAMPION_JSON (optional: GET /model must report this champion.json's version and lineage),
# CHECK_LABELS (1: the fixed sentences must get their labels, 0: shapes only; default auto: 1 when
# bento.json's champion reports natural/acc_mean >= 0.9, i.e. it claims to be a real model; a tiny
# random bento does not), BACKEND (onnx or torch; default: the `backend` that bento.json names,
# torch -> torch, else onnx), IMAGE_BUDGET_MB (default 450; over it the script warns, or fails
# with STRICT_SIZE=1), READY_TIMEOUT (s, default 180), SKIP_WHEELHOUSE=1 (build from the package
# index instead of wheels/), BUILD_FLAGS (extra `docker build` options, e.g. --no-cache).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/docker"
IMAGE="${IMAGE:-multitask:smoke}"
READY_TIMEOUT="${READY_TIMEOUT:-180}"
BENTO="${1:-$ROOT/dist/multitask.bento}"
SKIP_BUILD="${SKIP_BUILD:-0}"
LABELS_PY="$ROOT/scripts/publish/oci_labels.py"
export DOCKER_BUILDKIT=0   # the classic builder: what this machine has, and what the Dockerfile targets

T0=$SECONDS
say() { echo "[smoke +$((SECONDS - T0))s] $*"; }
die() { echo "[smoke +$((SECONDS - T0))s] FAIL: $*" >&2; exit 1; }

if [ "$SKIP_BUILD" = 1 ]; then
    BENTO_JSON="${BENTO_JSON:-$ROOT/dist/bento.json}"
    docker image inspect "$IMAGE" >/dev/null 2>&1 || die "SKIP_BUILD=1 but there is no image $IMAGE"
else
    [ -f "$BENTO" ] || die "no bento at $BENTO (run 'make pipeline-tiny' first)"
    BENTO="$(cd "$(dirname "$BENTO")" && pwd)/$(basename "$BENTO")"
    BENTO_JSON="${BENTO_JSON:-$(dirname "$BENTO")/bento.json}"
fi
[ -f "$BENTO_JSON" ] || die "no $BENTO_JSON: the record of what the image serves"
if [ -z "${BACKEND:-}" ] && [ "$SKIP_BUILD" = 1 ]; then   # what the image was built for
    BACKEND="$(docker image inspect -f '{{index .Config.Labels "io.multitask.backend"}}' "$IMAGE" 2>/dev/null || true)"
fi
if [ -z "${BACKEND:-}" ]; then
    served="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("backend", "torch"))' \
        "$BENTO_JSON" 2>/dev/null || echo onnx)"
    if [ "$served" = torch ]; then BACKEND=torch; else BACKEND=onnx; fi
fi
export BACKEND
BUDGET_MB="${IMAGE_BUDGET_MB:-450}"

CID=""
CONTEXT=""
cleanup() {
    local rc=$?
    if [ -n "$CID" ]; then
        if [ "$rc" -ne 0 ]; then
            echo "---- container log (last 40 lines) ----" >&2
            docker logs --tail 40 "$CID" >&2 2>&1 || true
        fi
        docker rm -f "$CID" >/dev/null 2>&1 && say "removed container ${CID:0:12}"
    fi
    [ -n "$CONTEXT" ] && rm -rf "$CONTEXT"
    if [ "$rc" -eq 0 ]; then say "PASS"; else echo "[smoke] FAILED (exit $rc)" >&2; fi
}
trap cleanup EXIT

if [ "$SKIP_BUILD" = 1 ]; then
    say "1-3/7 SKIP_BUILD=1: testing the image $IMAGE as built ($BENTO_JSON)"
    docker info >/dev/null 2>&1 || die "no Docker engine answers"
else
say "1/7 engine and base image"
bash "$HERE/engine.sh" start
bash "$HERE/engine.sh" base

if [ "${SKIP_WHEELHOUSE:-0}" != 1 ]; then
    say "2/7 wheelhouse"
    bash "$HERE/wheelhouse.sh" "$ROOT/wheels"
else
    say "2/7 wheelhouse skipped (SKIP_WHEELHOUSE=1)"
fi

# The Dockerfile copies dist/multitask.bento. Another bento file gets a staged context (hard links
# where possible) so that dist/ is left alone.
context="$ROOT"
if [ "$BENTO" != "$ROOT/dist/multitask.bento" ]; then
    CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/mt-context.XXXXXX")"
    mkdir -p "$CONTEXT/dist"
    cp -l "$BENTO" "$CONTEXT/dist/multitask.bento" 2>/dev/null || cp "$BENTO" "$CONTEXT/dist/multitask.bento"
    cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ROOT/requirements-serve.txt" \
        "$ROOT/requirements-serve-torch.txt" "$CONTEXT/"
    [ -d "$ROOT/wheels" ] && { cp -al "$ROOT/wheels" "$CONTEXT/wheels" 2>/dev/null || cp -a "$ROOT/wheels" "$CONTEXT/wheels"; }
    context="$CONTEXT"
fi

# The image's labels: where it comes from (the git checkout that holds the bento) and what it
# serves (bento.json's lineage), written by the same script the publish workflow uses.
src_repo="$(dirname "$BENTO")"
revision="$(git -C "$src_repo" rev-parse HEAD 2>/dev/null || echo unknown)"
source_url="$(git -C "$src_repo" config --get remote.origin.url 2>/dev/null || true)"
[ -n "$source_url" ] || source_url="file://$(git -C "$src_repo" rev-parse --show-toplevel 2>/dev/null || echo "$src_repo")"
mapfile -t LABEL_ARGS < <(python3 "$LABELS_PY" "$BENTO_JSON" --format args --source "$source_url" \
    --revision "$revision" --created "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
[ "${#LABEL_ARGS[@]}" -gt 0 ] || die "no labels from $LABELS_PY for $BENTO_JSON"

say "3/7 docker build -t $IMAGE --build-arg BACKEND=$BACKEND ($BENTO, ${#LABEL_ARGS[@]} labels)"
t=$SECONDS
build_log="$(mktemp)"
# shellcheck disable=SC2086  # BUILD_FLAGS holds several options
if ! docker build --network host --force-rm --build-arg "BACKEND=$BACKEND" ${BUILD_FLAGS:-} \
        "${LABEL_ARGS[@]}" -t "$IMAGE" "$context" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    rm -f "$build_log"
    die "docker build failed"
fi
rm -f "$build_log"
say "built $IMAGE in $((SECONDS - t)) s"
fi
size_mb="$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f", $1 / 1e6 }')"
say "image size $size_mb MB (budget $BUDGET_MB MB)"
if [ "$size_mb" -gt "$BUDGET_MB" ]; then
    [ "${STRICT_SIZE:-0}" != 1 ] || die "image is $size_mb MB, over the $BUDGET_MB MB budget"
    echo "[smoke] WARNING: image is $size_mb MB, over the $BUDGET_MB MB budget" >&2
fi
docker image inspect -f '{{json .Config.Labels}}' "$IMAGE" \
    | python3 "$LABELS_PY" "$BENTO_JSON" --verify - --require-oci \
    || die "the image's labels do not say what bento.json records"
say "labels: $(docker image inspect -f '{{index .Config.Labels "io.multitask.model.registered_name"}} v{{index .Config.Labels "io.multitask.model.version"}} run {{index .Config.Labels "io.multitask.model.run_id"}} revision {{index .Config.Labels "org.opencontainers.image.revision"}}' "$IMAGE")"
if [ "$BACKEND" = onnx ]; then
    docker run --rm --network host --entrypoint python3 "$IMAGE" -c \
        'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ("torch", "transformers")))' \
        || die "the ONNX image holds torch or transformers"
    say "no torch or transformers in the image"
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
say "4/7 docker run on 127.0.0.1:$PORT"
CID="$(docker run -d --network host -e BENTOML_HOST=127.0.0.1 -e BENTOML_PORT="$PORT" "$IMAGE")"
URL="http://127.0.0.1:$PORT"

say "5/7 waiting for $URL/readyz (at most $READY_TIMEOUT s)"
t=$SECONDS
t0="$(date +%s.%N)"
until python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$URL/readyz" 2>/dev/null; do
    [ "$(docker inspect -f '{{.State.Running}}' "$CID")" = true ] || die "the container exited before it was ready"
    [ $((SECONDS - t)) -lt "$READY_TIMEOUT" ] || die "not ready after $READY_TIMEOUT s"
    sleep 0.1
done
say "ready after $(python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$t0") s (docker run to the first 200 from /readyz)"
# Docker's own HEALTHCHECK (python urllib inside the image) must agree; its first probe runs after
# one --interval.
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$CID")" = healthy ]; do
    status="$(docker inspect -f '{{.State.Health.Status}}' "$CID")"
    [ "$status" != unhealthy ] || die "HEALTHCHECK reports unhealthy"
    [ $((SECONDS - t)) -lt "$READY_TIMEOUT" ] || die "HEALTHCHECK still '$status' after $READY_TIMEOUT s"
    sleep 1
done
say "HEALTHCHECK healthy after $((SECONDS - t)) s"

say "6/7 POST /predict, GET /model against $(basename "$BENTO_JSON")"
python3 - "$URL" "$BENTO_JSON" "${CHAMPION_JSON:-}" "${CHECK_LABELS:-auto}" <<'PY'
import json
import math
import sys
import urllib.error
import urllib.request

url, bento_json, champion_json, check_labels = sys.argv[1:5]
record = json.load(open(bento_json))


def post(path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


# Fixed natural sentences (from tests/data/natural.csv: one per topic, every sentiment) whose
# labels a real champion must get right. A tiny random bento is checked for shapes only.
EXPECTED = [
    ("Shares of the retailer plunged 18% after it slashed its full-year profit forecast.",
     "business", "negative"),
    ("The vaccine is given in two doses, four weeks apart.", "health", "neutral"),
    ("He smashed the world record in the 100 metres, an incredible run.", "sports", "positive"),
    ("Their new smartphone is overpriced, slow and full of bugs.", "technology", "negative"),
]
claimed = record.get("champion", {}).get("metrics", {}).get("natural/acc_mean")
if check_labels == "auto":
    strict = claimed is not None and claimed >= 0.9
    why = f"bento.json's champion claims natural/acc_mean {claimed}"
else:
    strict = check_labels == "1"
    why = f"CHECK_LABELS={check_labels}"
texts = [t for t, _, _ in EXPECTED]
status, answer = post("/predict", {"texts": texts})
assert status == 200, f"/predict answered {status}: {answer}"
assert isinstance(answer, list) and len(answer) == len(texts), f"want a list of {len(texts)}: {answer}"
wrong = []
for (text, topic, sentiment), item in zip(EXPECTED, answer):
    for task in ("topic", "sentiment"):
        pred = item[task]
        label, scores = pred["label"], pred["scores"]
        assert isinstance(label, str) and isinstance(scores, dict), pred
        assert label in scores, f"{task}: label {label!r} not among {sorted(scores)}"
        assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-3), f"{task} scores sum: {scores}"
        assert scores[label] == max(scores.values()), f"{task}: label is not the argmax: {pred}"
    got = (item["topic"]["label"], item["sentiment"]["label"])
    if got != (topic, sentiment):
        wrong.append(f"{text!r}: got {got}, want {(topic, sentiment)}")
    print(f"  {text[:50]!r:54} topic={got[0]:<11} sentiment={got[1]:<9}"
          f"{'' if got == (topic, sentiment) else '  (want ' + topic + '/' + sentiment + ')'}")
if strict:
    assert not wrong, "the champion got fixed natural sentences wrong:\n  " + "\n  ".join(wrong)
    print(f"  labels: all {len(EXPECTED)} right ({why})")
else:
    print(f"  labels not checked ({why}; shapes only): {len(EXPECTED) - len(wrong)}/{len(EXPECTED)} right")

with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
    assert r.status == 200 and b"bentoml_service_request" in r.read(), "/metrics lacks BentoML metrics"
print("  /metrics answers with BentoML's Prometheus metrics")

status, answer = post("/predict", {"texts": []})
assert 400 <= status < 500, f"an empty batch should get a 4xx, got {status}: {str(answer)[:200]}"
print(f"  empty batch -> {status}")

with urllib.request.urlopen(url + "/model", timeout=10) as r:
    info = json.loads(r.read())
gate = info.get("gate") or {}
refused = "; ".join(f"{x['backend']} refused: {x['reason']}" for x in info.get("refused", []))
print(f"  GET /model: backend {info['backend']}, gate {gate.get('reason', 'none')}"
      + (f" ({refused})" if refused else ""))
assert info["backend"] in ("onnx-int8", "onnx", "torch"), info
assert info["backend"] == "torch" or gate.get("passed") is True, "an ONNX backend without a passed gate"

# GET /model names what bento.json records (and champion.json, when given).
champion = record["champion"]
want = {
    "registered_name": champion["name"], "version": champion["version"],
    "run_id": champion["run_id"], "scenario": champion["scenario"],
    "backend": record.get("backend", "torch"), "bentoml_model": record["model_tag"],
    "lineage": record.get("lineage"),
}
differ = {k: (info.get(k), v) for k, v in want.items() if info.get(k) != v}
assert not differ, f"GET /model differs from {bento_json} (served, recorded): {differ}"
print(f"  GET /model = {bento_json}: {champion['name']} v{champion['version']} "
      f"run {champion['run_id']} ({champion['scenario']}), lineage "
      + ("equal" if record.get("lineage") else "absent in both"))
if champion_json:
    chosen = json.load(open(champion_json))
    served = (info["registered_name"], info["version"], info["run_id"])
    assert served == (chosen["name"], chosen["version"], chosen["run_id"]), (
        f"GET /model serves {info['registered_name']} v{info['version']} (run {info['run_id']}), "
        f"{champion_json} names {chosen['name']} v{chosen['version']} (run {chosen['run_id']})")
    if chosen.get("lineage"):
        assert info["lineage"] == chosen["lineage"], f"lineage differs from {champion_json}"
    print(f"  GET /model = {champion_json}: {chosen['name']} v{chosen['version']}")
PY

say "7/7 user checks"
uid="$(docker exec "$CID" id -u)"
[ "$uid" != 0 ] || die "docker exec runs as root"
server_uid="$(docker exec "$CID" awk '/^Uid:/ { print $2 }' /proc/1/status)"
[ "$server_uid" != 0 ] || die "the server (pid 1) runs as root"
say "server runs as uid $server_uid (image user '$(docker image inspect -f '{{.Config.User}}' "$IMAGE")')"
if [ "$BACKEND" = onnx ]; then
    # What the server's processes loaded: every shared library shows in /proc/<pid>/maps.
    docker exec "$CID" python3 -c '
import glob, sys
maps = []
for path in glob.glob("/proc/[0-9]*/maps"):
    try:
        maps += open(path).read().splitlines()
    except OSError:
        pass
ort = any("/onnxruntime/" in m for m in maps)
torch = sorted({m.split()[-1] for m in maps if "/torch/" in m or "/transformers/" in m})
print(f"  server processes: onnxruntime loaded: {ort}; torch/transformers files mapped: {len(torch)}")
sys.exit(0 if ort and not torch else 1)
' || die "the server did not run on ONNX Runtime alone"
fi
