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
