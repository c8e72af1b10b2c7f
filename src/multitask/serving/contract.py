"""The HTTP contract of the service: what a request may hold, how errors read, the OpenAPI spec.

Every text endpoint takes ``{"texts": ["...", ...]}``: 1 to ``max_texts`` non-blank strings of at
most ``max_chars`` characters (``serve`` in params.yaml). `check_request` validates a raw body
with pydantic (unit-tested without a server); `explain` turns a failure into the HTTP status and
a body naming every rule broken and the item at fault; `document` writes this contract into
BentoML's own OpenAPI spec. Pure pydantic: no BentoML, no model.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from multitask.config import Serve

TEXT_ROUTES = ("/predict", "/classify", "/sentiment", "/embed")
MODEL_ROUTE = "/model"
SPEC_ROUTE = "/docs.json"
MAX_REPORTED_ERRORS = 10


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
_OVERLOADED = {  # what RequestGuard answers while the batcher's queue is too old
    "type": "object",
    "title": "Overloaded",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def document(spec: dict[str, Any], limits: Serve) -> dict[str, Any]:
    """BentoML's OpenAPI spec for this service, amended with what RequestGuard does.

    BentoML derives the text endpoints' schema from the signature (any list of any strings) and
    declares only its own 400/404/500 bodies; the guard enforces `limits`, answers bad requests
    with a `RequestError` (400 not JSON, 413 too large, 422 invalid), and sheds load with 503
    while queued requests have waited over max_latency_ms. GET /model is answered too.
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


# -- response shapes (for the OpenAPI spec) ---------------------------------------------------
class TaskResult(BaseModel):
    label: str = Field(description="the most probable label")
    scores: dict[str, float] = Field(description="softmax probability of every label")


class Prediction(BaseModel):
    topic: TaskResult
    sentiment: TaskResult
