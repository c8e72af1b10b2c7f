"""The BentoML service: the packaged champion over HTTP, with adaptive batching.

Endpoints (all POST bodies are JSON ``{"texts": ["...", ...]}``, results in input order):
    POST /predict    -> [{"topic": {"label", "scores"}, "sentiment": {"label", "scores"}}, ...]
    POST /classify   -> [{"label", "scores"}, ...]                          (topic only)
    POST /sentiment  -> [{"label", "scores"}, ...]                          (sentiment only)
    POST /embed      -> [[float, ...], ...]                                 (one row of `dim` each)
    GET|POST /model  -> registered name, version, run id, scenario, metrics, label sets, dim
BentoML itself serves /livez, /readyz, /metrics (Prometheus) and the OpenAPI spec (/docs.json).

Which model: exactly the BentoML model whose tag the bento was built with
(``bentoml build --arg model_tag=<name:version>``, read back by ``bentoml.use_arguments()``), so an
old bento never picks up a newer model; without the argument it is ``multitask-model:latest``.
The batching limits and request limits come from params.yaml's ``serve`` section, which the
package stage stores in the BentoML model's metadata (defaults when absent).

Requests are checked by `RequestGuard` (an ASGI middleware) before BentoML parses them. The body
is read as JSON whatever its Content-Type (``curl -d`` sends form-urlencoded). A bad body gets a
4xx naming the rule and the item index (400 not JSON, 413 too large, 422 anything else), logged as
one warning line without a traceback; BentoML never sees it, so no request body can cause a 5xx.
Texts longer than the model's max_length in tokens (but within max_chars) are truncated by the
tokenizer.

Environment: MULTITASK_WORKERS (processes, default 1), MULTITASK_TORCH_THREADS (torch threads per
worker, default: available CPUs / workers, so workers do not oversubscribe the cores).
This module imports no mlflow, dvc or training code: the serving image stays small.
"""

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import bentoml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from multitask.config import Serve

log = logging.getLogger("bentoml.multitask")  # under "bentoml" so BentoML's log config shows it

DEFAULT_MODEL_TAG = "multitask-model:latest"
TEXT_ROUTES = ("/predict", "/classify", "/sentiment", "/embed")
MODEL_ROUTE = "/model"
MAX_REPORTED_ERRORS = 10

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# -- request validation (pure pydantic; unit-tested without a server) -------------------------
class TextsRequest(BaseModel):
    """The body of every text endpoint; limits come from the context ``{"limits": Serve}``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    texts: list[str] = Field(description="texts to process, in order", examples=[["Hello"]])

    @field_validator("texts", mode="before")
    @classmethod
    def _count(cls, value: Any, info: ValidationInfo) -> Any:
        limits = _limits(info)
        if isinstance(value, list):
            if not value:
                raise PydanticCustomError("min_texts", "texts must hold at least one text")
            if len(value) > limits.max_texts:
                raise PydanticCustomError(
                    "max_texts",
                    "texts holds {count} texts, more than max_texts={limit}",
                    {"count": len(value), "limit": limits.max_texts},
                )
        return value

    @field_validator("texts", mode="after")
    @classmethod
    def _each(cls, value: list[str], info: ValidationInfo) -> list[str]:
        limits = _limits(info)
        for i, text in enumerate(value):
            if not text.strip():
                raise PydanticCustomError(
                    "empty_text", "texts[{index}] is empty or whitespace-only", {"index": i}
                )
            if len(text) > limits.max_chars:
                raise PydanticCustomError(
                    "max_chars",
                    "texts[{index}] has {length} characters, more than max_chars={limit}",
                    {"index": i, "length": len(text), "limit": limits.max_chars},
                )
        return value


def _limits(info: ValidationInfo) -> Serve:
    ctx = info.context or {}
    return ctx.get("limits") or Serve()


def _where(loc: tuple[Any, ...]) -> str:
    """("texts", 3) -> "texts[3]"; () -> "body"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _describe(err: Any) -> dict[str, Any]:
    """One pydantic error -> {"rule", "loc", "index", "msg"} with a message a client can act on."""
    rule, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx") or {}
    where = _where(loc)
    index = ctx.get("index", loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None)
    if index is not None and len(loc) == 1:  # our per-item rules sit on the list itself
        where = _where((*loc, index))
    if rule in {"min_texts", "max_texts", "empty_text", "max_chars"}:
        msg = err["msg"]  # our own rules already name the item and the limit
    else:
        msg = {
            "missing": f'{where} is required: send {{"texts": ["...", ...]}}',
            "list_type": f"{where} must be a list of strings",
            "string_type": f"{where} must be a string, got {type(err.get('input')).__name__}",
            "extra_forbidden": f'unknown field {where!r}: the body holds only "texts"',
            "model_type": 'the body must be a JSON object {"texts": ["...", ...]}',
            "json_invalid": f"the body is not valid JSON: {ctx.get('error', err['msg'])}",
        }.get(rule, f"{where}: {err['msg']}")
    return {"rule": rule, "loc": where, "index": index, "msg": msg}


