from __future__ import annotations

from borrowdesk.access.declared import requires
from borrowdesk.operations import selectors
from borrowdesk.operations.models import JobOutcome
from borrowdesk.pages import Column, table_page


@requires("operations.jobs.view")
def jobrun_list(request):
    """Every scheduled job's runs: outcome, counts, errors."""
    rows = selectors.job_runs(job=request.GET.get("job") or None)
    if request.GET.get("outcome") in JobOutcome.values:
        rows = rows.filter(outcome=request.GET["outcome"])
    return table_page(
        request,
        title="Job runs",
        queryset=rows,
        csv_name="job-runs",
        intro="Filter with ?job=NAME and ?outcome=succeeded|failed|skipped|running.",
        empty="No job has run yet: Celery beat starts them on schedule.",
        columns=[
            Column("Job", "job", sort="job"),
            Column("Business date", "business_date", sort="business_date"),
            Column("Window", "window"),
            Column("Outcome", "outcome", badge=True),
            Column("Started", "started_at", sort="started_at"),
            Column("Finished", "finished_at"),
            Column("Counts", "counts"),
            Column("Error", "error"),
        ],
    )
