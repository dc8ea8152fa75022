from datetime import date

from django.urls import reverse

from borrowdesk.operations.models import JobRun
from borrowdesk.operations.services import run_job
from borrowdesk.operations.wording import describe_counts


def _rows(page: str) -> str:
    return page.split("<tbody>")[1].split("</tbody>")[0]


def test_job_runs_page_lists_runs_and_filters_by_outcome(client, mona, bob):
    run_job(job="demo.nightly_job", business_date=date(2026, 11, 25), work=lambda: {"rows": 2})
    run_job(job="demo.nightly_job", business_date=date(2026, 11, 25), work=dict)  # skipped
    client.force_login(mona)
    page = client.get(reverse("operations:jobrun_list")).content.decode()
    assert "Nightly job" in _rows(page) and "Succeeded" in page and "Skipped (duplicate)" in page
    page = client.get(reverse("operations:jobrun_list"), {"outcome": "skipped"}).content.decode()
    assert "Succeeded" not in _rows(page) and "Skipped (duplicate)" in _rows(page)


def test_job_runs_page_says_counts_in_words_and_outcomes_as_labels(client, mona):
    run_job(
        job="requests.expire_requests",
        business_date=date(2026, 11, 25),
        window="10:05",
        work=lambda: {"requests_expired": 3, "offers_lapsed": 1, "held_for_compliance": 0},
    )
    client.force_login(mona)
    rows = _rows(client.get(reverse("operations:jobrun_list")).content.decode())
    assert "3 requests expired, 1 offer lapsed" in rows
    assert "Expire undecided requests and lapsed offers" in rows  # the job by its name on the schedule
    assert "requests.expire_requests" not in rows
    assert "Succeeded" in rows
    assert "{" not in rows and "succeeded<" not in rows  # no Python dict, no raw outcome value


def test_job_runs_page_shows_a_stuck_run(client, mona):
    stuck = JobRun.objects.create(
        job="inventory.accrue_loan_fees", business_date=date(2026, 11, 24), owner="w1:77"
    )
    client.force_login(mona)
    page = client.get(reverse("operations:jobrun_list")).content.decode()
    assert 'data-testid="stuck-runs"' in page and "w1:77" in page
    assert "Accrue loan fees for 2026-11-24" in page
    row = _rows(page).split(f'data-id="{stuck.pk}"')[1].split("</tr>")[0]
    assert 'class="badge state-failed"' in row and "Stuck: its worker died" in row
    only_stuck = client.get(reverse("operations:jobrun_list"), {"outcome": "stuck"}).content.decode()
    assert f'data-id="{stuck.pk}"' in only_stuck


def test_counts_read_as_words():
    assert (
        describe_counts({"requests_expired": 1, "offers_lapsed": 2}) == "1 request expired, 2 offers lapsed"
    )
    assert describe_counts({"accruals_added": 1200}) == "1,200 fee accruals added"
    assert describe_counts({"requests_expired": 0, "offers_lapsed": 0}) == "nothing to do"
    assert describe_counts({"duplicate_of": 7}) == "duplicate of run 7"
    assert describe_counts({}) == ""
    # Other jobs' counts: the noun singular for one, an empty list left out, a list's items named.
    assert (
        describe_counts({"calls_escalated": 1, "breaches": 2, "counterparties_held": 1, "unvalued": []})
        == "2 breaches, 1 call escalated, 1 counterparty held"
    )
    assert describe_counts({"new_matches": 1, "unvalued": ["ACME"]}) == "1 new match, unvalued: ACME"


def test_traders_cannot_see_job_runs(client, alice):
    client.force_login(alice)
    assert client.get(reverse("operations:jobrun_list")).status_code == 403


def test_a_job_reads_by_its_name_on_the_schedule():
    from borrowdesk.operations.wording import job_label

    assert job_label("collateral.revalue") == "Revalue collateral and issue margin calls"
    assert job_label("compliance.sanctions.rescreen") == "Rescreen against a newly imported sanctions list"
    assert job_label("demo.nightly_job") == "Nightly job"
    assert job_label("accrue_loan_fees") == "Accrue loan fees"


def test_the_home_pages_link_to_a_job_started_by_an_action_filters_the_runs(client, mona):
    # The home page links each last run to ?job=<task>; a list import's rescreen is not on the schedule.
    run_job(job="compliance.sanctions.rescreen", business_date=date(2026, 11, 25), work=dict, window="list-1")
    run_job(job="requests.expire_requests", business_date=date(2026, 11, 25), work=dict, window="10:05")
    client.force_login(mona)
    rows = _rows(
        client.get(
            reverse("operations:jobrun_list"), {"job": "compliance.sanctions.rescreen"}
        ).content.decode()
    )
    assert "Rescreen against a newly imported sanctions list" in rows
    assert "Expire undecided requests" not in rows
