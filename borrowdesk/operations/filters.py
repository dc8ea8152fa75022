"""The job-runs page's filters, as form fields: job, outcome (stuck included), business date."""

import django_filters

from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.operations.selectors import stuck_runs
from borrowdesk.operations.wording import JOB_LABELS, OUTCOME_LABELS, STUCK_LABEL

_OUTCOMES = [(value, OUTCOME_LABELS[value]) for value in JobOutcome.values] + [("stuck", STUCK_LABEL)]


class JobRunFilter(django_filters.FilterSet):
    job = django_filters.ChoiceFilter(choices=list(JOB_LABELS.items()), label="Job", empty_label="any job")
    outcome = django_filters.ChoiceFilter(
        choices=_OUTCOMES, method="filter_outcome", label="Outcome", empty_label="any outcome"
    )
    business_date = django_filters.DateFilter(label="Business date")

    class Meta:
        model = JobRun
        fields = ["job", "outcome", "business_date"]

    def filter_outcome(self, queryset, name, value):
        if value == "stuck":
            return queryset.filter(pk__in=stuck_runs().values("pk"))
        return queryset.filter(outcome=value)
