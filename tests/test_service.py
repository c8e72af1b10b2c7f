"""The BentoML service: request validation (fast, no server) and the real thing (integration).

The integration fixture does what the `package` stage and the Docker image do, on a tiny random
model (the `served` fixture in tests/conftest.py): store it and build and export the bento (store
A), import the .bento into a fresh store B, and `bentoml serve` it from a folder outside the repo
on a free 127.0.0.1 port, in its own process group (stopped at teardown).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from multitask.config import Serve
from multitask.serving.contract import check_request, explain
from multitask.serving.guard import RequestGuard
from multitask.serving.state import ServingState
from tests.conftest import METRICS, REGISTERED, ROOT, SERVE_LIMITS, Served

TEXTS = [
    "The central bank raised interest rates again.",
    "I love this new phone, the battery lasts for days!",
    "The team lost the final in extra time.",
    "Doctors say the new vaccine is not effective.",
]


# -- validation, no server -----------------------------------------------------------------------
BAD_BODIES = [
    # body, HTTP status, rule, index of the offending text
    (b"", 422, "missing", None),
    (b'{"text": ["a"]}', 422, "missing", None),
    (b'{"texts": "a"}', 422, "list_type", None),
    (b'{"texts": []}', 422, "min_texts", None),
    (b'{"texts": ["ok", 3]}', 422, "string_type", 1),
    (b'{"texts": ["ok", "ok", "  \\n\\t"]}', 422, "empty_text", 2),
    (b'{"texts": ["ok", ""]}', 422, "empty_text", 1),
    (json.dumps({"texts": ["a"] * 33}).encode(), 422, "max_texts", None),
    (json.dumps({"texts": ["a", "b" * 201]}).encode(), 422, "max_chars", 1),
    (b'{"texts": ', 400, "json_invalid", None),
    (b"\xff\xfe garbage", 400, "json_invalid", None),
    (b"[1, 2]", 422, "model_type", None),
    (b"null", 422, "model_type", None),
]


@pytest.mark.parametrize(("body", "status", "rule", "index"), BAD_BODIES)
def test_bad_request_names_rule_and_index(
    body: bytes, status: int, rule: str, index: int | None
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        check_request(body, Serve(**SERVE_LIMITS))
    got_status, payload = explain(info.value)
    assert (got_status, payload["detail"][0]["rule"]) == (status, rule)
    assert payload["detail"][0]["index"] == index
    assert payload["error"] == payload["detail"][0]["msg"]
    if index is not None:
        assert f"texts[{index}]" in payload["error"]
    if rule in {"max_texts", "max_chars"}:
        assert f"{rule}={SERVE_LIMITS[rule]}" in payload["error"]


def test_good_request_and_defaults() -> None:
    long_text = "x" * Serve().max_chars  # at the limit is allowed
    assert check_request(json.dumps({"texts": ["a", long_text]})) == ["a", long_text]
    assert check_request(b'{"texts": ["\\u00e9t\\u00e9"]}') == ["été"]


def test_guard_replays_body_as_json_and_answers_model() -> None:
    """RequestGuard in front of a stub app: rejects early, forwards the body it read, as JSON."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"ctype": request.headers["content-type"], "body": body.decode()})

    app = Starlette(routes=[Route("/predict", echo, methods=["POST"])])
    state = ServingState(Serve(**SERVE_LIMITS))
    guarded = RequestGuard(app, state=state)
    client = TestClient(guarded)
    ok = client.post("/predict", content=b'{"texts": ["hi"]}', headers={"content-type": "text/x"})
    assert ok.status_code == 200
    assert ok.json() == {"ctype": "application/json", "body": '{"texts": ["hi"]}'}
    bad = client.post("/predict", content=b'{"texts": [""]}')
    assert bad.status_code == 422 and bad.json()["detail"][0]["rule"] == "empty_text"
    huge = client.post("/predict", content=b"x" * (guarded.max_body + 1))
    assert huge.status_code == 413 and huge.json()["detail"][0]["rule"] == "max_body"
    assert client.get("/model").json() == {"available": False, "limits": SERVE_LIMITS}
    state.info = {"version": 3}  # what the service sets once its model has loaded
    assert client.get("/model").json() == {"version": 3}


