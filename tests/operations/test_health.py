from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def test_health_answers_ok_when_database_and_redis_are_up(client, db):
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert (response.json()["database"], response.json()["redis"]) == ("ok", "ok")


def test_health_answers_503_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"
    assert response.json()["database"] == "ok"


def test_health_answers_503_when_the_database_is_unreachable(client, db):
    # Django keeps one connection per thread: the request runs in a thread of its own whose connection
    # points at a database that does not exist, so the connection attempt really fails while the
    # test's own connection (and the transaction it rolls back) is untouched.
    def get_health_without_a_database():
        connection.settings_dict = {**connection.settings_dict, "NAME": "borrowdesk_no_such_database"}
        try:
            return client.get("/api/v1/health/")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        response = pool.submit(get_health_without_a_database).result()
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("degraded", "down", "ok")
    assert body["last_jobs"] == []  # nothing is read from a database that is down
    assert connection.settings_dict["NAME"] != "borrowdesk_no_such_database"


def test_health_lists_the_last_run_of_each_job(client, db):
    from datetime import date

    from borrowdesk.operations.services import run_job

    run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 24), work=dict)
    run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 25), work=dict)
    jobs = client.get("/api/v1/health/").json()["last_jobs"]
    assert [(j["job"], j["business_date"]) for j in jobs] == [("operations.daily_housekeeping", "2026-11-25")]


def test_health_reports_the_last_run_that_did_work_not_a_skipped_duplicate(client, db):
    from datetime import date

    from borrowdesk.operations.services import run_job

    done = run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 25), work=dict)
    skipped = run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 25), work=dict)
    assert skipped.outcome == "skipped" and skipped.started_at >= done.started_at
    jobs = client.get("/api/v1/health/").json()["last_jobs"]
    assert [(j["job"], j["outcome"]) for j in jobs] == [("operations.daily_housekeeping", "succeeded")]


def test_health_shows_a_run_stuck_by_a_dead_worker(client, db):
    from datetime import date

    from borrowdesk.operations.models import JobRun
    from borrowdesk.operations.services import Lease, run_job

    alive = JobRun.objects.create(
        job="requests.expire_requests", business_date=date(2026, 11, 25), window="10:05"
    )
    dead = JobRun.objects.create(job="inventory.accrue_loan_fees", business_date=date(2026, 11, 24))
    lease = Lease()
    assert lease.try_lock(alive.pk)  # its worker is alive; nobody holds the other's lease
    try:
        # A later duplicate of the stuck job's date is skipped by nothing: it would take over. Here a
        # skipped run of the live job comes after: health still shows the live run, not the duplicate.
        assert (
            run_job(job=alive.job, business_date=alive.business_date, window="10:05", work=dict).outcome
            == "skipped"
        )
        body = client.get("/api/v1/health/").json()
    finally:
        lease.close()
    assert [(j["job"], j["business_date"]) for j in body["stuck_jobs"]] == [
        ("inventory.accrue_loan_fees", "2026-11-24")
    ]
    last = {j["job"]: (j["outcome"], j["stuck"]) for j in body["last_jobs"]}
    assert last == {
        "inventory.accrue_loan_fees": ("running", True),
        "requests.expire_requests": ("running", False),
    }
    assert dead.pk in JobRun.objects.values_list("pk", flat=True)
