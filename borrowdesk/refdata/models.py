"""Reference data: assets, networks, venues, counterparties, custody accounts, prices.

Referenced by code in the API; the database enforces the shapes the desk relies on.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from borrowdesk.audit import audited

CODE_RE = r"^[A-Z0-9][A-Z0-9_.-]*$"


@audited
class Asset(models.Model):
    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    decimals = models.PositiveSmallIntegerField(help_text="Places a quantity of this asset may have (0-18).")
    is_stablecoin = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # The networks (chains) that carry this asset: an on-chain account holds or receives it only on one
    # of them (selectors.account_carries). Through an audited table, so every change is in the trail.
    networks: "models.ManyToManyField[Network, AssetNetwork]" = models.ManyToManyField(
        "Network", through="AssetNetwork", related_name="assets", blank=True
    )

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decimals__gte=0, decimals__lte=18), name="asset_decimals_0_18"
            ),
            models.CheckConstraint(condition=Q(symbol__regex=CODE_RE), name="asset_symbol_upper"),
        ]

    def __str__(self) -> str:
        return self.symbol


@audited
class Network(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z0-9][a-z0-9_-]*$"), name="network_code")
        ]

    def __str__(self) -> str:
        return self.code


@audited
class AssetNetwork(models.Model):
    """That ``network`` carries ``asset`` (USDT on ethereum and on tron, BTC on bitcoin, …)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="asset_networks")
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="asset_networks")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "network"], name="asset_network_once")]

    def __str__(self) -> str:
        return f"{self.asset_id} on {self.network_id}"


class VenueKind(models.TextChoices):
    EXCHANGE = "exchange"
    CUSTODIAN = "custodian"
    PRIME_BROKER = "prime_broker"
    ONCHAIN = "onchain"
    BANK = "bank"


@audited
class Venue(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=VenueKind.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=VenueKind.values), name="venue_kind_valid"),
            models.CheckConstraint(condition=Q(code__regex=CODE_RE), name="venue_code_upper"),
        ]

    def __str__(self) -> str:
        return self.code


class CounterpartyKind(models.TextChoices):
    CLIENT = "client"
    INTERNAL_DESK = "internal_desk"
    LENDER = "lender"
    VENUE = "venue"


class RiskRating(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@audited
class Counterparty(models.Model):
    code = models.CharField(max_length=32, unique=True)
    legal_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=CounterpartyKind.choices)
    jurisdiction = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 country code.")
    risk_rating = models.CharField(max_length=8, choices=RiskRating.choices, default=RiskRating.MEDIUM)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "counterparties"
        permissions = [("act_for_counterparty", "Can act for this counterparty")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=CounterpartyKind.values), name="counterparty_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(risk_rating__in=RiskRating.values), name="counterparty_risk_valid"
            ),
            models.CheckConstraint(
                condition=Q(jurisdiction__regex=r"^[A-Z]{2}$"), name="counterparty_jurisdiction"
            ),
            models.CheckConstraint(condition=Q(code__regex=CODE_RE), name="counterparty_code_upper"),
        ]

    def __str__(self) -> str:
        return self.code


class AccountPurpose(models.TextChoices):
    INVENTORY = "inventory"
    COLLATERAL = "collateral"
    SETTLEMENT = "settlement"
    TREASURY = "treasury"


