# Serving image for the packaged champion: Debian slim + ONNX Runtime (no torch) + the exported bento.
#
#   make pipeline-tiny              # or `make pipeline`: writes dist/multitask.bento
#   scripts/docker/wheelhouse.sh    # optional: fills wheels/, then the build needs no network
#   docker build -t multitask .
#   docker run --rm -p 3000:3000 multitask
#
# BACKEND (build argument) picks what the venv holds; it must match the bento's backend
# (dist/bento.json, params.yaml serve.backend):
#   onnx  (default) for the onnx-int8 and onnx backends: requirements-serve.txt, onnxruntime +
#         tokenizers, no torch or transformers
#   torch for serve.backend torch (GPU serving, debugging): torch first, then
#         requirements-serve-torch.txt. Without wheels/, --build-arg TORCH_INDEX_URL=<CPU torch
#         index> (the default index serves CUDA builds of several GB).
#
# Stages: `runtime` (python3 + a non-root user) <- `deps` (a venv of the backend's runtime packages)
# <- `bento` (imports dist/multitask.bento); the final image is `runtime` plus the venv and the
# imported bento: no compilers, apt lists, wheels, pip or the .bento file itself. The dependency
# layers come before the bento is copied, so a new model rebuilds only the last layers.
# No BuildKit-only syntax (RUN --mount): the classic builder builds this file too.

FROM debian:bookworm-slim AS runtime
# Versions come with the pinned Debian release (the base tag); pinning each .deb breaks at every
# point release. apt's caches go too (80 MB: a base image without docker-clean keeps them).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    BENTOML_HOME=/home/app/bentoml


FROM runtime AS deps
# binutils: `strip` for the shared libraries below (this stage only).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv binutils \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && python3 -m venv /opt/venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
ARG BACKEND=onnx
# Must equal the torch pin in requirements-serve-torch.txt (tests/test_container_lint.py checks).
ARG TORCH_VERSION=2.13.0
# Where CPU-only torch wheels live when wheels/ is absent (BACKEND=torch only).
ARG TORCH_INDEX_URL=""

# 1) BACKEND=torch: the torch wheel alone (--no-deps), in its own layer: only the torch version or
#    wheel invalidates it. wheel[s]/... matches nothing when there is no wheels/ folder;
#    .dockerignore rides along because the classic builder rejects a COPY whose only source is an
#    empty wildcard. The ONNX image skips this step and never holds torch.
COPY .dockerignore wheel[s]/torch-* /tmp/wheels/
# torch is pinned, through the ARG (DL3013 cannot see that); $src is split into options on purpose.
# hadolint ignore=DL3013,SC2086
RUN set -eu; \
    case "$BACKEND" in onnx|torch) ;; *) echo "BACKEND must be onnx or torch, not $BACKEND" >&2; exit 1;; esac; \
    if [ "$BACKEND" = torch ]; then \
        if ls /tmp/wheels/*.whl >/dev/null 2>&1; then src="--no-index --find-links /tmp/wheels"; \
        elif [ -n "$TORCH_INDEX_URL" ]; then src="--index-url $TORCH_INDEX_URL"; \
        else src=""; fi; \
        pip install --no-deps $src "torch==$TORCH_VERSION"; \
    fi; \
    rm -rf /tmp/wheels

# 2) The service's runtime packages, pinned (the same pins the bento carries; no mlflow, dvc,
#    pandera, ...): requirements-serve.txt, or requirements-serve-torch.txt for BACKEND=torch (its
#    torch pin is satisfied by step 1). Then trim what serving never uses: debug symbols in the
#    shared libraries (not in auditwheel-repaired packages, whose patched libraries `strip` would
#    break: those with a <package>.libs folder; an import of each native package checks), torch's
#    tests and headers, and pip itself.
COPY requirements-serve.txt requirements-serve-torch.txt wheel[s] /tmp/wheels/
# SC2016: the inner script's variables expand in the inner shell.
# hadolint ignore=SC2086,SC2016
RUN set -eu; \
    if ls /tmp/wheels/*.whl >/dev/null 2>&1; then src="--no-index --find-links /tmp/wheels"; else src=""; fi; \
    req=requirements-serve.txt; [ "$BACKEND" = onnx ] || req=requirements-serve-torch.txt; \
    pip install $src -r "/tmp/wheels/$req"; \
    pip check; \
    site=/opt/venv/lib/python3.11/site-packages; \
    if [ "$BACKEND" = onnx ] && [ -d "$site/torch" ]; then echo "torch in the ONNX image" >&2; exit 1; fi; \
    rm -rf /tmp/wheels "$site/torch/test" "$site/torch/include" "$site"/torch/bin/*Test "$site"/torch/bin/test_* "$site"/torch/bin/protoc*; \
    find "$site" -name '*.so*' -type f -exec sh -c 'site="$1"; shift; for f; do \
        pkg="${f#"$site"/}"; pkg="${pkg%%/*}"; \
        case "$pkg" in *.libs) continue;; esac; \
        [ -d "$site/$pkg.libs" ] || strip --strip-unneeded "$f"; \
    done' sh "$site" {} +; \
    python -c "import numpy, onnxruntime, tokenizers, orjson, uvloop, httptools, pydantic_core, yaml, aiohttp, bentoml"; \
    pip uninstall -y -q pip setuptools


FROM deps AS bento
COPY dist/multitask.bento /tmp/multitask.bento
# Import into BENTOML_HOME; the store stays root-owned and read-only for the app user (the home
# folder itself becomes the app user's in the final stage: bentoml makes its Prometheus folder there).
RUN set -eu; \
    bentoml import /tmp/multitask.bento; \
    bentoml get multitask:latest >/dev/null; \
    chmod -R a+rX,go-w "$BENTOML_HOME"


FROM runtime
ARG BACKEND=onnx
LABEL org.opencontainers.image.title="multitask" \
      org.opencontainers.image.description="Multi-task sentence transformer (topic + sentiment) served by BentoML" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.multitask.backend="$BACKEND"
COPY --from=deps /opt/venv /opt/venv
COPY --from=bento /home/app/bentoml /home/app/bentoml
# COPY --from leaves the copied top folder root-owned (classic builder): hand it back to the app user.
RUN chown 10001:10001 /home/app/bentoml
ENV BENTOML_HOST=0.0.0.0 \
    BENTOML_PORT=3000 \
    BENTOML_DO_NOT_TRACK=true \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HOME=/home/app
USER 10001:10001
WORKDIR /home/app
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('BENTOML_PORT', '3000'), timeout=4)"]
# bentoml serve reads --host/--port from BENTOML_HOST/BENTOML_PORT. The image holds exactly one
# bento, so multitask:latest is the one imported above.
CMD ["bentoml", "serve", "multitask:latest"]
