"""Hostile HTTP input and load against a real `bentoml serve` on loopback (the `served` fixture).

- the service's own OpenAPI spec drives schemathesis (every check, bounded examples, fixed seed):
  no 5xx, schema-valid requests accepted, schema-violating ones rejected, every response as
  declared;
- unicode edge cases get the in-process model's answer; lone surrogates a clean 400;
- bodies that are huge (declared or chunked), deeply nested or of the wrong type get a 4xx;
- request bodies never reach the log;
- load (concurrency 32 for 60 s) has no errors; overload (concurrency 256) gets 200 or a clean
  503, nothing hangs, the server answers at once afterwards and its memory stays within 10%.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.load import run_load
from harness.local_server import tree_rss
from tests.conftest import SERVE_LIMITS, Served

pytestmark = pytest.mark.integration

UNICODE_TEXTS = {
    "combining marks": "Cafe\u0301 re\u0301sume\u0301 with Z\u0351\u0352\u0353\u0354\u0355 marks",
    "right-to-left": "\u202e\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 mixed",
    "zero-width": "zero\u200bwidth\u200c join\u200d\ufeff",
    "zero-width only": "\u200b\u200b",
    "emoji": "\U0001f600\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 great",
    "nul and controls": "nul\x00 bell\x07 escape\x1b[31m",
    "astral": "\U00010348\U0001d11e\U000e0001",
    "cjk": "\u4e2d\u6587\u6587\u672c \u65e5\u672c\u8a9e",
}
BLANK_TEXTS = [" ", "\t\n", "\u3000", "\u0085", "\x1c\x1d\x1e\x1f", "\u2028\u2029", "\u00a0"]


def _request(
    served: Served,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=30)
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if chunked:
            conn.request(
                "POST",
                path,
                iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),
                hdrs,
                encode_chunked=True,
            )
        else:
            conn.request("POST", path, body, hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_openapi_fuzzing_finds_nothing(served: Served, tmp_path: Path) -> None:
    """schemathesis, from /docs.json: every check, 100 examples per operation, seed fixed."""
    cli = Path(sys.executable).with_name("schemathesis")
    cmd = [str(cli), "run", f"{served.url}/docs.json", "--checks", "all"]
    cmd += ["--max-examples", "100", "--seed", "20261128", "--workers", "1"]
    cmd += ["--request-timeout", "30", "--report-dir", str(tmp_path)]
    # Run from tmp_path: schemathesis keeps a cache in ./.schemathesis, never in the repo.
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path
    )
    report = out.stdout + out.stderr
    assert out.returncode == 0, report[-6000:]
    assert "No issues found" in report
    assert re.search(r"Tested:\s+10\b", report), report[-2000:]  # every operation was fuzzed


def test_openapi_declares_the_request_limits(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=10)
    conn.request("GET", "/docs.json")
    spec = json.loads(conn.getresponse().read())
    op = spec["paths"]["/predict"]["post"]
    texts = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["texts"]
    assert (texts["minItems"], texts["maxItems"]) == (1, SERVE_LIMITS["max_texts"])
    assert texts["items"]["maxLength"] == SERVE_LIMITS["max_chars"]
    assert {"400", "413", "422", "503"} <= set(op["responses"])
    assert "get" in spec["paths"]["/model"]


def test_unicode_edge_cases_get_the_models_answer(served: Served) -> None:
    texts = list(UNICODE_TEXTS.values())
    expected = served.model.predict(texts)
    for (name, text), exp in zip(UNICODE_TEXTS.items(), expected, strict=True):
        for body in (
            json.dumps({"texts": [text]}),
            json.dumps({"texts": [text]}, ensure_ascii=False),
        ):
            status, raw = _request(served, "/predict", body.encode())
            assert status == 200, (name, raw[:300])
            got = json.loads(raw)[0]
            for task in ("topic", "sentiment"):
                assert got[task]["label"] == exp[task]["label"], name
                assert got[task]["scores"] == pytest.approx(exp[task]["scores"], abs=1e-5), name


@pytest.mark.parametrize("escaped", [r"\ud800", r"a\udc00b", r"\ud83d x", r"\ude00\ud83d"])
def test_lone_surrogates_are_a_clean_400(served: Served, escaped: str) -> None:
    status, raw = _request(served, "/predict", b'{"texts": ["' + escaped.encode() + b'"]}')
    payload = json.loads(raw)
    assert status == 400 and payload["detail"][0]["rule"] == "json_invalid", payload
    assert "surrogate" in payload["error"] or "escape" in payload["error"]


def test_blank_texts_are_named(served: Served) -> None:
    for text in BLANK_TEXTS:
        status, raw = _request(served, "/classify", json.dumps({"texts": ["ok", text]}).encode())
        payload = json.loads(raw)
        assert status == 422, (text, payload)
        assert payload["detail"][0] == {
            "rule": "empty_text",
            "loc": "texts[1]",
            "index": 1,
            "msg": "texts[1] is empty or whitespace-only",
        }


def test_huge_and_deep_bodies_get_4xx(served: Served) -> None:
    limits = SERVE_LIMITS
    huge = json.dumps({"texts": ["x" * limits["max_chars"]] * 2000}).encode()  # ~400 kB
    assert _request(served, "/predict", huge)[0] == 413  # Content-Length says so: not read
    assert _request(served, "/predict", huge, chunked=True)[0] == 413  # no length: cut off
    deep = b'{"texts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert _request(served, "/embed", deep, chunked=True)[0] in (400, 413, 422)

    def nested(depth: int) -> bytes:
        return b'{"texts": ["a", ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"]}"

    status, raw = _request(served, "/embed", nested(100))
    assert status == 422 and json.loads(raw)["detail"][0]["loc"] == "texts[1]"
    status, raw = _request(served, "/embed", nested(5000))  # the JSON parser's depth limit
    assert status == 400 and "recursion limit" in json.loads(raw)["error"]
    for ctype in ("text/plain", "application/octet-stream", "image/png", "multipart/mixed"):
        status, _ = _request(
            served, "/sentiment", b"\x89PNG\r\n\x1a\n\x00\x00", {"Content-Type": ctype}
        )
        assert status == 400, ctype
    # and the server is still fine
    assert served.server.is_ready()
    assert _request(served, "/predict", b'{"texts": ["still here"]}')[0] == 200


def test_request_bodies_never_reach_the_log(served: Served) -> None:
    marker = "SECRET-7f3a9c-do-not-log"
    bodies = [
        {"texts": [f"{marker} valid text"]},
        {"texts": [f"{marker} fine", 3]},
        {"texts": [marker * 20]},  # over max_chars
        {"texts": [f"{marker}"], f"{marker}_key": 1},
    ]
    statuses = [_request(served, "/predict", json.dumps(b).encode())[0] for b in bodies]
    assert statuses == [200, 422, 422, 422]
    _request(served, "/predict", f'{{"texts": ["{marker}'.encode())  # not JSON: 400
    time.sleep(0.5)  # let the access log lines land
    log = served.log.read_text(errors="replace")
    assert "rejected POST /predict" in log
    assert "SECRET-7f3a9c" not in log


@pytest.mark.slow
def test_load_then_overload_then_recovery(served: Served) -> None:
    """c=32 for 60 s: no errors; c=256 for 20 s: only 200 or 503; then at once, 200s again."""
    url = f"{served.url}/predict"
    texts = [
        "The central bank raised interest rates again.",
        "I love this new phone, the battery lasts for days!",
        "The team lost the final in extra time after a long and exhausting match.",
        "Doctors say the vaccine is not effective.",
    ]
    bodies = [json.dumps({"texts": [f"{t} #{i}"]}).encode() for i, t in enumerate(texts * 16)]
    # Warm-up, with two bursts at the overload concurrency: the server's RSS grows once (about
    # +10%) to its working set for 256 connections and timeout_s worth of request contexts.
    rss_cold = tree_rss(served.server.proc.pid)[0]
    for _ in range(2):
        run_load(url, bodies, 256, seconds=10, timeout_s=60)
    rss_before = tree_rss(served.server.proc.pid)[0]

    load = run_load(url, bodies, 32, seconds=60, expect_items=1)
    print(f"\nc=32 for 60 s: {load.summary()}")
    assert load.errors == 0, (load.failed, load.sample_error)
    assert load.ok > 0

    over = run_load(url, bodies, 256, seconds=20, timeout_s=60, expect_items=1)
    print(f"c=256 for 20 s: {over.summary()}")
    assert set(over.failed) <= {"503"}, (over.failed, over.sample_error)  # no hang, no 5xx else
    assert over.ok > 0

    after = run_load(url, bodies[:20], 1, expect_items=1)  # load dropped: served at once
    print(f"right after, c=1: {after.summary()}")
    assert after.errors == 0 and after.ok == 20
    rss_after = tree_rss(served.server.proc.pid)[0]
    print(
        f"server RSS: {rss_cold / 2**20:.0f} MiB cold, {rss_before / 2**20:.0f} MiB warm "
        f"(before), {rss_after / 2**20:.0f} MiB after"
    )
    assert rss_after <= 1.10 * rss_before
    assert served.server.proc.poll() is None
