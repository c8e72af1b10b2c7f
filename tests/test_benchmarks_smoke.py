"""Smoke tests of the benchmarks: each runs in its quick mode, prints its table, writes results.

No timing thresholds (this machine is shared and noisy): only that `benchmarks/run_all.py --quick
--only NAME` finishes in a subprocess for every benchmark, with its rows, and writes results.json
/ results.md to the folder it is given (not over the committed results).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_run_all_quick_embed_prints_table(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--only", "embed"]
    cmd += ["--out-dir", str(tmp_path), "--timeout", "120"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]

    out = proc.stdout
    assert "| benchmark | ours | baseline | ratio | target | pass |" in out
    assert "| embed bs=32 (sentences/s) |" in out
    assert "| embed bs=64 (sentences/s) |" in out
    assert "fraction of fp32 ceiling" in out

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["quick"] is True and results["failures"] == []
    assert {r["benchmark"] for r in results["rows"]} >= {
        "embed bs=32 (sentences/s)",
        "embed bs=64 (sentences/s)",
    }
    for row in results["rows"]:
        assert row["ours"] > 0 and row["baseline"] > 0 and row["ratio"] > 0
    assert "| benchmark |" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train", {"train full_finetune (samples/s)", "train frozen_backbone cache, 3 epochs (s)"}),
        (
            "serve",
            {
                "serve /predict c=32 (sentences/s)",
                "serve load c=32 for 5 s (requests/s)",
                "serve overload c=256 for 5 s (requests/s)",
                "serve RSS after load + overload (MiB)",
            },
        ),
        ("pipeline", {"pipeline no-op dvc repro, tiny copy (s)"}),
    ],
)
def test_every_benchmark_runs_in_quick_mode(tmp_path: Path, name: str, expected: set[str]) -> None:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--only", name]
    cmd += ["--out-dir", str(tmp_path), "--timeout", "600"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=700, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["failures"] == [], results["failures"]
    names = {r["benchmark"] for r in results["rows"]}
    assert expected <= names, names
    for row in results["rows"]:
        assert row["ours"] > 0, row
