"""Borrower limits at final approval: each kind of limit refuses the approval with its named error and
nothing written; an approval under the limits passes; a counterparty without a limit is unaffected.

BTC's mark is 50,000 USD; every request here is below 250,000 USD, so bob (ops) alone approves it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collateral.errors import LimitExceeded
from collateral.models import ConfigStatus, LimitBreach
from collateral.services.limits import check_limits_for_final_approval
from compliance.models import KycProfile
from requests_app.models import Approval, BorrowRequest
from requests_app.services import accept_offer, approve_request, submit_request
from tests.collateral import valuation_helpers as h
from tests.collateral.limit_helpers import limit
from tests.inventory.factories import desk_asset, firm_account, ledger_state, stock
from treasury.models import SettlementInstruction

D = Decimal


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def stocked(btc):
    account = firm_account()
    stock(btc, account, "20")
    return account


def _clear(counterparty):
    KycProfile.objects.create(
        counterparty=counterparty,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    return counterparty


@pytest.fixture
def submit(alice, acme, btc, stocked):
    """Submit a request as alice for ACME (cleared); keyword overrides."""
    _clear(acme)

    def _submit(quantity="1", **overrides):
        fields = {"actor": alice, "counterparty": acme, "asset": btc, "quantity": D(quantity)}
        return submit_request(**{**fields, **overrides})

    return _submit


def _approve(bob, request):
    return approve_request(actor=bob, request=request.pk, rate_bps=D("400"))


def _everything():
    """Every row a refused approval could have written, to assert it wrote none."""
    return {
        "ledger": ledger_state(),
        "requests": list(
            BorrowRequest.objects.order_by("id").values_list(
                "id", "status", "next_role", "loan_id", "approved_quantity", "decided_at", "updated_at"
            )
        ),
        "approvals": list(Approval.objects.order_by("id").values_list("id", "request_id", "decision")),
        "settlements": list(SettlementInstruction.objects.order_by("id").values_list("id", "loan_id")),
        "breaches": LimitBreach.objects.count(),
    }


def _refused(bob, request, detail):
    """Approving ``request`` is refused as limit_exceeded with ``detail``, and nothing changed."""
    before = _everything()
    with pytest.raises(LimitExceeded) as refused:
        _approve(bob, request)
    assert (refused.value.code, refused.value.status) == ("limit_exceeded", 409)
    assert refused.value.detail == detail
    assert _everything() == before
    request.refresh_from_db()
    assert (request.status, request.loan_id, request.first_action_at) == ("pending_approval", None, None)


def test_an_approval_under_every_limit_passes(submit, bob, acme, btc):
    eth = h.asset("ETH")
    h.price(eth, 3000)
    h.haircut(eth, 10)
    h.pledge(h.collateral_account(acme), eth, 50)  # 50 x 3,000 x 0.9 = 135,000 of collateral
    limit(acme, 100000, max_tenor_days=30, min_coverage_ratio="1.35", caps={btc: 2})
    # 2 BTC x 50,000 = 100,000 of exposure (= the limit), 2 BTC (= the cap), 30 days (= the tenor),
    # coverage 135,000 / 100,000 = 1.35 (= the covenant): every limit met exactly.
    request = _approve(bob, submit("2", term_days=30))
    assert request.status == "approved"
    assert request.loan.quantity == D(2)


def test_the_exposure_limit_refuses_with_the_figures(submit, bob, acme):
    limit(acme, 200000)
    _approve(bob, submit("2"))  # 100,000 of exposure
    # 2 BTC open + 3 BTC = 5 x 50,000 = 250,000 > 200,000
    _refused(
        bob,
        submit("3"),
        "ACME's exposure limit is $200,000.00: this loan of 3 BTC would take exposure to $250,000.00.",
    )


def test_the_exposure_counts_loans_pending_delivery_and_active_of_every_asset(submit, bob, acme):
    eth = h.asset("ETH")
    h.price(eth, 3000)
    h.lend(acme, eth, 10)  # active: 30,000
    h.lend(acme, eth, 5, delivered=False)  # pending delivery: 15,000
    limit(acme, 90000)
    # 45,000 + 1 BTC x 50,000 = 95,000 > 90,000
    _refused(
        bob,
        submit("1"),
        "ACME's exposure limit is $90,000.00: this loan of 1 BTC would take exposure to $95,000.00.",
    )


def test_the_asset_cap_refuses_with_the_figures(submit, bob, acme, btc):
    limit(acme, 10_000_000, caps={btc: "2.5"})
    _approve(bob, submit("2"))
    _refused(
        bob,
        submit("1"),
        "ACME's cap on BTC is 2.5: this loan of 1 BTC would take the BTC it has on loan to 3.",
    )


def test_a_cap_on_another_asset_does_not_refuse(submit, bob, acme):
    eth = h.asset("ETH")
    limit(acme, 10_000_000, caps={eth: 1})
    assert _approve(bob, submit("3")).status == "approved"


def test_a_fixed_term_beyond_the_tenor_limit_is_refused(submit, bob, acme):
    limit(acme, 10_000_000, max_tenor_days=30)
    _refused(bob, submit(term_days=45), "ACME's tenor limit is 30 days: this loan's term is 45 days.")


def test_an_open_ended_loan_breaks_a_tenor_limit(submit, bob, acme):
    limit(acme, 10_000_000, max_tenor_days=30)
    _refused(
        bob,
        submit(term_days=None),
        "ACME's tenor limit is 30 days: an open-ended loan is not allowed under it. Ask for a fixed term.",
    )


def test_an_open_ended_loan_is_allowed_without_a_tenor_limit(submit, bob, acme):
    limit(acme, 10_000_000)
    assert _approve(bob, submit(term_days=None)).status == "approved"


def test_the_coverage_covenant_refuses_with_the_figures(submit, bob, acme):
    eth = h.asset("ETH")
    h.price(eth, 3000)
    h.haircut(eth, 10)
    h.pledge(h.collateral_account(acme), eth, 50)  # 135,000 after the haircut
    limit(acme, 10_000_000, min_coverage_ratio="1.5")
    # 2 BTC = 100,000 of exposure; 135,000 / 100,000 = 1.35 < 1.5
    _refused(
        bob,
        submit("2"),
        "ACME's coverage covenant is 150 %: this loan would take its coverage to 135 % "
        "($135,000.00 of collateral after haircuts against $100,000.00 of exposure).",
    )


def test_exposure_without_collateral_is_coverage_zero_under_a_covenant(submit, bob, acme):
    limit(acme, 10_000_000, min_coverage_ratio="0.1")
    _refused(
        bob,
        submit("1"),
        "ACME's coverage covenant is 10 %: this loan would take its coverage to 0 % "
        "($0.00 of collateral after haircuts against $50,000.00 of exposure).",
    )


def test_an_exposure_that_cannot_be_valued_is_refused(submit, bob, acme):
    xyz = h.asset("XYZ")  # no price at all
    h.lend(acme, xyz, 100)
    limit(acme, 10_000_000)
    _refused(
        bob,
        submit("1"),
        "ACME's exposure cannot be valued (XYZ: no mark), so its exposure limit of $10,000,000.00 cannot "
        "be checked: the loan is refused until every asset it owes has a mark.",
    )


def test_collateral_that_cannot_be_valued_is_refused_under_a_covenant(submit, bob, acme):
    xyz = h.asset("XYZ")  # no price, but eligible: its value is unknown, not zero
    h.haircut(xyz, 20)
    h.pledge(h.collateral_account(acme), xyz, 100)
    limit(acme, 10_000_000, min_coverage_ratio="1.2")
    _refused(
        bob,
        submit("1"),
        "ACME's collateral cannot be valued (XYZ: no mark), so its coverage covenant of 120 % cannot be "
        "checked: the loan is refused until every asset it pledged has a mark.",
    )


def test_a_counterparty_without_a_limit_is_unaffected(submit, bob, acme, globex):
    limit(globex, 0, max_tenor_days=1, min_coverage_ratio="9")  # another counterparty's
    assert _approve(bob, submit("4", term_days=None)).status == "approved"


def test_only_the_version_in_force_counts(submit, bob, acme):
    now = timezone.now()
    limit(acme, 10_000, effective_from=now + timedelta(days=1))  # not yet in force
    limit(acme, 10_000, status=ConfigStatus.PENDING_APPROVAL)  # a proposal: never in force
    limit(acme, 10_000, effective_from=now - timedelta(days=10))  # superseded by the next one
    limit(acme, 60_000, effective_from=now - timedelta(days=1))
    assert _approve(bob, submit("1")).status == "approved"  # 50,000 <= 60,000
    _refused(
        bob,
        submit("1"),
        "ACME's exposure limit is $60,000.00: this loan of 1 BTC would take exposure to $100,000.00.",
    )


def test_an_accepted_offer_is_checked_too(submit, alice, bob, acme):
    request = _approve(bob, submit("2", max_rate_bps=D("300")))
    assert request.status == "offered"
    limit(acme, 50_000)  # tightened while the offer waited
    before = _everything()
    with pytest.raises(LimitExceeded, match=r"would take exposure to \$100,000\.00"):
        accept_offer(actor=alice, request=request.pk)
    assert _everything() == before
    request.refresh_from_db()
    assert (request.status, request.loan_id) == ("offered", None)


def test_a_refused_request_is_approvable_once_the_exposure_falls(submit, bob, acme):
    lim = limit(acme, 100_000)
    _approve(bob, submit("1"))
    request = submit("2")
    with pytest.raises(LimitExceeded):
        _approve(bob, request)
    limit(acme, 150_000, effective_from=lim.effective_from + timedelta(seconds=1))
    assert _approve(bob, request).status == "approved"


def _check(counterparty, asset, quantity="1", term_days=None):
    with transaction.atomic():
        check_limits_for_final_approval(
            counterparty_id=counterparty.pk, asset=asset, quantity=D(quantity), term_days=term_days
        )


def test_the_check_is_one_round_trip_with_or_without_a_limit(acme, btc):
    _check(acme, btc)  # the first check on a connection prepares the read (once per connection)
    with CaptureQueriesContext(connection) as queries:
        _check(acme, btc)  # no limit: the lock finds no row (no lock taken), the read finds none
    limit(acme, 1_000_000, caps={btc: 5})
    with CaptureQueriesContext(connection) as limited:
        _check(acme, btc)
    for captured in (queries, limited):
        [sql] = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]  # the test's atomic()
        assert "FOR NO KEY UPDATE;" in sql and "EXECUTE collateral_limit_check" in sql


def test_the_read_is_prepared_once_per_connection(acme, btc):
    _check(acme, btc)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'collateral_limit_check'")
        assert cursor.fetchone() == (1,)
    with CaptureQueriesContext(connection) as queries:
        _check(acme, btc)
    assert not any(q["sql"].startswith("PREPARE") for q in queries)
