"""The demo desk's reconciliation (seed_demo, part reconruns): statements that give breaks of every
kind against the demo book, today's run, one break assigned with a comment, one resolved by words and one
booking error fixed by an ops_senior adjustment; one firm account left without a statement (a gap)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Asset, CustodyAccount
from inventory.models import Position
from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.models_runs import Break, ReconciliationRun
from reconciliation.services.breaks import adjust_break, assign_break, comment_on_break, resolve_break
from reconciliation.services.runs import execute_run

# (account, {asset: change to the book's figure, or None to leave the line out}, extra lines)
DEMO_STATEMENTS: list[tuple[str, dict[str, Decimal | None], dict[str, Decimal]]] = [
    # The custodian shows 0.05 BTC less: a receipt booked twice (fixed by an adjustment).
    ("INV-FORTIS-BTC", {"BTC": Decimal("-0.05")}, {}),
    # A custody fee taken in ETH (resolved as a fee), and USDC the book never received (missing internally).
    ("INV-FORTIS-ETH", {"ETH": Decimal("-0.012")}, {"USDC": Decimal("2500")}),
    # The venue's statement leaves one asset out (missing on the statement); the rest agrees.
    ("INV-NORTHX", {"*first*": None}, {}),
]
# INV-ONCHAIN-SOL gets no statement: a statement gap.


def _book(account: CustodyAccount) -> dict[str, Decimal]:
    buckets = ["pledged"] if account.owner_id else ["available", "allocated"]
    rows = (
        Position.objects.filter(account=account, bucket__in=buckets)
        .values("asset__symbol")
        .annotate(q=Sum("quantity"))
        .order_by("asset__symbol")
    )
    return {r["asset__symbol"]: r["q"] for r in rows if r["q"]}


def _statement(account: CustodyAccount, lines: dict[str, Decimal], as_of) -> None:
    digest = hashlib.sha256(
        f"demo {account.code} {as_of.isoformat()} {sorted(lines.items())}".encode()
    ).hexdigest()
    st = ExternalStatement.objects.create(
        account=account, as_of=as_of, business_date=business_date(as_of), source="api", content_hash=digest,
        filename=f"demo-{account.code.lower()}.csv", line_count=len(lines),
    )  # fmt: skip
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=list(lines))}
    StatementLine.objects.bulk_create(
        StatementLine(statement=st, asset=assets[s], quantity=q) for s, q in lines.items() if s in assets
    )


def seed_reconciliation(users: dict) -> str | None:
    """Load the demo reconciliation once (nothing when a run exists already). Returns what it did."""
    if ReconciliationRun.objects.exists():
        return None
    now = timezone.now()
    accounts = {a.code: a for a in CustodyAccount.objects.all()}
    with transaction.atomic():
        for code, changes, extra in DEMO_STATEMENTS:
            account = accounts.get(code)
            if account is None:
                continue
            lines = _book(account)
            for symbol, change in changes.items():
                if symbol == "*first*":
                    if lines:
                        lines.pop(sorted(lines)[0])
                elif change is None:
                    lines.pop(symbol, None)
                elif symbol in lines:
                    lines[symbol] += change
            lines.update(extra)
            _statement(account, lines, now)
        # Every other account holding something agrees with its statement, but the on-chain SOL wallet.
        for account in CustodyAccount.objects.exclude(code__in=[c for c, *_ in DEMO_STATEMENTS]):
            book = _book(account)
            if (
                book
                and account.code != "INV-ONCHAIN-SOL"
                and (account.owner_id is None or account.purpose == "collateral")
            ):
                _statement(account, book, now)
    run = ReconciliationRun.objects.create(
        business_date=business_date(), scope="all", requested_by=users.get("ops")
    )
    execute_run(run_id=run.pk)
    ops, senior = users["ops"], users["ops_senior"]
    with acting_as(ops):
        breaks = {
            (b.account.code, b.kind): b for b in Break.objects.filter(run=run).select_related("account")
        }
    booking = breaks.get(("INV-FORTIS-BTC", "mismatch"))
    if booking is not None:
        comment_on_break(
            actor=ops, brk=booking, text="The 2 BTC receipt of last week is in the ledger twice."
        )
        adjust_break(actor=senior, brk=booking, text="Duplicate receipt reversed.")
    fee = breaks.get(("INV-FORTIS-ETH", "mismatch"))
    if fee is not None:
        resolve_break(actor=ops, brk=fee, reason="fee", text="Monthly custody fee, charged in ETH.")
    missing = breaks.get(("INV-FORTIS-ETH", "missing_internal"))
    if missing is not None:
        assign_break(actor=ops, brk=missing, owner=users.get("ops2", ops))
        comment_on_break(actor=ops, brk=missing, text="Asked the custodian where these USDC came from.")
    return f"Reconciliation loaded: {Break.objects.filter(run=run).count()} breaks in today's run."
