"""A team MLflow tracking server on one machine: PostgreSQL + a local S3 (moto) + `mlflow server`.

    python scripts/team/team_server.py start [DIR]    # or scripts/team/server.sh start [DIR]
    eval "$(python scripts/team/team_server.py env [DIR])"
    python scripts/team/team_server.py stop [DIR] [--purge]

DIR (default $TEAM_SERVER_DIR, else ~/.cache/multitask/team-server) holds everything this script
starts and needs to stop it again: state.json (ports, pids, the database password; mode 600), the
logs, and the PostgreSQL data folder. Every server listens on 127.0.0.1 only, on a free port
unless one is given. `stop` stops exactly what `start` recorded (process groups by pid, PostgreSQL
with `pg_ctl -m fast stop`), never anything found by name.

The MLflow server proxies artifacts (`--artifacts-destination s3://<bucket>`), so a client needs
only MLFLOW_TRACKING_URI: the S3 endpoint and credentials stay on the server. moto keeps objects in
memory: artifacts last as long as the S3 process does (this is a local stand-in; a real
deployment uses deploy/compose.yaml or a managed database and bucket). PostgreSQL refuses to run
as root: when run as root, its commands run as the `postgres` user.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
HOST = "127.0.0.1"
DB = "mlflow"
MOTO_KEY = "testing"  # moto's fixed local-test credential, for an S3 stand-in on loopback only
S3_KEYS = {
    "AWS_ACCESS_KEY_ID": MOTO_KEY,
    "AWS_SECRET_ACCESS_KEY": MOTO_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
}


def default_dir() -> Path:
    return Path(
        os.environ.get("TEAM_SERVER_DIR") or Path.home() / ".cache/multitask/team-server"
    ).resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _is_root() else cmd


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc


def _wait(check, what: str, timeout: float, proc: subprocess.Popen | None = None,
          log: Path | None = None) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


def _http_ok(url: str) -> bool:
    # Only ever http://127.0.0.1:<port> URLs we built ourselves.
    with urllib.request.urlopen(url, timeout=2) as resp:  # nosec B310
        return resp.status == 200


def _spawn(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start `cmd` as the leader of its own process group (so stop can killpg it)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )  # fmt: skip


# -- PostgreSQL ------------------------------------------------------------------------------------
def _postgres_can_use(folder: Path) -> bool:
    if not _is_root():
        return True
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(folder)])
    return probe.returncode == 0


def _pgdata(state_dir: Path, state: dict[str, Any]) -> Path:
    """<DIR>/pgdata, or (root, DIR unreachable for `postgres`) a recorded folder under /tmp."""
    if state.get("pgdata") and Path(state["pgdata"]).exists():
        return Path(state["pgdata"])
    if _postgres_can_use(state_dir):
        return state_dir / "pgdata"
    return Path(tempfile.mkdtemp(prefix="multitask-pgdata-"))


def start_postgres(state_dir: Path, state: dict[str, Any], port: int) -> None:
    pgdata = _pgdata(state_dir, state)
    state["pgdata"] = str(pgdata)
    state.setdefault("pg_superuser_password", secrets.token_hex(16))
    state.setdefault("db_password", secrets.token_hex(16))
    _save(state_dir, state)  # before anything can fail: stop/purge must find the data folder
    fresh = not (pgdata / "PG_VERSION").exists()
    if fresh:
        pgdata.mkdir(parents=True, exist_ok=True)
        pwfile = pgdata.parent / f".pw-{os.getpid()}"
        pwfile.write_text(state["pg_superuser_password"] + "\n")
        try:
            if _is_root():
                shutil.chown(pgdata, "postgres", "postgres")
                shutil.chown(pwfile, "postgres", "postgres")
            pwfile.chmod(0o600)
            _run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres",
                               "--auth-host=scram-sha-256", "--auth-local=peer",
                               f"--pwfile={pwfile}", "-E", "UTF8"]))  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
    log = pgdata / "postgres.log"  # inside the data folder: `postgres` can always write there
    state["pg_log"] = str(log)
    opts = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories=''"
    _run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w",
                       "-t", "60", "-o", opts, "start"]))  # fmt: skip
    state["pg_port"] = port
    if fresh:
        import psycopg2

        conn = psycopg2.connect(host=HOST, port=port, user="postgres", dbname="postgres",
                                password=state["pg_superuser_password"])  # fmt: skip
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {DB} LOGIN PASSWORD %s", (state["db_password"],))
            cur.execute(f"CREATE DATABASE {DB} OWNER {DB}")
        conn.close()


def stop_postgres(state: dict[str, Any]) -> None:
    pgdata = state.get("pgdata")
    if pgdata and (Path(pgdata) / "postmaster.pid").exists():
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", pgdata, "-m", "fast", "-w",
                                     "stop"]), capture_output=True)  # fmt: skip


# -- local S3 (moto) -------------------------------------------------------------------------------
def s3_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_KEYS["AWS_DEFAULT_REGION"],
    )  # fmt: skip


def start_s3(log: Path, port: int = 0, buckets: list[str] | None = None,
             state: dict[str, Any] | None = None) -> tuple[int, str]:  # fmt: skip
    """A moto S3 server on 127.0.0.1 (own process group) with `buckets`; returns (pid, url).

    With `state`, the pid is recorded there as s3_pid as soon as the process exists.
    """
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    proc = _spawn([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)], log, env)
    if state is not None:
        state["s3_pid"] = proc.pid
    try:
        _wait(lambda: _http_ok(f"{url}/moto-api/"), "moto S3", 30, proc, log)
        client = s3_client(url)
        for bucket in buckets or []:
            client.create_bucket(Bucket=bucket)  # moto is in memory: new buckets on every start
    except BaseException:
        stop_group(proc.pid, "moto")
        raise
    return proc.pid, url


# -- process groups --------------------------------------------------------------------------------
def _alive(pid: int, marker: str) -> bool:
    """True if `pid` runs and its command line holds `marker` (guards against reused pids)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def stop_group(pid: int | None, marker: str, timeout: float = 15) -> None:
    if not pid or not _alive(pid, marker):
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
            if not _alive(pid, marker):
                return
            time.sleep(0.1)


