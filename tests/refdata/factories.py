from decimal import Decimal

import factory
from django.utils import timezone

from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Network, Price, Venue


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"TK{n}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} token")
    decimals = 8


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"chain{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"VENUE{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} Ltd")
    kind = "custodian"


class CounterpartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Counterparty
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CP{n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.code} Capital LLC")
    kind = "client"
    jurisdiction = "GB"
    risk_rating = "medium"


class CustodyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustodyAccount
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ACCT{n}")
    venue = factory.SubFactory(VenueFactory)
    network = None
    address = ""
    owner = None
    purpose = "inventory"


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    asset = factory.SubFactory(AssetFactory)
    price_usd = Decimal("100")
    as_of = factory.LazyFunction(timezone.now)
    source = "test"
