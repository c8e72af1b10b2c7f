"""Integration: several processes open a NEW sqlite store at once and write it like pipelines.

Without the creation lock, MLflow 3.17 migrates a new store in every process at once and most
of them crash ("duplicate column name"); with it, every worker's run is FINISHED with every
metric step, in the named experiment (never "Default"), each with its own registered version.
`python -m harness.store_stress --procs 8 --steps 150` is the measurement the README quotes.
"""

from __future__ import annotations

import pytest

from harness.store_stress import run_workers

pytestmark = pytest.mark.integration


def test_parallel_writers_on_a_new_store_lose_nothing(tmp_path):
    summary = run_workers(tmp_path / "store", procs=4, steps=20)
    assert summary["problems"] == [], "\n".join(summary["problems"])
