"""The continuous batcher (serving/batching.py), in-process: batching, order, errors, shedding.

The model is a function the test controls: it records each batch and can be held busy (a
threading.Event), so every assertion is about what the batcher did, not about timing luck.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from multitask.serving.batching import MicroBatcher


class Model:
    """fn(texts) -> one row per text ([len(text), index]); optionally held until released."""

    def __init__(self, hold: bool = False, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        if not hold:
            self.release.set()
        self.fail_on = fail_on

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.started.set()
        assert self.release.wait(10), "the test never released the model"
        self.batches.append(list(texts))
        if self.fail_on in texts:
            raise RuntimeError(f"model failure on {self.fail_on}")
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)


async def _until(predicate, timeout: float = 5.0) -> None:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "condition never became true"
        await asyncio.sleep(0.005)


def _texts(rows: np.ndarray) -> list[int]:
    return [int(r[0]) for r in rows]


def test_a_lone_request_runs_at_once_alone() -> None:
    model = Model()
    sizes: list[int] = []
    batcher = MicroBatcher(model, max_batch_size=8, max_latency_ms=1000, on_batch=sizes.append)

    async def main() -> np.ndarray:
        return await asyncio.wait_for(batcher.submit(["abc", "de"]), 5)

    rows = asyncio.run(main())
    assert _texts(rows) == [3, 2] and model.batches == [["abc", "de"]]
    assert sizes == [2] and (batcher.stats.batches, batcher.stats.requests) == (1, 1)


def test_requests_queued_while_the_model_is_busy_run_together_in_order() -> None:
    model = Model(hold=True)
    batcher = MicroBatcher(model, max_batch_size=64, max_latency_ms=10_000)

    async def main() -> list[np.ndarray]:
        first = asyncio.ensure_future(batcher.submit(["x"]))
        await _until(model.started.is_set)  # the model is busy with the first request
        rest = [asyncio.ensure_future(batcher.submit(["a" * n] * k)) for n, k in ((2, 1), (3, 2))]
        await asyncio.sleep(0.05)
        model.release.set()
        return await asyncio.wait_for(asyncio.gather(first, *rest), 5)

    first, two, three = asyncio.run(main())
    assert model.batches == [["x"], ["aa", "aaa", "aaa"]]  # the queued ones: ONE batch
    assert _texts(first) == [1] and _texts(two) == [2] and _texts(three) == [3, 3]
    assert [int(r[1]) for r in three] == [1, 2]  # each request got its own rows of the batch
    assert batcher.stats.sizes == [1, 3]


def test_batches_hold_whole_requests_up_to_max_batch_size() -> None:
    model = Model(hold=True)
    batcher = MicroBatcher(model, max_batch_size=4, max_latency_ms=10_000)

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit(["busy"]))
        await _until(model.started.is_set)
        sizes: Sequence[int] = (3, 2, 1, 6, 1)  # a 6-text request runs alone, unsplit
        queued = [asyncio.ensure_future(batcher.submit(["t"] * n)) for n in sizes]
        await asyncio.sleep(0.05)
        model.release.set()
        results = await asyncio.wait_for(asyncio.gather(*queued), 5)
        assert [len(r) for r in results] == list(sizes)
        await first

    asyncio.run(main())
    assert [len(b) for b in model.batches] == [1, 3, 3, 6, 1]


def test_a_model_error_reaches_every_request_of_its_batch_and_the_batcher_goes_on() -> None:
    model = Model(hold=True, fail_on="bad")
    batcher = MicroBatcher(model, max_batch_size=8, max_latency_ms=10_000)

    async def main() -> tuple[list[object], np.ndarray]:
        first = asyncio.ensure_future(batcher.submit(["ok"]))
        await _until(model.started.is_set)
        doomed = [asyncio.ensure_future(batcher.submit([t])) for t in ("bad", "innocent")]
        await asyncio.sleep(0.05)
        model.release.set()
        await first
        outcomes = await asyncio.gather(*doomed, return_exceptions=True)
        return outcomes, await asyncio.wait_for(batcher.submit(["after"]), 5)

    outcomes, after = asyncio.run(main())
    assert all(isinstance(o, RuntimeError) and "bad" in str(o) for o in outcomes)
    assert _texts(after) == [5]  # the next request is served as usual


def test_a_request_cancelled_while_queued_is_skipped() -> None:
    model = Model(hold=True)
    batcher = MicroBatcher(model, max_batch_size=8, max_latency_ms=10_000)

    async def main() -> np.ndarray:
        first = asyncio.ensure_future(batcher.submit(["busy"]))
        await _until(model.started.is_set)
        gone = asyncio.ensure_future(batcher.submit(["gone"]))
        kept = asyncio.ensure_future(batcher.submit(["kept"]))
        await asyncio.sleep(0.01)
        gone.cancel()  # the client went away
        await asyncio.sleep(0.01)
        model.release.set()
        await first
        return await asyncio.wait_for(kept, 5)

    assert _texts(asyncio.run(main())) == [4]
    assert model.batches == [["busy"], ["kept"]]


def test_overloaded_while_the_oldest_queued_request_is_older_than_max_latency() -> None:
    """Shedding follows the queue, not a guess: overloaded() is true exactly while a request has
    waited over max_latency_ms, counts each refusal, and clears as soon as the queue drains."""
    model = Model(hold=True)
    batcher = MicroBatcher(model, max_batch_size=8, max_latency_ms=50)

    async def main() -> None:
        assert not batcher.overloaded() and batcher.queue_delay_s() == 0.0
        first = asyncio.ensure_future(batcher.submit(["busy"]))
        await _until(model.started.is_set)
        assert not batcher.overloaded()  # running is not waiting: the queue is empty
        waiting = asyncio.ensure_future(batcher.submit(["waits"]))
        await asyncio.sleep(0.01)
        assert not batcher.overloaded()  # queued for less than 50 ms
        await asyncio.sleep(0.08)
        assert batcher.queue_delay_s() > 0.05
        assert batcher.overloaded() and batcher.overloaded()
        assert batcher.stats.shed == 2
        model.release.set()
        await asyncio.wait_for(asyncio.gather(first, waiting), 5)
        assert not batcher.overloaded() and batcher.queue_delay_s() == 0.0  # recovered at once
        start = time.monotonic()
        await asyncio.wait_for(batcher.submit(["next"]), 5)
        assert time.monotonic() - start < 1.0  # a lone request after the burst runs at once

    asyncio.run(main())
    assert batcher.stats.shed == 2


@pytest.mark.parametrize("max_latency_ms", [1, 1000])
def test_stats_count_batches_texts_and_requests(max_latency_ms: int) -> None:
    batcher = MicroBatcher(Model(), max_batch_size=8, max_latency_ms=max_latency_ms)

    async def main() -> None:
        for n in (1, 3, 2):
            await batcher.submit(["t"] * n)

    asyncio.run(main())
    stats = batcher.stats
    assert (stats.batches, stats.texts, stats.requests, stats.sizes) == (3, 6, 3, [1, 3, 2])
