"""Run calls at the same moment on real threads, each with its own database connection."""

import threading

from django.db import connection

from borrowdesk.errors import DomainError


def race(calls):
    """Start every call at once after a barrier; return each one's outcome in order: "ok", the domain
    error's code, or the repr of any other exception (a deadlock, say), so a test shows it."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            call()
            outcomes[i] = "ok"
        except DomainError as exc:
            outcomes[i] = exc.code
        except Exception as exc:  # noqa: BLE001 - reported in the outcome, asserted by the test
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes
