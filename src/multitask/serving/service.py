"""The BentoML service: the packaged champion over HTTP, with continuous batching.

Endpoints (all POST bodies are JSON ``{"texts": ["...", ...]}``, results in input order):
    POST /predict    -> [{"topic": {"label", "scores"}, "sentiment": {"label", "scores"}}, ...]
    POST /classify   -> [{"label", "scores"}, ...]                          (topic only)
    POST /sentiment  -> [{"label", "scores"}, ...]                          (sentiment only)
    POST /embed      -> [[float, ...], ...]                                 (one row of `dim` each)
    GET|POST /model  -> registered name, version, run id, scenario, metrics, label sets, backend,
                        accuracy-gate figures, limits
BentoML serves /livez, /readyz, /metrics (Prometheus) and the Swagger UI (/). Requests are checked
by `guard.RequestGuard` against `contract` before BentoML parses them, and once the model has
loaded the guard answers the text routes itself (its fast path; the endpoints below give the same
answers and define the OpenAPI spec). The four text endpoints share one `batching.MicroBatcher`
per worker, built when the model loads. /metrics adds ``multitask_batch_size`` (texts per batch)
and ``multitask_shed_requests`` (503s).

Which model, backend and limits: the build arguments (`packaged.build_args`) and the record the
package stage stored with the model (`PackagedModel.backend`: onnx-int8, onnx or torch; see
`backend`). Environment: MULTITASK_WORKERS (processes, default 1), MULTITASK_TORCH_THREADS (model
threads per worker, see `backend`). Nothing heavy happens at import; the model loads in each
worker's `__init__`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import bentoml
from starlette.responses import Response

from multitask.serving.answers import render
from multitask.serving.backend import load_backend, worker_threads
from multitask.serving.batching import MicroBatcher
from multitask.serving.contract import MODEL_ROUTE, TEXT_ROUTES, Prediction, TaskResult
from multitask.serving.guard import RequestGuard
from multitask.serving.packaged import build_args, describe, read_packaged
from multitask.serving.state import ServingState

log = logging.getLogger("bentoml.multitask")

ARGS = build_args()
WORKERS = max(1, int(os.environ.get("MULTITASK_WORKERS", "1")))
STATE = ServingState(ARGS.limits)  # shared with RequestGuard
BATCH_SIZES = bentoml.metrics.Histogram(
    name="multitask_batch_size",
    documentation="texts per model batch (continuous batching of all text endpoints)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
SHED = bentoml.metrics.Counter(
    name="multitask_shed_requests",
    documentation="requests answered 503 while queued ones had waited over max_latency_ms",
)
STATE.on_shed = SHED.inc


@bentoml.service(
    name="multitask",
    workers=WORKERS,
    traffic={"timeout": ARGS.limits.timeout_s},  # see Serve.timeout_s
    metrics={"enabled": True},
    # Per-request CPU (issue 16): no access-log line per request (the guard logs rejections,
    # never request content) and no tracing span for the text routes.
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": list(TEXT_ROUTES)},
)
class MultiTaskService:
    """Loads the packaged model once per worker; the text endpoints share one batcher."""

    bento_model = bentoml.models.BentoModel(ARGS.model_tag)

    def __init__(self) -> None:
        packaged = read_packaged(self.bento_model)
        self.backend = load_backend(
            packaged.backend, self.bento_model.path, packaged.labels, worker_threads(WORKERS)
        )
        STATE.batcher = MicroBatcher(
            self.backend.rows,
            max_batch_size=STATE.limits.max_batch_size,
            max_latency_ms=STATE.limits.max_latency_ms,
            on_batch=BATCH_SIZES.observe,
        )
        STATE.info = describe(packaged, str(self.bento_model.tag), STATE.limits)
        STATE.answer = self.answer
        gate = packaged.gate.reason if packaged.gate else "none (PyTorch itself)"
        log.info(
            "serving %s (registered %s v%s, scenario %s) on %s with %d threads; gate: %s",
            self.bento_model.tag, packaged.registered.name, packaged.registered.version,
            packaged.registered.scenario, self.backend.name, self.backend.threads, gate,
        )  # fmt: skip

    async def answer(self, route: str, texts: list[str]) -> bytes:
        """`route`'s JSON answer for valid `texts` (RequestGuard calls this directly)."""
        assert STATE.batcher is not None  # set in __init__, before any request
        rows = await STATE.batcher.submit(texts)
        return render(route, rows, self.backend.dim, self.backend.labels)

    async def _respond(self, route: str, texts: list[str]) -> Any:
        # A Response passes BentoML's output handling untouched; the annotations below still
        # give the OpenAPI spec its response schemas.
        return Response(await self.answer(route, texts), media_type="application/json")

    @bentoml.api(route="/predict")
    async def predict(self, texts: list[str]) -> list[Prediction]:
        """Topic and sentiment, labels with probabilities, one result per text."""
        return await self._respond("/predict", texts)

    @bentoml.api(route="/classify")
    async def classify(self, texts: list[str]) -> list[TaskResult]:
        """Task A: the topic of every text."""
        return await self._respond("/classify", texts)

    @bentoml.api(route="/sentiment")
    async def sentiment(self, texts: list[str]) -> list[TaskResult]:
        """Task B: the sentiment of every text."""
        return await self._respond("/sentiment", texts)

    @bentoml.api(route="/embed")
    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Sentence embeddings (masked mean pooling), one row of `dim` floats per text."""
        return await self._respond("/embed", texts)

    @bentoml.api(route=MODEL_ROUTE)
    def model_info(self) -> dict[str, Any]:
        """Which model is served: version, run id, scenario, metrics, labels, backend, gate."""
        return STATE.model_info()  # RequestGuard answers GET and POST /model with the same


MultiTaskService.add_asgi_middleware(
    RequestGuard, state=STATE, base_spec=lambda: MultiTaskService.openapi_spec.asdict()
)
