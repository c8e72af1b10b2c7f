"""Records as a finished pipeline would have written them, for tests that need one."""

from __future__ import annotations

from multitask.records import TrainRun


def train_run(scenario: str, run_id: str, experiment_id: str = "1") -> TrainRun:
    """models/<scenario>/run.json of a one-epoch run (figures are placeholders)."""
    return TrainRun(
        scenario=scenario,
        run_id=run_id,
        experiment_id=experiment_id,
        model_uri=f"models:/m-{run_id}",
        data_digest="0" * 16,
        best_epoch=0,
        epochs_run=1,
        train_seconds=1.0,
        params_total=1,
        params_trainable=1,
        params_frozen=0,
    )
