"""The BentoML service: the packaged champion over HTTP, with continuous (adaptive) batching.

Endpoints (all POST bodies are JSON ``{"texts": ["...", ...]}``, results in input order):
    POST /predict    -> [{"topic": {"label", "scores"}, "sentiment": {"label", "scores"}}, ...]
    POST /classify   -> [{"label", "scores"}, ...]                          (topic only)
    POST /sentiment  -> [{"label", "scores"}, ...]                          (sentiment only)
    POST /embed      -> [[float, ...], ...]                                 (one row of `dim` each)
    GET|POST /model  -> registered name, version, run id, scenario, metrics, label sets, dim
BentoML itself serves /livez, /readyz, /metrics (Prometheus) and the Swagger UI (/); the OpenAPI
spec (/docs.json) is BentoML's with the contract RequestGuard enforces written in (`document`):
the request limits, the 400/413/422 error bodies, and the 503 of load shedding.

Batching: the four text endpoints share one `multitask.batching.MicroBatcher` per worker: what
arrives while the model is busy runs together as the next batch (up to ``max_batch_size`` texts),
a lone request runs at once. While the oldest queued request has waited longer than
``max_latency_ms``, RequestGuard refuses new ones (503, Retry-After: 1) until the queue drains.
/metrics adds ``multitask_batch_size`` (texts per batch) and ``multitask_shed_requests``.
BentoML's own batcher (``batchable=True``) is not used: after an overload it kept lone requests
waiting ~100 x longer for minutes (see batching.py).

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

import copy
import json
import logging
import os
import time
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

from multitask.batching import MicroBatcher
from multitask.config import Serve

log = logging.getLogger("bentoml.multitask")  # under "bentoml" so BentoML's log config shows it

DEFAULT_MODEL_TAG = "multitask-model:latest"
TEXT_ROUTES = ("/predict", "/classify", "/sentiment", "/embed")
MODEL_ROUTE = "/model"
SPEC_ROUTE = "/docs.json"
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
            "extra_forbidden": f"unknown field {where!r}",
            "model_type": "the body must be a JSON object",
            "json_invalid": f"the body is not valid JSON: {ctx.get('error', err['msg'])}",
        }.get(rule, f"{where}: {err['msg']}")
    return {"rule": rule, "loc": where, "index": index, "msg": msg}


def check_request(body: bytes | str, limits: Serve | None = None) -> list[str]:
    """Validate a raw JSON body; return the texts or raise ValidationError (see `explain`)."""
    body = body or b"{}"  # an empty body reads as {} (so: "texts is required")
    req = TextsRequest.model_validate_json(body, context={"limits": limits or Serve()})
    return req.texts


class NoParams(BaseModel):
    """The body of POST /model: nothing, or an empty JSON object."""

    model_config = ConfigDict(extra="forbid", strict=True)


def check_no_params(body: bytes | str) -> None:
    """Validate the body of POST /model; raise ValidationError (see `explain`) unless empty."""
    NoParams.model_validate_json(body or b"{}")


def explain(err: ValidationError) -> tuple[int, dict[str, Any]]:
    """A ValidationError from `check_request` -> (HTTP status, JSON body naming every rule)."""
    details = [_describe(e) for e in err.errors(include_url=False)][:MAX_REPORTED_ERRORS]
    status = 400 if details[0]["rule"] == "json_invalid" else 422
    return status, {"error": details[0]["msg"], "detail": details}


# "Holds a character that is not whitespace" as a JSON-schema (ECMA-262) pattern. ECMA's \\s is
# not Python's str.isspace (it lacks U+001C-U+001F and U+0085, adds U+FEFF), so spell out exactly
# the characters `check_request` strips.
NOT_BLANK = "[^" + "".join(f"\\u{c:04x}" for c in range(0x10000) if chr(c).isspace()) + "]"


# -- the OpenAPI spec: BentoML's, with the contract RequestGuard enforces ---------------------
def texts_schema(limits: Serve) -> dict[str, Any]:
    """JSON schema of a text request under `limits` (what `check_request` accepts)."""
    text = {"type": "string", "minLength": 1, "maxLength": limits.max_chars, "pattern": NOT_BLANK}
    return {
        "type": "object",
        "title": "TextsRequest",
        "required": ["texts"],
        "additionalProperties": False,
        "properties": {
            "texts": {
                "type": "array",
                "description": "texts to process, in order",
                "minItems": 1,
                "maxItems": limits.max_texts,
                "items": text,
                "example": ["The central bank raised interest rates."],
            }
        },
    }


_REQUEST_ERROR = {  # what RequestGuard answers (OpenAPI 3.0: nullable, not type null)
    "type": "object",
    "title": "RequestError",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "the first problem, in words"},
        "detail": {
            "type": "array",
            "maxItems": MAX_REPORTED_ERRORS,
            "items": {
                "type": "object",
                "required": ["rule", "loc", "msg"],
                "properties": {
                    "rule": {"type": "string", "description": "e.g. max_chars, empty_text"},
                    "loc": {"type": "string", "description": 'e.g. "body", "texts[3]"'},
                    "index": {"type": "integer", "nullable": True},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
NO_PARAMS_SCHEMA = {"type": "object", "additionalProperties": False, "properties": {}}
_OVERLOADED = {  # BentoML's own answer when its batcher sheds load
    "type": "object",
    "title": "Overloaded",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def document(spec: dict[str, Any], limits: Serve) -> dict[str, Any]:
    """BentoML's OpenAPI spec for this service, amended with what RequestGuard does.

    BentoML derives the text endpoints' schema from the signature (any list of any strings) and
    declares only its own 400/404/500 bodies; the guard enforces `limits`, answers bad requests
    with a `RequestError` (400 not JSON, 413 too large, 422 invalid), and BentoML's batcher
    sheds load with 503. GET /model is answered too.
    """
    spec = copy.deepcopy(spec)
    for item in spec["paths"].values():  # BentoML keys responses by int; JSON and we use str
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = {str(k): v for k, v in op["responses"].items()}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(RequestError=_REQUEST_ERROR, Overloaded=_OVERLOADED)

    def answer(description: str, schema: str) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{schema}"}
        return {"description": description, "content": {"application/json": {"schema": ref}}}

    for route in TEXT_ROUTES:
        op = spec["paths"][route]["post"]
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": texts_schema(limits)}},
        }
        op["responses"].update(
            {
                "400": answer("the body is not JSON", "RequestError"),
                "413": answer("the body is larger than max_texts x max_chars", "RequestError"),
                "422": answer("the body breaks a rule; `detail` names each", "RequestError"),
                "503": answer("overloaded: retry later", "Overloaded"),
            }
        )
    model = spec["paths"].get(MODEL_ROUTE, {})
    if "post" in model:
        post = model["post"]
        post["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": NO_PARAMS_SCHEMA}},
        }
        post["responses"].update(
            {
                "400": answer("the body is not JSON", "RequestError"),
                "413": answer("the body is too large", "RequestError"),
                "422": answer("the body is not an empty object", "RequestError"),
            }
        )
        model["get"] = {k: v for k, v in post.items() if k != "requestBody"}
        model["get"]["operationId"] = f"{post.get('operationId', 'model')}_get"
        model["get"]["responses"] = {"200": post["responses"]["200"]}
    return spec


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
BATCH_SIZES = bentoml.metrics.Histogram(
    name="multitask_batch_size",
    documentation="texts per model batch (continuous batching of all text endpoints)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
SHED = bentoml.metrics.Counter(
    name="multitask_shed_requests",
    documentation="requests answered 503 while queued ones had waited over max_latency_ms",
)


def _model_not_loaded(texts: list[str]) -> Any:
    raise RuntimeError("the model is not loaded yet")


# One batcher per worker process, shared by the four text endpoints (they all need the same
# embeddings) and by RequestGuard, which refuses what it could not serve in time.
BATCHER = MicroBatcher(
    _model_not_loaded,
    max_batch_size=LIMITS.max_batch_size,
    max_latency_ms=LIMITS.max_latency_ms,
    on_batch=BATCH_SIZES.observe,
)


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

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        limits: Serve,
        base_spec: Callable[[], dict[str, Any]] | None = None,
        batcher: MicroBatcher | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.batcher = batcher  # asked whether a valid request can still be served in time
        self._last_shed_log = 0.0
        self.base_spec = base_spec  # BentoML's OpenAPI spec, amended once on first GET
        self._spec: dict[str, Any] | None = None
        # JSON escapes cost at most 6 bytes a character (12 for a surrogate pair, i.e. 2 chars).
        self.max_body = limits.max_texts * (6 * limits.max_chars + 8) + 4096

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"].rstrip("/") or "/", scope["method"]
        if path == MODEL_ROUTE:
            return await self._model(scope, receive, send)
        if path == SPEC_ROUTE and method == "GET" and self.base_spec is not None:
            if self._spec is None:
                self._spec = document(self.base_spec(), self.limits)
            return await self._reply(scope, receive, send, 200, self._spec)
        if path not in TEXT_ROUTES or method != "POST":
            return await self.app(scope, receive, send)

        checked = await self._checked_body(scope, receive, send, check_request)
        if checked is None:  # rejected, or the client went away
            return None
        body, _ = checked
        if self.batcher is not None and self.batcher.overloaded():
            return await self._shed(scope, receive, send)

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

    async def _model(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET or POST /model (BentoML would answer POST alone, with its own error shapes)."""
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            payload = {"error": f"{method} /model: use GET or POST"}
            return await self._reply(scope, receive, send, 405, payload, {"allow": "GET, POST"})
        if method == "POST":
            no_params = lambda body, _: check_no_params(body)  # noqa: E731
            if await self._checked_body(scope, receive, send, no_params) is None:
                return None
        await self._reply(scope, receive, send, 200, MODEL_INFO)

    async def _checked_body(
        self, scope: Scope, receive: Receive, send: Send, check: Callable[[bytes, Serve], Any]
    ) -> tuple[bytes, Any] | None:
        """(body, what `check` returned) if it accepts the body; else answer and return None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await self._read_body(receive, headers.get("content-length"))
        except _TooLarge:
            msg = f"the body is larger than {self.max_body} bytes (max_texts x max_chars)"
            payload = {"error": msg, "detail": [{"rule": "max_body", "loc": "body", "msg": msg}]}
            await self._reject(scope, receive, send, 413, payload)
            return None
        if body is None:  # the client went away
            return None
        try:
            checked = check(body, self.limits)
        except ValidationError as err:
            await self._reject(scope, receive, send, *explain(err))
            return None
        return body, checked

    async def _shed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """503 with Retry-After: queued requests have already waited over max_latency_ms."""
        SHED.inc()
        now = time.monotonic()
        if now - self._last_shed_log > 5:  # one line per 5 s, not one per refused request
            self._last_shed_log = now
            log.warning("overloaded: refusing requests (%d so far)", self.batcher.stats.shed)
        msg = (
            f"overloaded: queued requests have waited over max_latency_ms="
            f"{self.limits.max_latency_ms}; retry later"
        )
        await self._reply(scope, receive, send, 503, {"error": msg}, {"retry-after": "1"})

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
        # Rule names and item indexes only: messages can quote the client's own keys and texts,
        # and request content never goes to the log.
        rules = ", ".join(
            d["rule"] + (f" at texts[{d['index']}]" if d.get("index") is not None else "")
            for d in payload["detail"]
        )
        log.warning("rejected %s %s (%d): %s", scope["method"], scope["path"], status, rules)
        await self._reply(scope, receive, send, status, payload)

    @staticmethod
    async def _reply(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        from starlette.responses import JSONResponse

        await JSONResponse(payload, status_code=status, headers=headers)(scope, receive, send)


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
    traffic={"timeout": LIMITS.timeout_s},  # see Serve.timeout_s
    metrics={"enabled": True},
)
class MultiTaskService:
    """Loads the packaged model once per worker; the text endpoints share one continuous batcher."""

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
        self.batcher = BATCHER
        self.batcher.fn = self.model.encode
        log.info(
            "serving %s (registered %s v%s, scenario %s) with %d torch threads",
            MODEL_INFO.get("bentoml_model"),
            MODEL_INFO.get("registered_name"),
            MODEL_INFO.get("version"),
            MODEL_INFO.get("scenario"),
            torch.get_num_threads(),
        )

    async def _embed(self, texts: list[str]) -> Any:
        return await self.batcher.submit(texts)

    async def _results(self, texts: list[str]) -> list[dict[str, Any]]:
        from multitask.model import probs_to_results

        probs = self.model.head_probs(await self._embed(texts))  # heads: microseconds
        return probs_to_results(probs, self.model.labels)

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
        return MODEL_INFO  # RequestGuard answers GET and POST /model with this same dict


MultiTaskService.add_asgi_middleware(
    RequestGuard,
    limits=LIMITS,
    base_spec=lambda: MultiTaskService.openapi_spec.asdict(),
    batcher=BATCHER,
)
