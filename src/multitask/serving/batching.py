"""Continuous batching of text requests for one model in one process, with load shedding.

Every request's texts join one queue. A single consumer takes everything queued (whole requests,
up to `max_batch_size` texts, or one larger request alone), runs the model on it in a worker
thread (the event loop stays free for health checks and new requests) and hands each request its
own rows. So the batch size follows the load: a lone request runs at once, alone; under load,
whatever arrived while the model was busy runs together, and the model sorts it by length.

Shedding: while the oldest request still queued has waited longer than `max_latency_ms`, the
queue is not draining as fast as requests arrive, and `overloaded()` says so; the service's
request guard then answers new requests 503 at once, until the queue is fresh again. It uses no
learned estimate: a cost model fitted on batch times was fooled by the CPU the 503s themselves
took and kept refusing a load it could serve. Nothing about a burst outlives its queue: when the
load drops, the next request runs immediately.

Why not BentoML's own adaptive batcher (``batchable=True``): it waits for company in proportion
to the mean queueing delay it has recently seen, so after an overload a lone request waited
~400 ms (100 x its 4 ms) for minutes (tests/test_reliability_http.py found it).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Request:
    texts: Sequence[str]
    future: asyncio.Future[np.ndarray]
    enqueued: float  # time.monotonic()


@dataclass
class BatchStats:
    """Counters for /metrics and tests: batches run, texts in them, requests refused."""

    batches: int = 0
    texts: int = 0
    requests: int = 0
    shed: int = 0  # requests refused while overloaded()
    sizes: list[int] = field(default_factory=list)  # the last 1000 batch sizes

    def record(self, n_texts: int, n_requests: int) -> None:
        self.batches += 1
        self.texts += n_texts
        self.requests += n_requests
        self.sizes = [*self.sizes[-999:], n_texts]


class MicroBatcher:
    """Runs ``fn(texts) -> array with one row per text`` on batches of queued requests."""

    def __init__(
        self,
        fn: Callable[[list[str]], np.ndarray],
        max_batch_size: int,
        max_latency_ms: float,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.max_batch_size = max_batch_size
        self.max_latency_s = max_latency_ms / 1000
        self.on_batch = on_batch  # e.g. a Prometheus histogram's observe
        self.stats = BatchStats()
        self._queue: deque[_Request] = deque()
        self._wake: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def queue_delay_s(self) -> float:
        """How long the oldest request still queued has waited (0 with an empty queue)."""
        return time.monotonic() - self._queue[0].enqueued if self._queue else 0.0

    def overloaded(self) -> bool:
        """True (and counted as shed) while the queue delay exceeds max_latency_ms."""
        if self.queue_delay_s() <= self.max_latency_s:
            return False
        self.stats.shed += 1
        return True

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """The model's rows for `texts`, once a batch holding them has run."""
        loop = asyncio.get_running_loop()
        if self._consumer is None or self._consumer.done():
            self._wake = asyncio.Event()
            self._consumer = loop.create_task(self._consume(), name="multitask-batcher")
        request = _Request(texts, loop.create_future(), time.monotonic())
        self._queue.append(request)
        assert self._wake is not None
        self._wake.set()
        return await request.future

    def _take(self) -> list[_Request]:
        """Whole requests from the front of the queue: up to max_batch_size texts, at least one."""
        batch: list[_Request] = []
        size = 0
        while self._queue:
            nxt = self._queue[0]
            if batch and size + len(nxt.texts) > self.max_batch_size:
                break
            self._queue.popleft()
            if nxt.future.done():  # the client went away (cancelled)
                continue
            batch.append(nxt)
            size += len(nxt.texts)
        return batch

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take()
            if not batch:
                continue
            texts = [t for r in batch for t in r.texts]
            try:
                rows = await loop.run_in_executor(self._executor, self.fn, texts)
            except Exception as err:  # every request of the batch gets the error, not a hang
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(err)
                continue
            self.stats.record(len(texts), len(batch))
            if self.on_batch is not None:
                self.on_batch(len(texts))
            offset = 0
            for r in batch:
                if not r.future.done():
                    r.future.set_result(rows[offset : offset + len(r.texts)])
                offset += len(r.texts)
