"""Smoke test of the benchmark runner: it runs, prints the table and writes its results.

No timing thresholds (this machine is shared and noisy): only that `benchmarks/run_all.py --quick
--only embed` finishes in a subprocess, prints the Markdown table with the embed rows and writes
results.json / results.md to the folder it is given (not over the committed results).
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
