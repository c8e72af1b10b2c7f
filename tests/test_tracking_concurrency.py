"""The tracking store shared by parallel pipelines: run owners, orphans, lock retries, WAL, and
the registry's champion rule.

Unit tests: owner tags judged on a fake /proc; `close_orphans` on a real sqlite store closes only
runs whose process is gone (a parallel pipeline's live run of the same scenario stays RUNNING);
`retry_locked` retries exactly sqlite's "database is locked"; a new store is created in WAL mode;
registering moves no alias (a DVC experiment's version is a tagged candidate), `set_champion`
does; creating the experiment or the registered model survives losing the race to another process.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

import pytest

from multitask.tracking import orphans, sqlite
from multitask.tracking.orphans import PROCESS_TAG, owner_gone, process_tag
from tests.test_execution import fake_proc

HOST = socket.gethostname()


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    """pid 50 alive since tick 500 (boot id 'b00t')."""
    return fake_proc(tmp_path, [(50, 1, "python pipeline/train.py", 500)])


@pytest.mark.parametrize(
    ("tag", "gone"),
    [
        (f"{HOST}:b00t:50:500", False),  # alive: same pid, same start
        (f"{HOST}:b00t:50:499", True),  # pid recycled by a newer process
        (f"{HOST}:b00t:51:500", True),  # no such process
        (f"{HOST}:0ther:50:500", True),  # this machine rebooted since
        ("other-host:b00t:51:500", False),  # another machine's run: not ours to judge
        ("", True),  # no owner recorded: made before owners were (the old rule)
        (None, True),
        ("garbage", False),
        (f"{HOST}:b00t:0:1", False),
    ],
)
def test_owner_gone(proc, tag, gone):
    assert owner_gone(tag, proc) is gone


def test_a_zombie_owner_is_gone(proc):
    """An exited process its parent never reaped (a container's init may never do it)."""
    stat = proc / "50" / "stat"
    stat.write_text(stat.read_text().replace(") S ", ") Z "))
    assert owner_gone(f"{HOST}:b00t:50:500", proc) is True


def test_this_process_is_alive():
    tag = process_tag()
    assert tag.startswith(f"{HOST}:") and tag.split(":")[2] == str(os.getpid())
    assert owner_gone(tag) is False


def _isolate(mp: pytest.MonkeyPatch) -> None:
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        mp.delenv(var, raising=False)
    # connect() sets mlflow's process-wide URIs: give them back after the test.
    mp.setattr(tracking_utils, "_tracking_uri", tracking_utils._tracking_uri)
    mp.setattr(registry_utils, "_registry_uri", registry_utils._registry_uri)


@pytest.fixture(scope="module")
def new_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store created by the project's connect() (lock + WAL); copied by `store` (a creation
    runs all of MLflow's migrations: seconds)."""
    from multitask.tracking import store as tracking_store

    root = tmp_path_factory.mktemp("new-store")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp)
        tracking_store.connect(root=root)
    with sqlite3.connect(root / "mlflow.db") as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in mlflow.db itself
    return root


