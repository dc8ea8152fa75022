"""How the job pages say what a run did: the job by its name on the schedule, counts as words,
outcomes as labels."""

from __future__ import annotations

from typing import Any

from borrowdesk.formatting import label
from borrowdesk.operations.schedule import SCHEDULE

# count key → (singular, plural): "3 requests expired", "1 offer lapsed".
COUNT_WORDS: dict[str, tuple[str, str]] = {
    "requests_expired": ("request expired", "requests expired"),
    "offers_lapsed": ("offer lapsed", "offers lapsed"),
    "held_for_compliance": ("request put on compliance hold", "requests put on compliance hold"),
    "released_from_hold": ("request released from compliance hold", "requests released from compliance hold"),
    "holds_released": ("expired hold released", "expired holds released"),
    "accruals_added": ("fee accrual added", "fee accruals added"),
    "expired_sessions_deleted": ("expired session deleted", "expired sessions deleted"),
}

# The nouns of other jobs' count keys, for "1 call escalated" rather than "1 calls escalated".
SINGULAR_NOUNS: dict[str, str] = {
    "accounts": "account",
    "alerts": "alert",
    "breaches": "breach",
    "breaks": "break",
    "calls": "call",
    "cases": "case",
    "counterparties": "counterparty",
    "holds": "hold",
    "limits": "limit",
    "lists": "list",
    "loans": "loan",
    "matches": "match",
    "messages": "message",
    "profiles": "profile",
    "reminders": "reminder",
    "requests": "request",
    "rows": "row",
    "snapshots": "snapshot",
    "statements": "statement",
    "transactions": "transaction",
}

OUTCOME_LABELS = {
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "skipped": "Skipped (duplicate)",
}
STUCK_LABEL = "Stuck: its worker died"


def _words(key: str, value: Any) -> str | None:
    if key == "duplicate_of":
        return f"duplicate of run {value}" if value else "duplicate"
    if key in ("caught_up", "failed") and isinstance(value, dict):  # the catch-up sweep
        verb = "caught up" if key == "caught_up" else "failed to catch up"
        return "; ".join(f"{verb} {job} for {', '.join(days)}" for job, days in value.items()) or None
    words = key.replace("_", " ")
    if isinstance(value, list):  # ids or codes the run could not handle: none, or which
        return f"{words}: {', '.join(str(v) for v in value)}" if value else None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{words}: {value}"
    if value == 0:
        return None
    one = " ".join(SINGULAR_NOUNS.get(word, word) for word in words.split())
    singular, plural = COUNT_WORDS.get(key, (one, words))
    return f"{value:,} {singular if value == 1 else plural}"


def describe_counts(counts: dict[str, Any] | None) -> str:
    """A run's counts as a sentence: zeros left out, "nothing to do" when all are zero."""
    if not counts:
        return ""
    # jsonb keeps keys in its own order: known counts in the table's order, then the rest.
    order = list(COUNT_WORDS)
    keys = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    parts = [p for p in (_words(k, counts[k]) for k in keys) if p]
    return ", ".join(parts) if parts else "nothing to do"


def outcome_label(outcome: str, *, stuck: bool = False) -> str:
    return STUCK_LABEL if stuck else OUTCOME_LABELS.get(outcome, outcome.replace("_", " ").capitalize())


def error_summary(error: str) -> str:
    """The last line of a traceback (the exception), which is what an operator reads first."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# Every job that records runs, by task name, as operators read it: the scheduled ones by their schedule
# entry's name, then those started by an action (a list import, a run asked for from the page or the
# API). The job runs page's filter offers exactly these.
JOB_LABELS: dict[str, str] = {
    **{entry.task: entry.name for entry in SCHEDULE},
    "compliance.sanctions.rescreen": "Rescreen against a newly imported sanctions list",
    "reconciliation.run": "Reconciliation run asked for",
}


def job_label(job: str) -> str:
    """A job run's job as the desk reads it (``JOB_LABELS``: "Revalue collateral and issue margin
    calls" for ``collateral.revalue``), else the task name's last part in words (``demo.nightly_job`` →
    "Nightly job")."""
    return JOB_LABELS.get(job) or label(job.rsplit(".", 1)[-1])
