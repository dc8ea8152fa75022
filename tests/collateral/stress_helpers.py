"""Test set-up for stress, recall suggestions and monitoring: lenders' inventory, loans at a chosen rate
and term (without stocking the firm's own inventory first, unlike valuation_helpers.lend), pledges with
an expiry, and the seeded scenarios (a transactional test's flush removes what the migration seeded).

Builds on ``valuation_helpers`` (assets, marks, haircut rules, collateral accounts) and inventory's real
services.
"""

from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal

from django.apps import apps
from django.db import transaction

from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from collateral.models import Pledge
from inventory.models import Loan
from inventory.services import deliver_loan, open_loan, receive
from tests.collateral import valuation_helpers as h
from tests.refdata.factories import CounterpartyFactory

D = Decimal


def seed_scenarios() -> None:
    """The three seeded scenarios, as the data migration writes them (idempotent)."""
    migration = importlib.import_module("collateral.migrations.0002_seed_stress_scenarios")
    migration.seed_scenarios(apps)


def lender(code: str = "LENDCO") -> Counterparty:
    return CounterpartyFactory(code=code, legal_name=f"{code} Lending", kind="lender")


def receive_from(asset_: Asset, quantity, *, source: Counterparty | None = None) -> CustodyAccount:
    """Inventory into the firm's INV-MAIN (external → available), from a lender or the firm itself."""
    account = h.firm_inventory()
    receive(
        actor=h._user("helper-treasury", "treasury"),
        asset=asset_,
        account=account,
        quantity=D(str(quantity)),
        source_counterparty=source,
    )
    return account


def loan(
    counterparty: Counterparty,
    asset_: Asset,
    quantity,
    *,
    rate_bps="365",
    term_days: int | None = None,
    delivered: bool = True,
) -> Loan:
    """A loan out of INV-MAIN's available inventory (which must be there): active, or pending delivery."""
    with transaction.atomic():
        opened = open_loan(
            actor=h.ops_user(),
            request_id=None,
            counterparty=counterparty,
            asset=asset_,
            account=h.firm_inventory(),
            quantity=D(str(quantity)),
            rate_bps=D(str(rate_bps)),
            term_days=term_days,
            hold_expires_at=None,
        )
        return deliver_loan(actor=h.ops_user(), loan=opened) if delivered else opened


def pledge_expiring(
    counterparty: Counterparty, asset_: Asset, quantity, *, expires_on: date | None, account=None
) -> Pledge:
    """Pledged collateral recorded as a ``Pledge`` with its expiry (the journal through the ledger)."""
    account = account or h.collateral_account(counterparty)
    journal = h.pledge(account, asset_, quantity)
    return Pledge.objects.create(
        counterparty=counterparty,
        asset=asset_,
        account=account,
        quantity=D(str(quantity)),
        expires_on=expires_on,
        journal=journal,
        created_by=h.ops_user(),
    )