@audited
class CustodyAccount(models.Model):
    """A venue account or an on-chain wallet, owned by the firm (owner null) or a counterparty."""

    code = models.CharField(max_length=40, unique=True)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="accounts")
    network = models.ForeignKey(
        Network, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    address = models.CharField(max_length=128, blank=True)
    owner = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    purpose = models.CharField(max_length=16, choices=AccountPurpose.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=AccountPurpose.values), name="account_purpose_valid"
            ),
            models.CheckConstraint(condition=Q(code__regex=CODE_RE), name="account_code_upper"),
            # One wallet address per chain: two accounts cannot claim the same coins.
            models.UniqueConstraint(
                fields=["network", "address"], condition=~Q(address=""), name="account_unique_address"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PriceStatus(models.TextChoices):
    APPLIED = "applied"  # a mark candidate: the latest applied price of an asset is its mark
    PENDING = "pending"  # an administrator's override beyond the tolerance, awaiting another's confirmation


@audited
class Price(models.Model):
    """A USD price of an asset at a moment; the latest *applied* one per asset is the mark.

    Prices decide approval paths, so they come from the price feed (the ``pricing`` role). An
    administrator's manual price is an override: one that moves the mark by more than
    ``PRICE_OVERRIDE_TOLERANCE_PCT`` is ``pending`` (never the mark) until another administrator
    confirms it.
    """

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="prices")
    price_usd = models.DecimalField(max_digits=24, decimal_places=8)
    as_of = models.DateTimeField()
    source = models.CharField(max_length=64, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=PriceStatus.choices, default=PriceStatus.APPLIED)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asset", "-as_of"]
        get_latest_by = "as_of"
        indexes = [models.Index(fields=["asset", "-as_of", "-id"], name="price_mark_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(price_usd__gt=0), name="price_positive"),
            models.CheckConstraint(condition=Q(status__in=PriceStatus.values), name="price_status_valid"),
            # Maker-checker in the database too: an override is confirmed by someone else.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=models.F("posted_by")),
                name="price_confirmed_by_another",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.price_usd} @ {self.as_of:%Y-%m-%d %H:%M}"


class CounterpartyUserObjectPermission(UserObjectPermissionBase):
    """Direct-foreign-key object permissions (django-guardian): "trader X acts for counterparty Y" is a
    plain indexed join instead of a generic object_pk text match, so scoping every read stays cheap."""

    content_object = models.ForeignKey(Counterparty, on_delete=models.CASCADE)


class CounterpartyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Counterparty, on_delete=models.CASCADE)


# --- issue 11 (reconciliation statements): custodians' ids for the desk's accounts and assets ---------


class Custodian(models.TextChoices):
    """The custodians whose balance files the reconciliation adapters read."""

    FIREBLOCKS = "fireblocks", "Fireblocks"
    COINBASE_PRIME = "coinbase_prime", "Coinbase Prime"
    BITGO = "bitgo", "BitGo"


class MappingKind(models.TextChoices):
    ACCOUNT = "account"  # a vault account / portfolio / wallet id → a CustodyAccount
    ASSET = "asset"  # the custodian's asset id (BTC_TEST, "btc", "USDC") → an Asset


@audited
class CustodianMapping(models.Model):
    """What a custodian calls one of the desk's accounts or assets.

    A Fireblocks vault account id, a Coinbase Prime portfolio id or a BitGo wallet id names a
    ``CustodyAccount``; a custodian's asset id names an ``Asset``. One external id means one thing per
    custodian (unique), so a statement line can never land on two accounts.
    """

    custodian = models.CharField(max_length=16, choices=Custodian.choices)
    kind = models.CharField(max_length=8, choices=MappingKind.choices)
    external_id = models.CharField(max_length=128)
    account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="custodian_ids"
    )
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="custodian_ids"
    )

    class Meta:
        ordering = ["custodian", "kind", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["custodian", "kind", "external_id"], name="custodian_mapping_once"
            ),
            models.CheckConstraint(
                condition=Q(custodian__in=Custodian.values), name="custodian_mapping_custodian"
            ),
            models.CheckConstraint(
                condition=Q(kind=MappingKind.ACCOUNT, account__isnull=False, asset__isnull=True)
                | Q(kind=MappingKind.ASSET, asset__isnull=False, account__isnull=True),
                name="custodian_mapping_one_target",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="custodian_mapping_id_not_blank"),
        ]

    def __str__(self) -> str:
        target = self.account_id if self.kind == MappingKind.ACCOUNT else self.asset_id
        return f"{self.custodian} {self.kind} {self.external_id} → {target}"
