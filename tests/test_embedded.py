"""The zero-configuration default: a real PostgreSQL and a real Redis started in var/, then stopped."""

import os
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