def check_request(body: bytes | str, limits: Serve | None = None) -> list[str]:
    """Validate a raw JSON body; return the texts or raise ValidationError (see `explain`)."""
    body = body or b"{}"  # an empty body reads as {} (so: "texts is required")
    req = TextsRequest.model_validate_json(body, context={"limits": limits or Serve()})
    return req.texts


def explain(err: ValidationError) -> tuple[int, dict[str, Any]]:
    """A ValidationError from `check_request` -> (HTTP status, JSON body naming every rule)."""
    details = [_describe(e) for e in err.errors(include_url=False)][:MAX_REPORTED_ERRORS]
    status = 400 if details[0]["rule"] == "json_invalid" else 422
    return status, {"error": details[0]["msg"], "detail": details}


# -- the model this process serves (read once at import: it sizes the batching decorators) ------
def _model_tag() -> str:
    return str(getattr(bentoml.use_arguments(), "model_tag", None) or DEFAULT_MODEL_TAG)


def _describe_model(
    ref: bentoml.models.BentoModel,
) -> tuple[dict[str, Any], Serve, dict[str, list[str]] | None]:
    """(GET /model's answer, serve limits, label sets params.yaml had when it was packaged).

    Read from the stored model's labels and metadata; defaults when the store lacks it.
    """
    stored = ref.stored
    if stored is None:  # build/serve will fail later with BentoML's own "not found" error
        return {"bentoml_model": str(ref.tag), "available": False}, Serve(), None
    labels, meta = dict(stored.info.labels), dict(stored.info.metadata)
    model_meta: dict[str, Any] = {}
    meta_file = os.path.join(stored.path, "multitask.json")
    if os.path.isfile(meta_file):
        with open(meta_file, encoding="utf-8") as fh:
            model_meta = json.load(fh)
    serve_raw = meta.get("serve") or {}
    limits = Serve(**{k: serve_raw[k] for k in Serve.model_fields if k in serve_raw})
    version = labels.get("version")
    info = {
        "registered_name": labels.get("registered_name"),
        "version": int(version) if version and version.isdigit() else version,
        "run_id": labels.get("run_id"),
        "scenario": labels.get("scenario"),
        "metrics": meta.get("metrics", {}),
        "labels": model_meta.get("labels") or meta.get("label_sets") or {},
        "dim": model_meta.get("dim"),
        "max_length": model_meta.get("max_length"),
        "bentoml_model": str(stored.tag),
        "limits": limits.model_dump(),
    }
    return info, limits, meta.get("label_sets")


MODEL_REF = bentoml.models.BentoModel(_model_tag())
MODEL_INFO, LIMITS, EXPECTED_LABELS = _describe_model(MODEL_REF)
WORKERS = max(1, int(os.environ.get("MULTITASK_WORKERS", "1")))
# A request may hold max_texts texts; the batcher splits anything above max_batch_size anyway.
BATCH: dict[str, Any] = {
    "batchable": True,
    "max_batch_size": LIMITS.max_batch_size,
    "max_latency_ms": LIMITS.max_latency_ms,
}


def _torch_threads() -> int:
    env = os.environ.get("MULTITASK_TORCH_THREADS")
    if env:
        return max(1, int(env))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // WORKERS)


# -- the request guard ------------------------------------------------------------------------
class _TooLarge(Exception):
    """The request body is over RequestGuard.max_body."""


