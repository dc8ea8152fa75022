"""Intake through HTTP (gunicorn, 2 workers, 16 concurrent clients) and the approval queue with 50,000
pending requests (API and page, first page)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from borrowdesk.access.services import create_desk_user
from tests.bench.conftest import percentile, report
from tests.inventory.factories import desk_asset, firm_account, stock

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def database_url(db) -> str:
    """The test database as a DATABASE_URL for the gunicorn workers: a TCP server, or the embedded
    one's socket directory (as the ``host`` query parameter, which django-environ passes to psycopg2)."""
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    name = quote(db["NAME"], safe="")
    host = db["HOST"] or "localhost"
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{name}?host={quote(host, safe='')}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{name}"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def desk(acme, desk_config):
    from compliance.models import KycProfile

    KycProfile.objects.create(
        counterparty=acme, status="approved", risk_rating="low", expires_on="2099-01-01"
    )
    btc = desk_asset("BTC", 8, "50000")
    stock(btc, firm_account(), "1000")
    trader = create_desk_user(
        username="bench_trader", password="bench-password-123", roles=["trader"], counterparties=[acme]
    )
    ops = create_desk_user(username="bench_ops", password="bench-password-123", roles=["ops"])
    return {"acme": acme, "btc": btc, "trader": trader, "ops": ops}


def test_intake_over_http_16_clients(desk):
    token = Token.objects.create(user=desk["trader"]).key
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "DEBUG": "0",
        "BORROWDESK_DEV": "1",
        "STATIC_MANIFEST": "0",
    }
    connection.close()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "borrowdesk.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/v1/health/")
                break
            except OSError:
                time.sleep(0.1)
        body = json.dumps({"counterparty": "ACME", "asset": "BTC", "quantity": "0.5", "urgency": "normal"})
        per_client, clients = 100, 16
        latencies, errors = [], []
        lock = threading.Lock()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine = []
            for _ in range(per_client):
                started = time.perf_counter()
                conn.request(
                    "POST",
                    "/api/v1/borrow-requests/",
                    body=body,
                    headers={
                        "Authorization": f"Token {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                if response.status != 201:
                    errors.append(response.status)
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    assert not errors
    report(
        "Intake over HTTP: gunicorn 2 workers, 16 concurrent clients",
        [
            ("requests", f"{len(latencies)} in {elapsed:.2f} s"),
            ("throughput", f"{len(latencies) / elapsed:,.0f} requests/s"),
            ("p50 latency", f"{percentile(latencies, 50) * 1000:.1f} ms"),
            ("p95 latency", f"{percentile(latencies, 95) * 1000:.1f} ms (goal < 100 ms)"),
        ],
    )


def test_approval_queue_first_page_with_50000_pending(desk):
    from requests_app.models import BorrowRequest
    from requests_app.services import submit_request

    template = submit_request(
        actor=desk["trader"], counterparty=desk["acme"], asset=desk["btc"], quantity=Decimal("0.5")
    )
    fields = {
        f.attname: getattr(template, f.attname)
        for f in BorrowRequest._meta.concrete_fields
        if f.attname != "id"
    }
    rows = []
    for i in range(50_000):
        row = BorrowRequest(**fields)
        row.urgency = ("low", "normal", "high", "critical")[i % 4]
        row.rank_key = template.rank_key + Decimal(i % 997)
        rows.append(row)
    BorrowRequest.objects.bulk_create(rows, batch_size=5000)
    assert BorrowRequest.objects.filter(status="pending_approval").count() == 50_001
    connection.cursor().execute("ANALYZE requests_app_borrowrequest")

    token = Token.objects.create(user=desk["ops"]).key
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    timings = []
    for _ in range(60):
        started = time.perf_counter()
        response = api.get("/api/v1/queues/approval/")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.json()["count"] == 50_001
    rows = [
        ("API first page p50", f"{percentile(timings[10:], 50) * 1000:.1f} ms"),
        ("API first page p95", f"{percentile(timings[10:], 95) * 1000:.1f} ms (goal < 150 ms)"),
    ]

    page = Client()
    page.force_login(desk["ops"])
    try:
        from django.urls import reverse

        url = reverse("requests_app:queue")
    except Exception:  # noqa: BLE001 - the page arrives with the requests pages
        url = None
    if url:
        timings = []
        for _ in range(60):
            started = time.perf_counter()
            response = page.get(url)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        rows += [
            ("page first page p50", f"{percentile(timings[10:], 50) * 1000:.1f} ms"),
            ("page first page p95", f"{percentile(timings[10:], 95) * 1000:.1f} ms (goal < 150 ms)"),
        ]
    report("Approval queue with 50,000 pending requests (in-process Django client)", rows)