@pytest.fixture
def store(new_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of `new_store` in tmp_path, connected; (root, uri, the store module)."""
    import shutil

    import mlflow

    from multitask.tracking import store as tracking_store

    _isolate(monkeypatch)
    shutil.copy2(new_store / "mlflow.db", tmp_path / "mlflow.db")
    uri = tracking_store.connect(root=tmp_path)
    yield tmp_path, uri, tracking_store
    mlflow.end_run()


def test_a_new_store_is_wal_with_its_lock_beside_it(new_store):
    with sqlite3.connect(new_store / "mlflow.db") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (new_store / "mlflow.db.lock").is_file()


def test_close_orphans_closes_only_runs_whose_process_is_gone(store):
    from mlflow.tracking import MlflowClient

    root, _, tracking_store = store
    exp = tracking_store.ensure_experiment("e", root=root)
    client = MlflowClient()
    dead = f"{HOST}:{process_tag().split(':')[1]}:{2**22 + 17}:1"  # no such pid on Linux
    owners = {
        "live": process_tag(),  # a parallel pipeline training the same scenario now
        "dead": dead,
        "other-host": "elsewhere:b00t:1234:99",
        "legacy": None,
    }
    ids = {}
    for name, owner in owners.items():
        tags = {"scenario": "s", **({PROCESS_TAG: owner} if owner else {})}
        ids[name] = client.create_run(exp, tags=tags, run_name=name).info.run_id
    other = client.create_run(exp, tags={"scenario": "t", PROCESS_TAG: dead}).info.run_id

    assert tracking_store.close_orphans(exp, "s") == 2
    status = {name: client.get_run(i).info.status for name, i in ids.items()}
    assert status == {
        "live": "RUNNING", "dead": "KILLED", "other-host": "RUNNING", "legacy": "KILLED",
    }  # fmt: skip
    assert client.get_run(other).info.status == "RUNNING"  # another scenario: not this stage's


def test_resuming_a_run_claims_it(store):
    """evaluate/register resume the train stage's run: they own it while it is RUNNING again,
    so a parallel pipeline's close_orphans does not take it for the (dead) train process's."""
    from mlflow.tracking import MlflowClient

    root, _, tracking_store = store
    exp = tracking_store.ensure_experiment("e", root=root)
    client = MlflowClient()
    run_id = client.create_run(exp, tags={"scenario": "s", PROCESS_TAG: "x:y:1:1"}).info.run_id
    client.set_terminated(run_id, "FINISHED")
    with tracking_store.run_scope(run_id=run_id):
        assert client.get_run(run_id).data.tags[PROCESS_TAG] == process_tag()
        assert tracking_store.close_orphans(exp, "s") == 0
    assert client.get_run(run_id).info.status == "FINISHED"


def test_new_runs_carry_their_owner_from_the_start(store):
    import mlflow

    root, _, tracking_store = store
    exp = tracking_store.ensure_experiment("e", root=root)
    with tracking_store.run_scope(experiment_id=exp, tags={"scenario": "s"}) as run:
        assert mlflow.get_run(run.info.run_id).data.tags[PROCESS_TAG] == process_tag()
    assert (root / "mlartifacts").as_uri() == mlflow.get_experiment(exp).artifact_location


def test_ensure_experiment_survives_losing_the_creation_race(store, monkeypatch):
    """Another pipeline creates the experiment between our lookup and our create."""
    import mlflow

    root, _, tracking_store = store
    real_get = mlflow.get_experiment_by_name
    calls = {"n": 0}

    def racing_get(name):
        calls["n"] += 1
        if calls["n"] == 1:  # we look: not there; meanwhile the other pipeline creates it
            mlflow.MlflowClient().create_experiment(name)
            return None
        return real_get(name)

    monkeypatch.setattr(mlflow, "get_experiment_by_name", racing_get)
    exp = tracking_store.ensure_experiment("raced", root=root)
    assert exp == real_get("raced").experiment_id
    assert mlflow.get_experiment(exp).name == "raced"
    with tracking_store.run_scope(experiment_id=exp) as run:
        assert run.info.experiment_id == exp  # never "Default"


# -- retries ---------------------------------------------------------------------------------
def _locked() -> Exception:
    from mlflow.exceptions import MlflowException

    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as err:
        try:
            raise MlflowException("(sqlite3.OperationalError) database is locked") from err
        except MlflowException as wrapped:
            return wrapped


@pytest.fixture
def no_sleep(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(sqlite.time, "sleep", waits.append)
    return waits


def test_retry_locked_retries_a_locked_write(no_sleep):
    calls = []

    @sqlite.retry_locked
    def write() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "ok"

    assert write() == "ok" and len(calls) == 3 and len(no_sleep) == 2


def test_retry_locked_gives_up_after_its_retries(no_sleep):
    calls = []

    @sqlite.retry_locked
    def write() -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(Exception, match="database is locked"):
        write()
    assert len(calls) == sqlite.LOCK_RETRIES + 1


def test_retry_locked_passes_other_errors_at_once(no_sleep):
    calls = []

    @sqlite.retry_locked
    def write() -> None:
        calls.append(1)
        raise ValueError("no such experiment")

    with pytest.raises(ValueError):
        write()
    assert len(calls) == 1 and not no_sleep
    assert sqlite.is_locked(_locked()) and not sqlite.is_locked(ValueError("x"))


def test_sqlite_paths():
    assert sqlite.sqlite_path("sqlite:////abs/m.db?mode=rwc") == Path("/abs/m.db")
    assert sqlite.sqlite_path("sqlite:///rel/m.db") == Path("rel/m.db")
    assert sqlite.sqlite_path("http://127.0.0.1:5000") is None
    assert orphans.PROCESS_TAG == "multitask.process"


# -- the registry: candidates, the champion alias, the creation race --------------------------
def _logged_model(store_module, exp: str) -> tuple[str, str]:
    """(run id, models:/ URI) of a run with an (empty) logged model."""
    import mlflow

    with store_module.run_scope(experiment_id=exp, tags={"scenario": "s"}) as run:
        model = mlflow.create_external_model(name="model")
    return run.info.run_id, f"models:/{model.model_id}"


def test_registering_moves_no_alias_and_tags_the_dvc_experiment(store, monkeypatch):
    from mlflow.tracking import MlflowClient

    from multitask.tracking import registry

    root, _, tracking_store = store
    exp = tracking_store.ensure_experiment("e", root=root)
    first, second = _logged_model(tracking_store, exp), _logged_model(tracking_store, exp)
    version, created = registry.register_version("m", *first, {"k": "v"}, "d")
    assert (version, created) == (1, True)
    assert registry.register_version("m", *first, {"k": "v"}, "d") == (1, False)  # idempotent
    assert registry.champion_version("m") is None  # registering moves no alias
    assert registry.set_champion("m", 1) is None and registry.champion_version("m") == 1

    monkeypatch.setenv("DVC_EXP_NAME", "lr-1")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "b" * 40)
    monkeypatch.setenv("DVC_ROOT", str(root))
    version, _ = registry.register_version("m", *second, {}, "d")
    tags = MlflowClient().get_model_version("m", str(version)).tags
    assert tags["dvc.exp_name"] == "lr-1" and tags["dvc.mode"] == "exp-workspace"
    assert registry.champion_version("m") == 1
    assert registry.set_champion("m", version, {"why": "promoted"}) == 1
    assert registry.champion_version("m") == version
    assert int(MlflowClient().get_model_version_by_alias("m", "previous").version) == 1
    assert registry.model_version("m", version).run_id == second[0]
    with pytest.raises(Exception, match="has no version 9"):
        registry.set_champion("m", 9)


def test_registered_model_creation_race(store, monkeypatch):
    """Another pipeline creates the registered model between our lookup and our create."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from multitask.tracking import registry

    client = MlflowClient()
    real_get = client.get_registered_model

    def racing_get(name):
        client.create_registered_model(name)  # the other pipeline wins
        monkeypatch.setattr(client, "get_registered_model", real_get)
        raise MlflowException("not found", error_code="RESOURCE_DOES_NOT_EXIST")

    monkeypatch.setattr(client, "get_registered_model", racing_get)
    registry._ensure_registered_model(client, "raced")
    assert real_get("raced").name == "raced"
