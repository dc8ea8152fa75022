"""Hand-built books and statements for the reconciliation run's tests (reconruns)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date
from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.models_runs import Break, ReconciliationRun
from reconciliation.services.runs import execute_run


def statement(account, lines: dict, *, as_of=None, source="api"):
    """A statement of ``account`` as of ``as_of`` (now by default): {asset: quantity}. Written directly
    (the import service is the recon part's, tested there): one row per line."""
    as_of = as_of or timezone.now()
    digest = hashlib.sha256(f"{account.pk}{as_of.isoformat()}{uuid.uuid4()}".encode()).hexdigest()
    st = ExternalStatement.objects.create(
        account=account, as_of=as_of, business_date=business_date(as_of), source=source,
        content_hash=digest, line_count=len(lines),
    )  # fmt: skip
    for asset, quantity in lines.items():
        StatementLine.objects.create(statement=st, asset=asset, quantity=Decimal(str(quantity)))
    return st


def run(day=None, scope="all", now=None):
    """Run the reconciliation of ``day`` (today's business date) and scope; the run, refreshed."""
    day = day or business_date()
    rec, _ = ReconciliationRun.objects.get_or_create(business_date=day, scope=scope)
    execute_run(run_id=rec.pk, now=now)
    rec.refresh_from_db()
    return rec


def breaks(rec) -> dict:
    """The run's breaks: (account code, asset symbol or None, kind) -> (internal, external, diff, status)."""
    out = {}
    for b in Break.objects.filter(run=rec).select_related("account", "asset"):
        key = (b.account.code, b.asset.symbol if b.asset else None, b.kind)
        out[key] = (b.internal_quantity, b.external_quantity, b.difference, b.status)
    return out


def a_while_ago(minutes=5):
    return timezone.now() - timedelta(minutes=minutes)


def user(name, role):
    return create_desk_user(username=name, password="a-long-password-42", roles=[role])