# -- the whole server ------------------------------------------------------------------------------
def _load(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save(state_dir: Path, state: dict[str, Any]) -> None:
    path = state_dir / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def backend_uri(state: dict[str, Any]) -> str:
    return f"postgresql+psycopg2://{DB}:{state['db_password']}@{HOST}:{state['pg_port']}/{DB}"


def tracking_uri(state: dict[str, Any]) -> str:
    return f"http://{HOST}:{state['mlflow_port']}"


def s3_env(state: dict[str, Any]) -> dict[str, str]:
    """What an S3 client (the MLflow server, a DVC remote) needs to reach the local S3."""
    return {
        **S3_KEYS,
        "AWS_ENDPOINT_URL": state["s3_url"],
        "MLFLOW_S3_ENDPOINT_URL": state["s3_url"],
    }


def running(state: dict[str, Any]) -> bool:
    return bool(state.get("mlflow_pid")) and _alive(state["mlflow_pid"], "mlflow")


def start(state_dir: Path, mlflow_port: int = 0, pg_port: int = 0, s3_port: int = 0,
          bucket: str = "mlflow-artifacts", timeout: float = 120) -> dict[str, Any]:  # fmt: skip
    """Start PostgreSQL, moto S3 and the MLflow server; return the state (also in state.json)."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state = _load(state_dir)
    if running(state):
        raise RuntimeError(f"already running from {state_dir} at {tracking_uri(state)}")
    try:
        start_postgres(state_dir, state, pg_port or free_port())
        _save(state_dir, state)

        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
        state["bucket"] = bucket
        _, state["s3_url"] = start_s3(state_dir / "s3.log", s3_port, [bucket], state)
        _save(state_dir, state)

        state["mlflow_port"] = mlflow_port or free_port()
        env = {**base_env, **s3_env(state), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        # = --backend-store-uri, passed in the environment so the password stays out of `ps`.
        env["MLFLOW_BACKEND_STORE_URI"] = backend_uri(state)
        cmd = [sys.executable, "-m", "mlflow", "server",
               "--artifacts-destination", f"s3://{bucket}",
               "--host", HOST, "--port", str(state["mlflow_port"]), "--workers", "1"]  # fmt: skip
        server = _spawn(cmd, state_dir / "mlflow.log", env)
        state["mlflow_pid"] = server.pid
        _save(state_dir, state)
        _wait(lambda: _http_ok(f"{tracking_uri(state)}/health"), "mlflow server", timeout,
              server, state_dir / "mlflow.log")  # fmt: skip
    except BaseException:
        stop(state_dir)
        raise
    return state


def stop(state_dir: Path, purge: bool = False) -> None:
    """Stop what `start` recorded in state_dir; with purge, delete the data too."""
    state_dir = state_dir.resolve()
    state = _load(state_dir)
    stop_group(state.pop("mlflow_pid", None), "mlflow")
    stop_group(state.pop("s3_pid", None), "moto")
    stop_postgres(state)
    if purge:
        pgdata = state.get("pgdata")
        if pgdata and not Path(pgdata).is_relative_to(state_dir):
            shutil.rmtree(pgdata, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)
    elif state_dir.exists():
        _save(state_dir, state)


def env_lines(state: dict[str, Any], with_s3: bool = False) -> list[str]:
    lines = [f"export MLFLOW_TRACKING_URI={tracking_uri(state)}"]
    if with_s3:  # for a DVC S3 remote on the same local S3; the MLflow client does not need these
        lines += [f"export {k}={v}" for k, v in s3_env(state).items() if k.startswith("AWS_")]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop", "env", "status"])
    parser.add_argument("dir", nargs="?", type=Path, default=None, help="state folder")
    parser.add_argument("--port", type=int, default=0, help="MLflow port (default: a free one)")
    parser.add_argument("--pg-port", type=int, default=0)
    parser.add_argument("--s3-port", type=int, default=0)
    parser.add_argument("--bucket", default="mlflow-artifacts")
    parser.add_argument("--purge", action="store_true", help="stop: delete the data as well")
    parser.add_argument("--s3", action="store_true", help="env: also the local S3 variables")
    args = parser.parse_args(argv)
    state_dir = (args.dir or default_dir()).resolve()
    try:
        if args.command == "start":
            state = start(state_dir, args.port, args.pg_port, args.s3_port, args.bucket)
            print(f"# team server up (state in {state_dir}); stop: server.sh stop {state_dir}",
                  file=sys.stderr)  # fmt: skip
            print("\n".join(env_lines(state)))
        elif args.command == "stop":
            stop(state_dir, args.purge)
        else:
            state = _load(state_dir)
            if not running(state):
                print(f"error: no team server running from {state_dir}", file=sys.stderr)
                return 1
            if args.command == "env":
                print("\n".join(env_lines(state, args.s3)))
            else:
                print(json.dumps({k: v for k, v in state.items() if "password" not in k}, indent=2))
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
