from datetime import date

from django.urls import reverse

from borrowdesk.operations.services import run_job


def test_job_runs_page_lists_runs_and_filters_by_outcome(client, mona, bob):
    run_job(job="demo.job", business_date=date(2026, 11, 25), work=lambda: {"rows": 2})
    run_job(job="demo.job", business_date=date(2026, 11, 25), work=dict)  # skipped
    client.force_login(mona)
    page = client.get(reverse("operations:jobrun_list")).content.decode()
    assert "demo.job" in page and "succeeded" in page and "skipped" in page
    page = client.get(reverse("operations:jobrun_list"), {"outcome": "skipped"}).content.decode()
    assert "succeeded" not in page.split("<tbody>")[1]


def test_traders_cannot_see_job_runs(client, alice):
    client.force_login(alice)
    assert client.get(reverse("operations:jobrun_list")).status_code == 403
