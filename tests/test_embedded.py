"""The zero-configuration default: a real PostgreSQL and a real Redis started in var/, then stopped."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import psycopg2, redis
from borrowdesk import embedded
db = embedded.postgres_settings()
conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"])
cur = conn.cursor(); cur.execute("SELECT current_database(), version()"); name, version = cur.fetchone()
conn.close()
sock = embedded.redis_socket()
client = redis.Redis(unix_socket_path=str(sock)); client.set("k", "v")
print(name, version.split()[0], client.get("k").decode())
"""


def test_embedded_postgres_and_redis_start_serve_and_stop(tmp_path):
    env = {**os.environ, "BORROWDESK_VAR_DIR": str(tmp_path / "var")}
    started = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["borrowdesk", "PostgreSQL", "v"]
    # The servers outlive the process that started them (web, worker and beat share them) …
    assert (tmp_path / "var" / "pgdata" / "postmaster.pid").exists()
    assert (tmp_path / "var" / "redis.sock").exists()
    stopped = subprocess.run(
        [sys.executable, "-m", "borrowdesk.embedded", "stop"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "postgresql" in stopped.stdout and "redis" in stopped.stdout
    # … until stopped: PostgreSQL removes its pid file on a clean shutdown.
    for _ in range(100):
        if not (tmp_path / "var" / "pgdata" / "postmaster.pid").exists():
            break
        subprocess.run(["sleep", "0.1"])
    assert not (tmp_path / "var" / "pgdata" / "postmaster.pid").exists()


def _redis_servers_on(socket: Path) -> list[int]:
    """Live redis-server processes working in the socket's directory (redis chdirs to its --dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
            cwd = os.readlink(proc / "cwd")
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if name.startswith("redis-server") and cwd == str(socket.parent) and state != "Z":
            pids.append(int(proc.name))
    return pids


def test_processes_that_find_redis_down_at_once_start_one_embedded_redis(tmp_path):
    # Every gunicorn worker, the Celery worker and beat import the settings at the same moment.
    env = {**os.environ, "BORROWDESK_VAR_DIR": str(tmp_path / "var")}
    code = "from borrowdesk import embedded; print(embedded.redis_socket())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    socket = tmp_path / "var" / "redis.sock"
    try:
        outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
        assert [p.returncode for p in procs] == [0] * 4
        assert set(outputs) == {str(socket)}
        assert len(_redis_servers_on(socket)) == 1
    finally:
        subprocess.run([sys.executable, "-m", "borrowdesk.embedded", "stop"], cwd=ROOT, env=env, timeout=60)
    for _ in range(100):
        if not _redis_servers_on(socket):
            break
        subprocess.run(["sleep", "0.1"])
    assert _redis_servers_on(socket) == []


def _bin_test(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        BORROWDESK_VAR_DIR=str(tmp_path / "var"), VENV=str(Path(sys.executable).parent.parent), **extra
    )
    # Collecting is enough for pytest-django to load the settings, which start the embedded servers.
    return subprocess.run(
        ["bin/test", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_business_day.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _stop(tmp_path):
    env = {**os.environ, "BORROWDESK_VAR_DIR": str(tmp_path / "var")}
    subprocess.run([sys.executable, "-m", "borrowdesk.embedded", "stop"], cwd=ROOT, env=env, timeout=60)


def _status(tmp_path, server):
    env = {**os.environ, "BORROWDESK_VAR_DIR": str(tmp_path / "var")}
    args = [sys.executable, "-m", "borrowdesk.embedded", "status", server]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=60).returncode == 0


def test_make_test_stops_the_embedded_servers_it_started_unless_asked_to_keep_them(tmp_path):
    try:
        result = _bin_test(tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "stopped: postgresql, redis" in result.stdout
        assert not _status(tmp_path, "redis")
        for _ in range(100):  # PostgreSQL removes its pid file once it has shut down
            if not (tmp_path / "var" / "pgdata" / "postmaster.pid").exists():
                break
            subprocess.run(["sleep", "0.1"])
        assert not _status(tmp_path, "postgresql")

        kept = _bin_test(tmp_path, KEEP_EMBEDDED="1")
        assert kept.returncode == 0, kept.stdout + kept.stderr
        assert "leaving the embedded postgresql redis running" in kept.stdout
        assert _status(tmp_path, "postgresql") and _status(tmp_path, "redis")

        # Servers already running before the tests (make run's) are not the tests' to stop.
        again = _bin_test(tmp_path)
        assert "stopped:" not in again.stdout
        assert _status(tmp_path, "postgresql") and _status(tmp_path, "redis")
    finally:
        _stop(tmp_path)


def test_an_embedded_server_that_died_is_started_again_by_embedded_start(tmp_path):
    # What bin/run does every few seconds for the servers it relies on: status, then start.
    env = {**os.environ, "BORROWDESK_VAR_DIR": str(tmp_path / "var")}

    def embedded(*args):
        command = [sys.executable, "-m", "borrowdesk.embedded", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    try:
        assert embedded("start").stdout.strip() == "started: postgresql, redis"
        assert embedded("status").returncode == 0
        var = tmp_path / "var"
        os.kill(int((var / "redis.pid").read_text()), signal.SIGKILL)
        os.kill(int((var / "pgdata" / "postmaster.pid").read_text().splitlines()[0]), signal.SIGKILL)
        for _ in range(100):
            if (
                embedded("status").returncode != 0
                and "postgresql=down redis=down" in embedded("status").stdout
            ):
                break
            subprocess.run(["sleep", "0.1"])
        assert embedded("status").stdout.strip() == "postgresql=down redis=down"
        # A killed server leaves its pid file and socket behind: started again all the same.
        assert embedded("start").stdout.strip() == "started: postgresql, redis"
        assert embedded("status").stdout.strip() == "postgresql=up redis=up"
        assert embedded("start").stdout.strip() == "started: all were running"
    finally:
        embedded("stop")
