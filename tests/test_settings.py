"""Settings are safe by default: DEBUG off unless asked, check --deploy clean in production."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env_overrides):
    # A clean production-like environment: no development switches (the browser tests set
    # DJANGO_ALLOW_ASYNC_UNSAFE for Playwright in this process).
    dropped = ("DEBUG", "BORROWDESK_DEV", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["ENV_FILE"] = "/dev/null"  # not the .env that `make run` writes beside manage.py
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_is_clean_with_production_variables():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k3y-" + "x7Q!pZ" * 10,
        ALLOWED_HOSTS="desk.example.com",
        HTTPS="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_a_secret_key_the_app_refuses_to_start_in_production():
    result = _manage("check")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_debug_is_off_unless_asked():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        SECRET_KEY="k3y-" + "x7Q!pZ" * 10,
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
