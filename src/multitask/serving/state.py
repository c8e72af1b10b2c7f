"""What one worker process serves, shared by the service and its request guard.

BentoML builds the ASGI app (and so RequestGuard) before the service instance loads its model,
so the guard cannot be handed the batcher or the model's description when it is built. Both
hold this object instead: the limits are known at import (build arguments); the batcher, GET
/model's answer and `answer` (a text route's JSON answer for valid texts, which the guard uses
to answer the text routes itself) are filled in when the service loads the model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from multitask.config import Serve
from multitask.serving.batching import MicroBatcher


@dataclass
class ServingState:
    limits: Serve
    batcher: MicroBatcher | None = None  # None until the model has loaded
    info: dict[str, Any] = field(default_factory=dict)  # GET /model's answer, once loaded
    on_shed: Callable[[], None] = lambda: None  # e.g. a Prometheus counter's inc
    # (route, valid texts) -> the JSON answer; None until the model has loaded
    answer: Callable[[str, list[str]], Awaitable[bytes]] | None = None

    def model_info(self) -> dict[str, Any]:
        return self.info or {"available": False, "limits": self.limits.limits()}

    def shed_count(self) -> int:
        return self.batcher.stats.shed if self.batcher is not None else 0
