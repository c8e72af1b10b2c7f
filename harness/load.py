"""Bounded HTTP load on a running service: fixed concurrency, and a request or a time budget.

One asyncio client (aiohttp, which BentoML already depends on) keeps `concurrency` requests in
flight over keep-alive connections. It either sends every body once, or cycles through the
bodies until `seconds` have passed (no request starts after that). Every request has a timeout,
so a hung server shows up as errors, never as a hung client. Used by the serving benchmark and
the load/overload tests; the figures are latencies and counts by status, nothing is asserted
here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    """What one load run saw. `latencies` are of answered (200, well-formed) requests only."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)  # "503", "TimeoutError", "bad-body"
    sample_error: str = ""

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(self.failed.values())

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentiles_ms(self, q: Sequence[float] = (50, 95, 99)) -> list[float]:
        if not self.latencies:
            return [float("nan")] * len(q)
        return [float(v) for v in np.percentile(np.asarray(self.latencies) * 1000, list(q))]

    def summary(self) -> str:
        p50, p95, p99 = self.percentiles_ms()
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        return (
            f"{self.ok} answered in {self.seconds:.1f} s ({self.throughput:.1f}/s), "
            f"p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} ms, failed: {failed}"
        )


async def _load(
    url: str,
    bodies: Sequence[bytes],
    concurrency: int,
    seconds: float | None,
    timeout_s: float,
    expect_items: int | None,
) -> LoadResult:
    import aiohttp

    result = LoadResult(0.0)
    next_index = 0
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds

    def take() -> int | None:
        nonlocal next_index
        if deadline is None:
            if next_index >= len(bodies):
                return None
        elif time.perf_counter() >= deadline:
            return None
        i, next_index = next_index % len(bodies), next_index + 1
        return i

    async def worker(session: aiohttp.ClientSession) -> None:
        while (i := take()) is not None:
            t0 = time.perf_counter()
            try:
                async with session.post(
                    url, data=bodies[i], headers={"Content-Type": "application/json"}
                ) as resp:
                    payload = await resp.read()
                    status = str(resp.status)
            except (aiohttp.ClientError, TimeoutError) as err:
                status, payload = type(err).__name__, str(err).encode()
            dt = time.perf_counter() - t0
            if status == "200" and _well_formed(payload, expect_items):
                result.latencies.append(dt)
                continue
            result.failed["bad-body" if status == "200" else status] += 1
            if not result.sample_error:
                result.sample_error = f"{status}: {payload[:200].decode(errors='replace')}"

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return result


def _well_formed(payload: bytes, expect_items: int | None) -> bool:
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    return expect_items is None or (isinstance(body, list) and len(body) == expect_items)


def run_load(
    url: str,
    bodies: Sequence[bytes],
    concurrency: int,
    *,
    seconds: float | None = None,
    timeout_s: float = 60.0,
    expect_items: int | None = None,
) -> LoadResult:
    """POST `bodies` to `url` with `concurrency` requests in flight.

    Without `seconds`, each body is sent once; with it, the bodies are cycled until then. A 200
    counts as answered when its body is JSON (a list of `expect_items` items, if given).
    """
    if concurrency < 1 or not bodies:
        raise ValueError("run_load needs concurrency >= 1 and at least one body")
    return asyncio.run(_load(url, bodies, concurrency, seconds, timeout_s, expect_items))
