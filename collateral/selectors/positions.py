"""Collateral held: pledged positions and the pledges that brought them.

Scope before you look up: desk staff see every counterparty's collateral, a trader only the
counterparties granted to them, so another counterparty's collateral is a 404 to them, never a 403.
Pledged quantities are read from inventory's ledger (bucket ``pledged`` of the counterparties'
collateral accounts: the account is the counterparty key), never kept twice.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet

from borrowdesk.business_day import business_date
from borrowdesk.errors import NotFoundError
from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from collateral.models import Pledge
from inventory.models import Bucket, Position


def visible_counterparties(user) -> QuerySet[Counterparty]:
    """The counterparties whose collateral ``user`` may see: all for desk staff, the granted ones for
    a trader."""
    if is_trader_only(user):
        return counterparties_for_trader(user)
    return Counterparty.objects.all()


def visible_counterparty(user, code: str) -> Counterparty:
    """The counterparty ``code`` names, if ``user`` may see its collateral; else ``NotFoundError``
    (unknown and out of scope answer alike)."""
    found = visible_counterparties(user).filter(code=code).first()
    if found is None:
        raise NotFoundError(f"No counterparty {code!r}.")
    return found


def _scoped(qs: QuerySet, user, field: str) -> QuerySet:
    if user is not None and is_trader_only(user):
        return qs.filter(**{f"{field}__in": counterparties_for_trader(user)})
    return qs


def collateral_positions(user=None, counterparty: Counterparty | None = None) -> QuerySet[Position]:
    """Pledged quantity per counterparty, asset and account (inventory positions of bucket
    ``pledged`` above zero, the account's owner being the counterparty), by counterparty, asset and
    account; scoped to what ``user`` may see (None: everything, for jobs). One query."""
    qs = Position.objects.filter(bucket=Bucket.PLEDGED, quantity__gt=0, account__owner__isnull=False)
    qs = _scoped(qs, user, "account__owner")
    if counterparty is not None:
        qs = qs.filter(account__owner=counterparty)
    return qs.select_related("asset", "account", "account__owner", "account__venue").order_by(
        "account__owner__code", "asset__symbol", "account__code"
    )


def pledges(user=None, counterparty: Counterparty | None = None) -> QuerySet[Pledge]:
    """Pledges booked, newest first, with their counterparty, asset, account and booker; scoped to
    what ``user`` may see (None: everything). One query."""
    qs = Pledge.objects.select_related("counterparty", "asset", "account", "account__venue", "created_by")
    qs = _scoped(qs, user, "counterparty")
    if counterparty is not None:
        qs = qs.filter(counterparty=counterparty)
    return qs.order_by("-created_at", "-id")


def expiring_pledges(within_days: int, user=None) -> QuerySet[Pledge]:
    """Pledges whose collateral lapses within ``within_days`` of today's business date, soonest first,
    those already lapsed included (they need attention most). A pledge is listed as booked: a later
    release of part of that collateral is not netted against it. One query."""
    until = business_date() + timedelta(days=within_days)
    return pledges(user).filter(expires_on__isnull=False, expires_on__lte=until).order_by("expires_on", "id")
