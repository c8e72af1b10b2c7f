"""RequestGuard: an ASGI middleware that checks every request before BentoML parses it.

It answers GET and POST /model itself (BentoML would answer POST alone, with its own error
shapes) and serves the amended OpenAPI spec. A text request's body is read as JSON whatever its
Content-Type (``curl -d`` sends form-urlencoded) and validated (`contract.check_request`): a bad
one gets a 4xx naming the rule and the item index (400 not JSON, 413 too large, 422 anything
else), logged as one warning line without a traceback or any request content, so no request
body can cause a 5xx. While the batcher's oldest queued request has waited over
``max_latency_ms``, a valid request gets 503 with ``Retry-After: 1`` (load shedding).

Fast path: once the model has loaded (`ServingState.answer` is set), the guard answers a valid
text request itself: the texts it has just validated go to the batcher and the JSON answer
(`answers.render`) goes straight back. BentoML's outer middlewares still run (request metrics,
the request timeout), but not its second parse of the body, its endpoint wrapper and its output
validation: together ~1-2 ms of the event loop's CPU per request, as much as the int8 model
itself costs per sentence. The BentoML endpoints stay declared (OpenAPI) and give the same
answers (tests/test_service.py compares both paths).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from multitask.config import Serve
from multitask.serving.contract import (
    MODEL_ROUTE,
    SPEC_ROUTE,
    TEXT_ROUTES,
    check_no_params,
    check_request,
    document,
    explain,
)
from multitask.serving.state import ServingState

log = logging.getLogger("bentoml.multitask")  # under "bentoml" so BentoML's log config shows it

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(Exception):
    """The request body is over RequestGuard.max_body."""


class RequestGuard:
    """ASGI middleware: answers /model, and rejects bad text requests before BentoML parses them."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        state: ServingState,
        base_spec: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.app = app
        self.state = state  # the limits now; the batcher and model info once the model loads
        self.limits = state.limits
        self._last_shed_log = 0.0
        self.base_spec = base_spec  # BentoML's OpenAPI spec, amended once on first GET
        self._spec: dict[str, Any] | None = None
        # JSON escapes cost at most 6 bytes a character (12 for a surrogate pair, i.e. 2 chars).
        self.max_body = self.limits.max_texts * (6 * self.limits.max_chars + 8) + 4096

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
        body, texts = checked
        if self.state.batcher is not None and self.state.batcher.overloaded():
            return await self._shed(scope, receive, send)
        if self.state.answer is not None:
            return await self._answer(scope, receive, send, path, texts)

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

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, path: str, texts: list[str]
    ) -> None:
        """The fast path: the model's answer for validated `texts`, as JSON, sent directly."""
        assert self.state.answer is not None
        try:
            payload = await self.state.answer(path, texts)
        except Exception:  # a model failure is the server's fault: 500, logged once with its stack
            log.exception("%s failed", path)
            return await self._reply(scope, receive, send, 500, {"error": "model failure"})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

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
        await self._reply(scope, receive, send, 200, self.state.model_info())

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
        self.state.on_shed()
        now = time.monotonic()
        if now - self._last_shed_log > 5:  # one line per 5 s, not one per refused request
            self._last_shed_log = now
            log.warning("overloaded: refusing requests (%d so far)", self.state.shed_count())
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
