"""Load shedding, proven on a model that is slow on purpose, served for real (ONNX Runtime).

The model is a test-only configuration, nothing in the shipped code: a random BERT made wide and
deep (hidden 256, 4 layers, FFN 2048, max_length 256) so that one request of long texts takes
longer than the bento's `max_latency_ms` (150 ms here). Driven by 12 concurrent clients sending
such requests, the queue's oldest request soon waits past max_latency_ms and the server must
answer new requests 503 with ``Retry-After: 1`` at once (while /readyz stays up); when the load
stops, the very next requests are served promptly, with no 503.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest

from harness.local_server import LocalServer, build_in_store, serve_bento
from harness.packaging import gate_sets, package_model
from harness.tiny import make_tiny_backbone
from multitask.config import Serve
from multitask.model.network import MultiTaskSentenceTransformer
from tests.conftest import REGISTERED, ROOT

pytestmark = pytest.mark.integration
LIMITS = {"max_batch_size": 64, "max_latency_ms": 150, "max_texts": 16, "max_chars": 2000}
LONG = " ".join(["The central bank raised interest rates again, and markets fell sharply."] * 22)
SHORT = "The striker scored twice."


@pytest.fixture(scope="module")
def slow_server(
    tmp_path_factory: pytest.TempPathFactory, labels: dict[str, list[str]]
) -> Iterator[LocalServer]:
    tmp = tmp_path_factory.mktemp("slow")
    backbone = make_tiny_backbone(
        tmp / "backbone", hidden=256, layers=4, heads=4, intermediate=2048
    )
    model = MultiTaskSentenceTransformer.from_backbone(str(backbone), labels, max_length=256).eval()
    model.save(tmp / "model")
    folder, packaged = package_model(
        model, tmp / "model", "onnx", tmp / "export", REGISTERED, sets=gate_sets(rows=60)
    )
    serve = Serve(**LIMITS, timeout_s=60, backend="onnx")
    _, bento_tag = build_in_store(folder, tmp / "home", ROOT, packaged, serve)
    with serve_bento(bento_tag, tmp / "home", tmp, env={"MULTITASK_TORCH_THREADS": "1"}) as s:
        yield s


def _post(server: LocalServer, texts: list[str]) -> tuple[int, str | None, float]:
    """(status, Retry-After header, seconds) of one POST /predict."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    start = time.perf_counter()
    try:
        conn.request("POST", "/predict", json.dumps({"texts": texts}), {"Content-Type": "x"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Retry-After"), time.perf_counter() - start
    finally:
        conn.close()


def _shed_total(server: LocalServer) -> float:
    for line in server.metrics().splitlines():
        if line.startswith("multitask_shed_requests_total"):
            return float(line.split()[-1])
    return 0.0


def test_past_max_latency_it_sheds_with_503_and_retry_after_then_recovers(
    slow_server: LocalServer,
) -> None:
    server = slow_server
    calm = [_post(server, [SHORT])[2] for _ in range(3)]
    status, _, one_long = _post(server, [LONG] * 16)
    assert status == 200
    assert one_long > 2 * LIMITS["max_latency_ms"] / 1000, (
        f"the slow model is not slow here: 16 long texts took {one_long:.2f} s"
    )

    results: list[tuple[int, str | None, float]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            results.append(_post(server, [LONG] * 16))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(12)]
    for th in threads:
        th.start()
    ready_during = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        ready_during.append(server.is_ready(timeout=5))
        time.sleep(0.5)
    stop.set()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "a client hung"

    statuses = [r[0] for r in results]
    shed = [r for r in results if r[0] == 503]
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert statuses.count(200) > 0, "nothing was served under load"
    assert shed, f"nothing was shed: {len(results)} requests, all 200"
    assert all(r[1] == "1" for r in shed), "a 503 without Retry-After: 1"
    # Refusing is cheap: a 503 comes back at once, not after the queue it was spared.
    assert max(r[2] for r in shed) < one_long, "503s waited in the queue"
    assert all(ready_during), "/readyz failed while the model was overloaded"
    assert _shed_total(server) >= len(shed)

    # The load has stopped and every admitted request was answered: the queue is empty, so
    # the next requests are served at once, none refused.
    after = [_post(server, [SHORT]) for _ in range(10)]
    assert [a[0] for a in after] == [200] * 10, after
    first, typical = after[0][2], sorted(a[2] for a in after)[5]
    print(
        f"\ncalm {1000 * min(calm):.0f} ms; one long request {one_long:.2f} s; under load "
        f"{statuses.count(200)} served, {len(shed)} shed (503 in at most "
        f"{1000 * max(r[2] for r in shed):.0f} ms); right after: first {1000 * first:.0f} ms, "
        f"median {1000 * typical:.0f} ms"
    )
    assert first < max(1.0, 5 * max(calm)), f"first request after the load took {first:.2f} s"
    assert typical < max(0.5, 5 * max(calm))
