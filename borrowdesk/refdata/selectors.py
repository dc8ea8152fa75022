"""Reads of reference data. Counterparty-scoped reads narrow to what the user may see first."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from borrowdesk.access.policy import allows
from borrowdesk.refdata.models import (
    Asset,
    AssetNetwork,
    Counterparty,
    CustodyAccount,
    Network,
    Price,
    PriceStatus,
    Venue,
)


def counterparties_for_trader(user) -> QuerySet[Counterparty]:
    """The counterparties a trader has been granted (django-guardian object permission, direct FK);
    none for an anonymous user (schema generation, a request refused later)."""
    if not getattr(user, "is_authenticated", False):
        return Counterparty.objects.none()
    return Counterparty.objects.filter(
        counterpartyuserobjectpermission__user=user,
        counterpartyuserobjectpermission__permission__codename="act_for_counterparty",
    )


def acts_for(user, counterparty: Counterparty) -> bool:
    """Whether this user has been granted the right to act for this counterparty (one query)."""
    return counterparties_for_trader(user).filter(pk=counterparty.pk).exists()


def may_act_for(user, counterparty: Counterparty) -> bool:
    """Whether a user trades for a counterparty: one the policy lets act for counterparties
    (``counterparties.act_for``) and granted this one (django-guardian object permission)."""
    return allows(user, "counterparties.act_for") and acts_for(user, counterparty)


def is_trader_only(user) -> bool:
    """A user who sees counterparties through their grants alone: the policy does not give them the
    whole list (``refdata.counterparties.view_all``, the desk's staff)."""
    return not allows(user, "refdata.counterparties.view_all")


def visible_counterparties(user) -> QuerySet[Counterparty]:
    """Counterparties this user may see: all for desk staff, the granted ones for a trader."""
    if is_trader_only(user):
        return counterparties_for_trader(user).order_by("code")
    return Counterparty.objects.all()


def visible_accounts(user) -> QuerySet[CustodyAccount]:
    """Custody accounts this user may see: all for desk staff; a trader only their counterparties'
    accounts, never the firm's wallets (API.md: reference data)."""
    qs = CustodyAccount.objects.select_related("venue", "network", "owner")
    if is_trader_only(user):
        qs = qs.filter(owner__in=counterparties_for_trader(user))
    return qs


def assets() -> QuerySet[Asset]:
    return Asset.objects.prefetch_related("networks")


def networks() -> QuerySet[Network]:
    return Network.objects.all()


def venues() -> QuerySet[Venue]:
    return Venue.objects.all()


def applied_prices() -> QuerySet[Price]:
    """Prices that count: an override still awaiting its second administrator is never the mark."""
    return Price.objects.filter(status=PriceStatus.APPLIED)


def mark_sql(asset_id: str, *, select: str = "p.price_usd", at: str | None = None) -> str:
    """The mark rule as an SQL scalar subquery on the asset id expression ``asset_id``: the latest
    applied price (pending overrides never count), as ``mark`` reads it. For a caller that reads the
    mark in the same statement as other things (the approval's lock query).

    ``select``: the columns of the price row ``p`` to return (more than one: use the text as a
    ``LATERAL`` derived table, as collateral's coverage query does to read the mark's ``as_of``).
    ``at``: an SQL expression of an instant; the mark as it stood then (prices stamped after it do not
    count), for a valuation at a given instant."""
    when = f"AND p.as_of <= {at} " if at is not None else ""
    return (
        f"(SELECT {select} FROM refdata_price p WHERE p.asset_id = {asset_id} "
        f"AND p.status = '{PriceStatus.APPLIED}' {when}ORDER BY p.as_of DESC, p.id DESC LIMIT 1)"
    )


def latest_prices() -> QuerySet[Price]:
    """The mark of every asset: its latest applied price (one query, DISTINCT ON asset)."""
    return (
        applied_prices()
        .select_related("asset")
        .order_by("asset__symbol", "-as_of", "-id")
        .distinct("asset__symbol")
    )


def pending_overrides() -> QuerySet[Price]:
    """Administrators' overrides awaiting another administrator's confirmation, oldest first."""
    return (
        Price.objects.filter(status=PriceStatus.PENDING)
        .select_related("asset", "posted_by")
        .order_by("created_at", "id")
    )


def mark(asset: Asset) -> Price | None:
    """The latest applied price of one asset (pending overrides ignored), or None when it has none."""
    return applied_prices().filter(asset=asset).order_by("-as_of", "-id").first()


def marks_by_asset_id() -> dict[int, Price]:
    """The mark of every asset that has one, by asset id (pending overrides ignored)."""
    return {
        p.asset_id: p
        for p in applied_prices().filter(
            id=Subquery(
                applied_prices().filter(asset=OuterRef("asset")).order_by("-as_of", "-id").values("id")[:1]
            )
        )
    }


def account_carries(account: CustodyAccount, asset: Asset) -> bool:
    """Whether ``account`` can hold or receive ``asset``: an on-chain account only if its network
    carries the asset (``Asset.networks``); an account with no network (a venue account) carries
    whatever its venue holds. An asset with no networks listed is carried by venue accounts only.
    At most one query."""
    if account.network_id is None:
        return True
    return AssetNetwork.objects.filter(asset_id=asset.pk, network_id=account.network_id).exists()
