from __future__ import annotations

from borrowdesk.access.declared import requires
from borrowdesk.operations import selectors, wording
from borrowdesk.operations.filters import JobRunFilter
from borrowdesk.pages import Column, table_page


@requires("operations.jobs.view")
def jobrun_list(request):
    """Every scheduled job's runs: outcome, counts, errors."""
    rows = selectors.job_runs()
    return table_page(
        request,
        title="Job runs",
        queryset=rows,
        filterset_class=JobRunFilter,
        csv_name="job-runs",
        template="operations/jobrun_list.html",
        empty="No job has run yet: Celery beat starts them on schedule.",
        row_adapter=RunRow,
        extra={"stuck": selectors.stuck_runs()[:20]},
        columns=[
            Column("Job", "job_label", sort="job"),
            Column("Business date", "business_date", sort="business_date"),
            Column("Window", "window"),
            Column("Outcome", "state", badge=True),
            Column("Started", "started_at", sort="started_at"),
            Column("Finished", "finished_at"),
            Column("What it did", "counts_text"),
            Column("Error", "error_summary"),
        ],
    )


class RunRow:
    """A job run as the page shows it: its outcome as a label (stuck runs said so), its counts in words."""

    def __init__(self, run):
        self.run = run
        self.pk = run.pk
        self.job_label = wording.job_label(run.job)
        self.state = "failed" if getattr(run, "stuck", False) else run.outcome
        self.outcome_label = wording.outcome_label(run.outcome, stuck=getattr(run, "stuck", False))
        self.counts_text = wording.describe_counts(run.counts)
        self.error_summary = wording.error_summary(run.error)

    def get_state_display(self) -> str:
        # The badge shows the label (a stuck run says so); its colour class is the state's code.
        return self.outcome_label

    def __getattr__(self, name):
        return getattr(self.run, name)