class RequestGuard:
    """ASGI middleware: answers /model, and rejects bad text requests before BentoML parses them."""

    def __init__(self, app: Callable[..., Awaitable[None]], limits: Serve) -> None:
        self.app = app
        self.limits = limits
        # JSON escapes cost at most 6 bytes a character (12 for a surrogate pair, i.e. 2 chars).
        self.max_body = limits.max_texts * (6 * limits.max_chars + 8) + 4096

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"].rstrip("/") or "/", scope["method"]
        if path == MODEL_ROUTE and method in ("GET", "POST"):
            return await self._reply(scope, receive, send, 200, MODEL_INFO)
        if path not in TEXT_ROUTES or method != "POST":
            return await self.app(scope, receive, send)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await self._read_body(receive, headers.get("content-length"))
        except _TooLarge:
            msg = f"the body is larger than {self.max_body} bytes (max_texts x max_chars)"
            payload = {"error": msg, "detail": [{"rule": "max_body", "loc": "body", "msg": msg}]}
            return await self._reject(scope, receive, send, 413, payload)
        if body is None:  # the client went away
            return None
        try:
            check_request(body, self.limits)
        except ValidationError as err:
            return await self._reject(scope, receive, send, *explain(err))

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        # BentoML picks its parser by Content-Type; the body is JSON whatever the client declared
        # (curl -d sends form-urlencoded), so say so, and never let a pickle body through.
        raw = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
        scope = dict(scope, headers=[*raw, (b"content-type", b"application/json")])
        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive, length: str | None) -> bytes | None:
        """The whole body (None if the client went away); _TooLarge past max_body bytes."""
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise _TooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                raise _TooLarge
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, status: int, payload: dict[str, Any]
    ) -> None:
        log.warning(
            "rejected %s %s (%d): %s", scope["method"], scope["path"], status, payload["error"]
        )
        await self._reply(scope, receive, send, status, payload)

    @staticmethod
    async def _reply(scope: Scope, receive: Receive, send: Send, status: int, payload: Any) -> None:
        from starlette.responses import JSONResponse

        await JSONResponse(payload, status_code=status)(scope, receive, send)


# -- response shapes (for the OpenAPI spec) ---------------------------------------------------
class TaskResult(BaseModel):
    label: str = Field(description="the most probable label")
    scores: dict[str, float] = Field(description="softmax probability of every label")


class Prediction(BaseModel):
    topic: TaskResult
    sentiment: TaskResult


# -- the service ------------------------------------------------------------------------------
@bentoml.service(
    name="multitask",
    workers=WORKERS,
    traffic={"timeout": 60},
    metrics={"enabled": True},
)
class MultiTaskService:
    """Loads the packaged model once per worker; every text endpoint is adaptively batched."""

    bento_model = MODEL_REF

    def __init__(self) -> None:
        import torch

        from multitask.model import MultiTaskSentenceTransformer

        torch.set_num_threads(_torch_threads())
        path = self.bento_model.path  # resolves the tag in the model store (fails if absent)
        # The label sets params.yaml had at packaging time must be the ones the model was trained
        # for (ModelLoadError, naming the file, otherwise).
        self.model = MultiTaskSentenceTransformer.load(path, EXPECTED_LABELS or None).eval()
        self.model.predict(["warm up"])  # first request should not pay for lazy initialisation
        log.info(
            "serving %s (registered %s v%s, scenario %s) with %d torch threads",
            MODEL_INFO.get("bentoml_model"),
            MODEL_INFO.get("registered_name"),
            MODEL_INFO.get("version"),
            MODEL_INFO.get("scenario"),
            torch.get_num_threads(),
        )

    def _results(self, texts: list[str]) -> list[dict[str, Any]]:
        from multitask.model import probs_to_results

        return probs_to_results(self.model.predict_proba(texts), self.model.labels)

    @bentoml.api(route="/predict", **BATCH)
    def predict(self, texts: list[str]) -> list[Prediction]:
        """Topic and sentiment, labels with probabilities, one result per text."""
        return self._results(texts)  # type: ignore[return-value]

    @bentoml.api(route="/classify", **BATCH)
    def classify(self, texts: list[str]) -> list[TaskResult]:
        """Task A: the topic of every text."""
        return [r["topic"] for r in self._results(texts)]  # type: ignore[misc]

    @bentoml.api(route="/sentiment", **BATCH)
    def sentiment(self, texts: list[str]) -> list[TaskResult]:
        """Task B: the sentiment of every text."""
        return [r["sentiment"] for r in self._results(texts)]  # type: ignore[misc]

    @bentoml.api(route="/embed", **BATCH)
    def embed(self, texts: list[str]) -> list[list[float]]:
        """Sentence embeddings (masked mean pooling), one row of `dim` floats per text."""
        return self.model.encode(texts).tolist()

    @bentoml.api(route=MODEL_ROUTE)
    def model_info(self) -> dict[str, Any]:
        """Which model is served: registered name, version, run id, scenario, metrics, labels."""
        return MODEL_INFO  # RequestGuard answers GET and POST /model with this same dict


MultiTaskService.add_asgi_middleware(RequestGuard, limits=LIMITS)
