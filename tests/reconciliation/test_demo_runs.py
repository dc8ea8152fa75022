"""The demo desk's reconciliation: breaks of every kind, one resolved by an adjustment, a statement gap;
loading the demo again adds nothing."""

from django.core.management import call_command

from reconciliation.models_runs import Break, ReconciliationRun


def test_the_demo_has_breaks_of_every_kind_one_fixed_by_an_adjustment_and_a_gap(desk_config):
    call_command("seed_demo", verbosity=0)
    run = ReconciliationRun.objects.get()
    assert (run.scope, run.status) == ("all", "finished")
    kinds = set(Break.objects.values_list("kind", flat=True))
    assert kinds == {"mismatch", "missing_internal", "missing_external", "statement_gap"}
    fixed = Break.objects.get(adjustment__isnull=False)
    assert (fixed.status, fixed.reason, fixed.adjustment.kind) == ("resolved", "booking_error", "adjustment")
    gap = Break.objects.get(kind="statement_gap")
    assert gap.account.code == "INV-ONCHAIN-SOL" and gap.status == "open"
    assert Break.objects.filter(status="assigned", owner__username="ops2").exists()
    before = Break.objects.count()
    call_command("seed_demo", verbosity=0)
    assert Break.objects.count() == before and ReconciliationRun.objects.count() == 1
