"""Reads of reference data. Counterparty-scoped reads narrow to what the user may see first."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from borrowdesk.access.roles import has_role
from borrowdesk.refdata.models import Asset, AssetNetwork, Counterparty, CustodyAccount, Network, Price, Venue


def counterparties_for_trader(user) -> QuerySet[Counterparty]:
    """The counterparties a trader has been granted (django-guardian object permission, direct FK)."""
    return Counterparty.objects.filter(
        counterpartyuserobjectpermission__user=user,
        counterpartyuserobjectpermission__permission__codename="act_for_counterparty",
    )


def acts_for(user, counterparty: Counterparty) -> bool:
    """Whether this user has been granted the right to act for this counterparty (one query)."""
    return counterparties_for_trader(user).filter(pk=counterparty.pk).exists()


def may_act_for(user, counterparty: Counterparty) -> bool:
    """Whether a user trades for a counterparty: a trader granted it (django-guardian object permission)."""
    return has_role(user, "trader") and acts_for(user, counterparty)


def is_trader_only(user) -> bool:
    """A user whose only desk role is trader sees counterparties through grants alone."""
    return has_role(user, "trader") and not has_role(
        user, "ops", "ops_senior", "risk", "compliance", "treasury", "manager", "auditor", "admin"
    )


def visible_counterparties(user) -> QuerySet[Counterparty]:
    """Counterparties this user may see: all for desk staff, the granted ones for a trader."""
    if is_trader_only(user):
        return counterparties_for_trader(user).order_by("code")
    return Counterparty.objects.all()


def visible_accounts(user) -> QuerySet[CustodyAccount]:
    """Custody accounts this user may see: a trader sees the firm's and their counterparties'."""
    qs = CustodyAccount.objects.select_related("venue", "network", "owner")
    if is_trader_only(user):
        qs = qs.filter(Q(owner__isnull=True) | Q(owner__in=counterparties_for_trader(user)))
    return qs


def assets() -> QuerySet[Asset]:
    return Asset.objects.prefetch_related("networks")


def networks() -> QuerySet[Network]:
    return Network.objects.all()


def venues() -> QuerySet[Venue]:
    return Venue.objects.all()


def latest_prices() -> QuerySet[Price]:
    """The mark of every asset: its latest price (one query, DISTINCT ON asset)."""
    return (
        Price.objects.select_related("asset")
        .order_by("asset__symbol", "-as_of", "-id")
        .distinct("asset__symbol")
    )


def mark(asset: Asset) -> Price | None:
    """The latest price of one asset, or None when it has none."""
    return Price.objects.filter(asset=asset).order_by("-as_of", "-id").first()


def marks_by_asset_id() -> dict[int, Price]:
    return {
        p.asset_id: p
        for p in Price.objects.filter(
            id=Subquery(
                Price.objects.filter(asset=OuterRef("asset")).order_by("-as_of", "-id").values("id")[:1]
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
