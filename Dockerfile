# Serving image for the packaged champion: Debian slim + CPU-only torch + the exported bento.
#
#   make pipeline-tiny              # or `make pipeline`: writes dist/multitask.bento
#   scripts/docker/wheelhouse.sh    # optional: fills wheels/, then the build needs no network
#   docker build -t multitask .     # without wheels/: --build-arg TORCH_INDEX_URL=<CPU torch index>
#   docker run --rm -p 3000:3000 multitask
#
# Stages: `runtime` (python3 + a non-root user) <- `deps` (a venv: torch first, then the service's
# runtime packages) <- `bento` (imports dist/multitask.bento); the final image is `runtime` plus the
# venv and the imported bento: no compilers, apt lists, wheels or the .bento file itself. The
# dependency layers come before the bento is copied, so a new model rebuilds only the last layers.
# No BuildKit-only syntax (RUN --mount): the classic builder builds this file too.

FROM debian:bookworm-slim AS runtime
# Versions come with the pinned Debian release (the base tag); pinning each .deb breaks at every
# point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    BENTOML_HOME=/home/app/bentoml


FROM runtime AS deps
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
# Must equal the torch pin in requirements-serve.txt (tests/test_container_lint.py checks).
ARG TORCH_VERSION=2.13.0
# Where CPU-only torch wheels live when wheels/ is absent (the default index serves CUDA builds).
ARG TORCH_INDEX_URL=""

# 1) the torch wheel alone (--no-deps), in its own layer: only the torch version or wheel
#    invalidates it. wheel[s]/... matches nothing when there is no wheels/ folder; .dockerignore
#    rides along because the classic builder rejects a COPY whose only source is an empty wildcard.
COPY .dockerignore wheel[s]/torch-* /tmp/wheels/
# torch is pinned, through the ARG (DL3013 cannot see that); $src is split into options on purpose.
# hadolint ignore=DL3013,SC2086
RUN set -eu; \
    if ls /tmp/wheels/*.whl >/dev/null 2>&1; then src="--no-index --find-links /tmp/wheels"; \
    elif [ -n "$TORCH_INDEX_URL" ]; then src="--index-url $TORCH_INDEX_URL"; \
    else src=""; fi; \
    pip install --no-deps $src "torch==$TORCH_VERSION"; \
    rm -rf /tmp/wheels

# 2) torch's dependencies and the service's runtime packages, pinned by requirements-serve.txt (the
#    same pins the bento carries; no mlflow, dvc, pandera, ...). The installed torch satisfies its pin.
COPY requirements-serve.txt wheel[s] /tmp/wheels/
# hadolint ignore=SC2086
RUN set -eu; \
    if ls /tmp/wheels/*.whl >/dev/null 2>&1; then src="--no-index --find-links /tmp/wheels"; else src=""; fi; \
    pip install $src -r /tmp/wheels/requirements-serve.txt; \
    pip check; \
    site=/opt/venv/lib/python3.11/site-packages/torch; \
    rm -rf /tmp/wheels "$site/test" "$site/include" "$site"/bin/*Test "$site"/bin/test_* "$site"/bin/protoc*


FROM deps AS bento
COPY dist/multitask.bento /tmp/multitask.bento
# Import into BENTOML_HOME; the store stays root-owned and read-only for the app user (the home
# folder itself becomes the app user's in the final stage: bentoml makes its Prometheus folder there).
RUN set -eu; \
    bentoml import /tmp/multitask.bento; \
    bentoml get multitask:latest >/dev/null; \
    chmod -R a+rX,go-w "$BENTOML_HOME"


FROM runtime
LABEL org.opencontainers.image.title="multitask" \
      org.opencontainers.image.description="Multi-task sentence transformer (topic + sentiment) served by BentoML" \
      org.opencontainers.image.licenses="Apache-2.0"
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
