"""The text endpoints' answers as JSON bytes, from the batcher's rows (numpy and orjson only).

Both ways a text request can be answered use this: the request guard's fast path (which answers
the four text routes itself, skipping BentoML's second parse of the body, its endpoint wrapper
and its output validation) and the BentoML endpoints (which the OpenAPI spec describes). The
shapes are the contract's (`contract.Prediction`, `contract.TaskResult`, lists of floats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import orjson

from multitask.model.outputs import probs_to_results, unpack_rows


def render(route: str, rows: np.ndarray, dim: int, labels: Mapping[str, Sequence[str]]) -> bytes:
    """The JSON body of `route`'s answer for these rows (one per text, in request order)."""
    emb, probs = unpack_rows(rows, dim, labels)
    if route == "/embed":
        return orjson.dumps(np.ascontiguousarray(emb), option=orjson.OPT_SERIALIZE_NUMPY)
    results = probs_to_results(probs, labels)
    if route == "/predict":
        return orjson.dumps(results)
    task = {"/classify": "topic", "/sentiment": "sentiment"}[route]
    return orjson.dumps([r[task] for r in results])
