"""The BentoML service: the packaged champion over HTTP, with continuous batching.

Endpoints (all POST bodies are JSON ``{"texts": ["...", ...]}``, results in input order):
    POST /predict    -> [{"topic": {"label", "scores"}, "sentiment": {"label", "scores"}}, ...]
    POST /classify   -> [{"label", "scores"}, ...]                          (topic only)
    POST /sentiment  -> [{"label", "scores"}, ...]                          (sentiment only)
    POST /embed      -> [[float, ...], ...]                                 (one row of `dim` each)
    GET|POST /model  -> registered name, version, run id, scenario, metrics, label sets, limits
BentoML serves /livez, /readyz, /metrics (Prometheus) and the Swagger UI (/). Requests are checked
by `guard.RequestGuard` against `contract` before BentoML parses them; the four text endpoints
share one `batching.MicroBatcher` per worker, built when the model loads. /metrics adds
``multitask_batch_size`` (texts per batch) and ``multitask_shed_requests`` (503s).

Which model and limits: the build arguments (`packaged.build_args`). Environment:
MULTITASK_WORKERS (processes, default 1), MULTITASK_TORCH_THREADS (see `backend`). Nothing
heavy happens at import; the model loads in each worker's `__init__`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import bentoml

from multitask.model.outputs import probs_to_results
from multitask.serving.backend import TorchBackend, worker_threads
from multitask.serving.batching import MicroBatcher
from multitask.serving.contract import MODEL_ROUTE, Prediction, TaskResult
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
)
class MultiTaskService:
    """Loads the packaged model once per worker; the text endpoints share one batcher."""

    bento_model = bentoml.models.BentoModel(ARGS.model_tag)

    def __init__(self) -> None:
        packaged = read_packaged(self.bento_model)
        self.backend = TorchBackend(self.bento_model.path, packaged.labels, worker_threads(WORKERS))
        STATE.batcher = MicroBatcher(
            self.backend.encode,
            max_batch_size=STATE.limits.max_batch_size,
            max_latency_ms=STATE.limits.max_latency_ms,
            on_batch=BATCH_SIZES.observe,
        )
        STATE.info = describe(packaged, str(self.bento_model.tag), STATE.limits)
        log.info(
            "serving %s (registered %s v%s, scenario %s) on %s with %d threads",
            self.bento_model.tag, packaged.registered.name, packaged.registered.version,
            packaged.registered.scenario, self.backend.name, self.backend.threads,
        )  # fmt: skip

    async def _embed(self, texts: list[str]) -> Any:
        assert STATE.batcher is not None  # set in __init__, before any request
        return await STATE.batcher.submit(texts)

    async def _results(self, texts: list[str]) -> list[dict[str, Any]]:
        probs = self.backend.probs(await self._embed(texts))
        return probs_to_results(probs, self.backend.labels)

    @bentoml.api(route="/predict")
    async def predict(self, texts: list[str]) -> list[Prediction]:
        """Topic and sentiment, labels with probabilities, one result per text."""
        return await self._results(texts)  # type: ignore[return-value]

    @bentoml.api(route="/classify")
    async def classify(self, texts: list[str]) -> list[TaskResult]:
        """Task A: the topic of every text."""
        return [r["topic"] for r in await self._results(texts)]  # type: ignore[misc]

    @bentoml.api(route="/sentiment")
    async def sentiment(self, texts: list[str]) -> list[TaskResult]:
        """Task B: the sentiment of every text."""
        return [r["sentiment"] for r in await self._results(texts)]  # type: ignore[misc]

    @bentoml.api(route="/embed")
    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Sentence embeddings (masked mean pooling), one row of `dim` floats per text."""
        return (await self._embed(texts)).tolist()

    @bentoml.api(route=MODEL_ROUTE)
    def model_info(self) -> dict[str, Any]:
        """Which model is served: registered name, version, run id, scenario, metrics, labels."""
        return STATE.model_info()  # RequestGuard answers GET and POST /model with the same


MultiTaskService.add_asgi_middleware(
    RequestGuard, state=STATE, base_spec=lambda: MultiTaskService.openapi_spec.asdict()
)
