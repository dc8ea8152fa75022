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


def test_health_lists_the_last_run_of_each_job(client, db):
    from datetime import date

    from borrowdesk.operations.services import run_job

    run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 24), work=dict)
    run_job(job="operations.daily_housekeeping", business_date=date(2026, 11, 25), work=dict)
    jobs = client.get("/api/v1/health/").json()["last_jobs"]
    assert [(j["job"], j["business_date"]) for j in jobs] == [("operations.daily_housekeeping", "2026-11-25")]
