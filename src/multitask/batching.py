"""Continuous batching of text requests for one model in one process, with load shedding.

Every request's texts join one queue. A single consumer takes everything queued (whole requests,
up to `max_batch_size` texts, or one larger request alone), runs the model on it in a worker
thread (the event loop stays free for health checks and new requests) and hands each request its
own rows. So the batch size follows the load: a lone request runs at once, alone; under load,
whatever arrived while the model was busy runs together, and the model sorts it by length.

Shedding: `would_overload` says whether a new request's estimated wait (texts ahead of it plus
its own, times the measured seconds per text) exceeds `max_latency_ms`; the service's request
guard then answers 503 at once, so a burst never builds a queue the server cannot serve in time.
Nothing about a burst is remembered afterwards: when the load drops, the next request runs
immediately.

Why not BentoML's own adaptive batcher (``batchable=True``): it waits for company in proportion
to the mean queueing delay it has recently seen, so after an overload a lone request waited
~400 ms (100 x its 4 ms) for minutes (tests/test_reliability_http.py found it).
"""

from __future__ import annotations

import asyncio
import math
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


@dataclass
class BatchStats:
    """Counters for /metrics and tests: batches run, texts in them, requests refused."""

    batches: int = 0
    texts: int = 0
    requests: int = 0
    shed: int = 0  # requests refused by would_overload
    sizes: list[int] = field(default_factory=list)  # the last 1000 batch sizes

    def record(self, n_texts: int, n_requests: int) -> None:
        self.batches += 1
        self.texts += n_texts
        self.requests += n_requests
        self.sizes = [*self.sizes[-999:], n_texts]


class MicroBatcher:
    """Runs ``fn(texts) -> array with one row per text`` on batches of queued requests.

    The batch cost model (`overhead_s` + `seconds_per_text` x texts) starts from
    `initial_seconds_per_text` and is refitted on the last 64 batches after every batch.
    """

    def __init__(
        self,
        fn: Callable[[list[str]], np.ndarray],
        max_batch_size: int,
        max_latency_ms: float,
        initial_seconds_per_text: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.max_batch_size = max_batch_size
        self.max_latency_s = max_latency_ms / 1000
        self.seconds_per_text = initial_seconds_per_text
        self.overhead_s = 0.0
        self._history: deque[tuple[int, float]] = deque(maxlen=64)  # (texts, seconds) per batch
        self.on_batch = on_batch  # e.g. a Prometheus histogram's observe
        self.stats = BatchStats()
        self._queue: deque[_Request] = deque()
        self._queued_texts = 0
        self._running_texts = 0
        self._wake: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def batch_seconds(self, n_texts: int) -> float:
        """Predicted time of a batch of `n_texts` texts: a fixed cost plus a per-text one."""
        return self.overhead_s + self.seconds_per_text * n_texts if n_texts else 0.0

    def estimated_wait_s(self, n_texts: int) -> float:
        """How long a new request of `n_texts` texts would take: the running batch, the queue
        ahead of it and itself, in batches of at most max_batch_size texts."""
        ahead = self._queued_texts + n_texts
        batches = math.ceil(ahead / self.max_batch_size)
        running = self.batch_seconds(self._running_texts)
        return running + batches * self.overhead_s + ahead * self.seconds_per_text

    def would_overload(self, n_texts: int) -> bool:
        """True (and counted as shed) if a request of `n_texts` would wait over max_latency_ms."""
        if self.estimated_wait_s(n_texts) <= self.max_latency_s:
            return False
        self.stats.shed += 1
        return True

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """The model's rows for `texts`, once a batch holding them has run."""
        loop = asyncio.get_running_loop()
        if self._consumer is None or self._consumer.done():
            self._wake = asyncio.Event()
            self._consumer = loop.create_task(self._consume(), name="multitask-batcher")
        request = _Request(texts, loop.create_future())
        self._queue.append(request)
        self._queued_texts += len(texts)
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
            self._queued_texts -= len(nxt.texts)
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
            self._running_texts = len(texts)
            start = time.perf_counter()
            try:
                rows = await loop.run_in_executor(self._executor, self.fn, texts)
            except Exception as err:  # every request of the batch gets the error, not a hang
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(err)
                continue
            finally:
                self._running_texts = 0
            self._learn(time.perf_counter() - start, len(texts))
            self.stats.record(len(texts), len(batch))
            if self.on_batch is not None:
                self.on_batch(len(texts))
            offset = 0
            for r in batch:
                if not r.future.done():
                    r.future.set_result(rows[offset : offset + len(r.texts)])
                offset += len(r.texts)

    def _learn(self, seconds: float, n_texts: int) -> None:
        """Refit batch time = overhead + per_text x n on the last batches (least squares)."""
        self._history.append((n_texts, seconds))
        ns = np.array([n for n, _ in self._history], dtype=float)
        ts = np.array([t for _, t in self._history])
        if len(set(ns)) >= 2:
            slope, intercept = np.polyfit(ns, ts, 1)
            if slope > 0 and intercept >= 0:
                self.seconds_per_text, self.overhead_s = float(slope), float(intercept)
                return
        # one batch size seen so far (or a fit that makes no sense): all cost is per text
        self.seconds_per_text, self.overhead_s = float(ts.sum() / ns.sum()), 0.0