def test_guard_answers_text_routes_itself_once_the_model_is_loaded() -> None:
    """The fast path: with `state.answer` set, a valid text request never reaches the app behind
    the guard; bad requests are still refused, and an overloaded batcher still sheds."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from multitask.serving.batching import MicroBatcher

    calls: list[tuple[str, list[str]]] = []

    async def answer(route: str, texts: list[str]) -> bytes:
        calls.append((route, texts))
        return json.dumps([{"route": route, "n": len(texts)}]).encode()

    state = ServingState(Serve(**SERVE_LIMITS))
    state.answer = answer
    client = TestClient(RequestGuard(Starlette(), state=state))  # the app has no routes at all
    got = client.post("/embed", content=b'{"texts": ["a", "b"]}', headers={"content-type": "x"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.json() == [{"route": "/embed", "n": 2}] and calls == [("/embed", ["a", "b"])]
    assert client.post("/predict", content=b'{"texts": [" "]}').status_code == 422
    assert len(calls) == 1

    state.batcher = MicroBatcher(lambda texts: np.zeros((len(texts), 1)), 8, max_latency_ms=1)
    state.batcher._queue.append(type("R", (), {"enqueued": time.monotonic() - 1})())  # stale
    shed = client.post("/predict", content=b'{"texts": ["a"]}')
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert len(calls) == 1 and state.batcher.stats.shed == 1


def test_service_import_stays_light(tmp_path: Path) -> None:
    """The service never pulls in mlflow, dvc, pandera, matplotlib, training code, or (on its
    import path, which is also the ONNX backends') torch and transformers."""
    banned = ["mlflow", "dvc", "pandera", "matplotlib", "multitask.training", "multitask.tracking"]
    banned += ["multitask.data", "harness", "torch", "transformers", "multitask.model.network"]
    code = (
        "import sys, multitask.serving.service\n"
        f"bad = [m for m in {banned!r} if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


# -- a real server (the `served` fixture, tests/conftest.py) ------------------------------------
def _post(url: str, body: bytes, ctype: str = "application/json") -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


@pytest.mark.integration
def test_bento_export_import_roundtrip(served: Served) -> None:
    import yaml

    from multitask.serving.bento_store import bento_tag_of, import_bento

    assert served.bento_file.is_file() and served.bento_file.name == "multitask.bento"
    assert not list(served.bento_file.parent.glob(".*tmp*")), "no temporary export left"
    assert bento_tag_of(served.bento_file) == served.bento_tag
    name, version = served.bento_tag.split(":")
    bento_yaml = yaml.safe_load(
        (served.home / "bentos" / name / version / "bento.yaml").read_text()
    )
    assert bento_yaml["args"]["model_tag"] == served.model_tag  # the bento pins its model
    model_name, model_version = served.model_tag.split(":")
    stored = served.home / "models" / model_name / model_version
    # The model store holds what the ONNX backend serves, and no PyTorch weights.
    assert {"onnx_model.json", "model.onnx", "tokenizer.json"} <= {p.name for p in stored.iterdir()}
    assert not list(stored.rglob("*.safetensors")), "PyTorch weights shipped with an ONNX bento"
    src = served.home / "bentos" / name / version / "src"
    assert (src / "multitask" / "serving" / "service.py").is_file()
    assert not (src / "src").exists()
    assert not any(p.name == ".bentoml" for p in src.rglob("*")), "store swept into the bento"
    packed = {p.relative_to(src).parts[:2] for p in src.rglob("*.py")}
    for room in ("training", "tracking", "data"):  # what serving never imports stays out
        assert ("multitask", room) not in packed, f"the bento packs multitask/{room}"
    assert not any(p[0] == "harness" for p in packed)
    assert import_bento(served.bento_file, home=served.home) == served.bento_tag  # idempotent


@pytest.mark.integration
def test_endpoints_match_the_model(served: Served) -> None:
    import bentoml

    expected = served.model.predict(TEXTS)
    with bentoml.SyncHTTPClient(served.url, timeout=30) as client:
        got = client.predict(texts=TEXTS)
        assert [r["topic"]["label"] for r in got] == [r["topic"]["label"] for r in expected]
        for g, e in zip(got, expected, strict=True):
            for task in ("topic", "sentiment"):
                assert set(g[task]["scores"]) == set(served.model.labels[task])
                assert sum(g[task]["scores"].values()) == pytest.approx(1.0, abs=1e-5)
                assert g[task]["label"] == e[task]["label"]
                for label, p in e[task]["scores"].items():
                    assert g[task]["scores"][label] == pytest.approx(p, abs=1e-5)
        assert client.classify(texts=TEXTS) == [r["topic"] for r in got]
        assert client.sentiment(texts=TEXTS) == [r["sentiment"] for r in got]
        emb = np.asarray(client.embed(texts=TEXTS))
        assert emb.shape == (len(TEXTS), served.model.dim)
        np.testing.assert_allclose(emb, served.model.encode(TEXTS), atol=1e-5)
        info = client.model_info()

    assert info == json.loads(_get(f"{served.url}/model"))  # GET and POST agree
    assert info["registered_name"] == REGISTERED.name
    assert info["version"] == REGISTERED.version
    assert (info["run_id"], info["scenario"]) == (REGISTERED.run_id, REGISTERED.scenario)
    assert info["metrics"] == METRICS and info["labels"] == served.model.labels
    assert info["bentoml_model"] == served.model_tag and info["dim"] == served.model.dim
    assert info["limits"] == SERVE_LIMITS  # params' serve section travelled in the model metadata
    # The backend and the accuracy gate's figures for it (the record the package stage stored).
    assert info["backend"] == served.packaged.backend == "onnx"
    assert info["requested_backend"] == "onnx" and info["refused"] == []
    gate = info["gate"]
    assert gate["passed"] is True and gate["reason"] == "passed" and gate["backend"] == "onnx"
    assert gate["mean_cosine"] > 0.9999 and gate["n_natural"] > 100
    assert set(gate["tasks"]) == {"topic", "sentiment"}
    for figures in gate["tasks"].values():
        assert figures["agreement"] == 1.0 and figures["natural_net_change"] == 0

    # A long text within max_chars is truncated to max_length tokens, not rejected.
    status, body = _post(f"{served.url}/predict", json.dumps({"texts": ["word, " * 33]}).encode())
    assert status == 200 and len(body) == 1


@pytest.mark.integration
def test_the_running_service_has_not_imported_torch(served: Served) -> None:
    """The ONNX-served worker has onnxruntime mapped and nothing of torch or transformers: the
    process's memory maps show every shared library it loaded (an import of torch maps libtorch)
    and its open Python files."""
    import psutil

    assert _post(f"{served.url}/predict", json.dumps({"texts": TEXTS}).encode())[0] == 200
    server = psutil.Process(served.server.proc.pid)
    workers = [p for p in server.children(recursive=True) if "worker" in " ".join(p.cmdline())]
    assert workers, "no BentoML worker process found"
    for worker in workers:
        maps = [m.path for m in worker.memory_maps()]
        assert any("/onnxruntime/" in path for path in maps), "the check must see onnxruntime"
        heavy = [path for path in maps if "/torch/" in path or "/transformers/" in path]
        assert not heavy, f"the serving worker loaded {heavy[:3]}"


@pytest.mark.integration
def test_bad_requests_get_4xx_never_5xx(served: Served) -> None:
    url = served.url
    for body, status, rule, index in BAD_BODIES:
        for route in ("/predict", "/classify", "/sentiment", "/embed"):
            got, payload = _post(url + route, body)
            assert (got, payload["detail"][0]["rule"]) == (status, rule), (route, body[:60])
            assert payload["detail"][0]["index"] == index
    garbage = [
        (b"\x80\x04\x95garbage", "application/vnd.bentoml+pickle"),
        (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
        (b"texts=a", "application/x-www-form-urlencoded"),
        (b"[" * 40_000, "application/json"),
        (b'{"texts": [' + b'"a",' * 40_000 + b'"a"]}', "application/json"),
        (b'{"texts": [{"nested": ["x"]}]}', "application/json"),
    ]
    for body, ctype in garbage:
        got, _ = _post(f"{url}/predict", body, ctype)
        assert 400 <= got < 500, (ctype, body[:40], got)
    assert _post(f"{url}/predict", b"x" * 60_000)[0] == 413
    # curl -d sends form-urlencoded: a JSON body is still accepted
    got, payload = _post(
        f"{url}/classify", b'{"texts": ["hi"]}', "application/x-www-form-urlencoded"
    )
    assert got == 200 and len(payload) == 1
    log = served.log.read_text(errors="replace")
    assert "rejected POST /predict (422): string_type at texts[1]" in log
    assert "Traceback" not in log and "[ERROR]" not in log


@pytest.mark.integration
def test_concurrent_requests_are_batched(served: Served) -> None:
    url = f"{served.url}/predict"
    one = json.dumps({"texts": [TEXTS[0]]}).encode()
    for _ in range(4):  # warm-up
        assert _post(url, one)[0] == 200
    batches_before, texts_before = served.server.batch_stats()

    texts = [f"{TEXTS[i % len(TEXTS)]} #{i}" for i in range(32)]
    bodies = [json.dumps({"texts": [t]}).encode() for t in texts]
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda b: _post(url, b), bodies))
    assert [status for status, _ in results] == [200] * 32
    expected = served.model.predict(texts)
    for (_, got), exp in zip(results, expected, strict=True):  # each answer is its own text's
        assert got[0]["topic"]["scores"] == pytest.approx(exp["topic"]["scores"], abs=1e-5)

    batches, texts_run = served.server.batch_stats()
    assert texts_run - texts_before == 32
    assert batches - batches_before < 32, "32 concurrent requests were never batched"

    # Latency of one request of 1 and of 32 texts (reported, not asserted: shared CI machines).
    timings = {}
    for n in (1, 32):
        body = json.dumps({"texts": texts[:n]}).encode()
        start = time.perf_counter()
        for _ in range(5):
            assert _post(url, body)[0] == 200
        timings[n] = (time.perf_counter() - start) / 5 * 1000
    print(
        f"\nready in {served.server.ready_s:.1f} s; /predict {timings[1]:.1f} ms (1 text), "
        f"{timings[32]:.1f} ms (32 texts); 32 concurrent singles -> "
        f"{batches - batches_before:.0f} batches"
    )
