"""seed_demo: a realistic small desk, loaded through the services. Idempotent: run it again and
nothing is duplicated (reference data and users are matched by code and name; the trading history is
loaded only into an empty book)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date
from borrowdesk.refdata import services as refdata
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Network, Price, Venue
from compliance.services import set_kyc
from inventory.models import Journal, Loan
from inventory.services import propose_rerate, recall_loan, receive, return_loan
from requests_app.models import BorrowRequest
from requests_app.services import (
    approve_request,
    cancel_request,
    decline_offer,
    expire_requests,
    reject_request,
    submit_request,
)
from treasury.models import SettlementInstruction
from treasury.services import fail_instruction, settle_instruction

ASSETS = [
    ("BTC", "Bitcoin", 8, False, "97250"),
    ("ETH", "Ether", 18, False, "3420.5"),
    ("SOL", "Solana", 9, False, "182.35"),
    ("USDT", "Tether USD", 6, True, "1.0002"),
    ("USDC", "USD Coin", 6, True, "0.9999"),
]
NETWORKS = [("bitcoin", "Bitcoin"), ("ethereum", "Ethereum"), ("solana", "Solana"), ("tron", "Tron")]
# Which networks carry which asset (an on-chain account holds an asset only on one of them).
ASSET_NETWORKS = {
    "BTC": ["bitcoin"],
    "ETH": ["ethereum"],
    "SOL": ["solana"],
    "USDT": ["ethereum", "tron"],
    "USDC": ["ethereum", "solana"],
}
VENUES = [
    ("FORTIS", "Fortis Custody AG", "custodian"),
    ("NORTHX", "NorthX Exchange", "exchange"),
    ("KESTREL", "Kestrel Prime", "prime_broker"),
    ("ONCHAIN", "Self-custody wallets", "onchain"),
    ("HARBOR", "Harbor Bank", "bank"),
]
COUNTERPARTIES = [
    ("ACME", "Acme Trading Ltd", "client", "US", "low"),
    ("BLUEFIN", "Bluefin Capital Pte", "client", "SG", "medium"),
    ("GLOBEX", "Globex Markets LLP", "client", "GB", "medium"),
    ("HIGHTIDE", "Hightide Fund SPC", "client", "KY", "high"),
    ("LENDCO", "Lendco Treasury SA", "lender", "CH", "low"),
    ("ARBDESK", "Internal arbitrage desk", "internal_desk", "GB", "low"),
]
# code, venue, network, address, owner, purpose
ACCOUNTS = [
    ("INV-FORTIS-BTC", "FORTIS", "bitcoin", "bc1qfortis0inventory0btc0000000000000", None, "inventory"),
    ("INV-FORTIS-ETH", "FORTIS", "ethereum", "0x5f0rt15000000000000000000000000000000e7h", None, "inventory"),
    ("INV-NORTHX", "NORTHX", None, "", None, "inventory"),
    ("INV-ONCHAIN-SOL", "ONCHAIN", "solana", "So1anaInv3ntory111111111111111111111111111", None, "inventory"),
    ("TRS-HARBOR-USD", "HARBOR", None, "", None, "treasury"),
    ("COL-FORTIS", "FORTIS", None, "", None, "collateral"),
    ("ACME-BTC", "ONCHAIN", "bitcoin", "bc1qacme0settlement00000000000000000000", "ACME", "settlement"),
    ("ACME-ETH", "ONCHAIN", "ethereum", "0xacme00000000000000000000000000000000e7h", "ACME", "settlement"),
    ("BLUEFIN-NORTHX", "NORTHX", None, "", "BLUEFIN", "settlement"),
    ("GLOBEX-KESTREL", "KESTREL", None, "", "GLOBEX", "settlement"),
    (
        "HIGHTIDE-SOL",
        "ONCHAIN",
        "solana",
        "H1ghT1de5o1111111111111111111111111111111",
        "HIGHTIDE",
        "settlement",
    ),
]
STOCK = [
    ("BTC", "INV-FORTIS-BTC", "180"),
    ("BTC", "INV-NORTHX", "60"),
    ("ETH", "INV-FORTIS-ETH", "3500"),
    ("SOL", "INV-ONCHAIN-SOL", "55000"),
    ("USDT", "INV-NORTHX", "18000000"),
    ("USDC", "INV-NORTHX", "12500000"),
]
USERS = [
    ("trader", ["trader"], ["ACME", "BLUEFIN"]),
    ("trader2", ["trader"], ["GLOBEX", "HIGHTIDE"]),
    ("ops", ["ops"], []),
    ("ops2", ["ops"], []),
    ("ops_senior", ["ops_senior"], []),
    ("risk", ["risk"], []),
    ("compliance", ["compliance"], []),
    ("treasury", ["treasury"], []),
    ("manager", ["manager"], []),
    ("auditor", ["auditor"], []),
    ("admin", ["admin"], []),
    ("pricing", ["pricing"], []),  # the price feed's service account: it posts the marks
]


class Command(BaseCommand):
    help = "Load the demo desk (idempotent)."

    def handle(self, *args, **options):
        users = self._users_and_reference_data()
        if Journal.objects.exists() or BorrowRequest.objects.exists():
            self.stdout.write(
                "Demo desk already loaded: reference data and users checked, book left as it is."
            )
            return
        self._book(users)
        loaded = f"{BorrowRequest.objects.count()} requests, {Journal.objects.count()} journals"
        self.stdout.write(self.style.SUCCESS(f"Demo desk loaded: {loaded}."))

    @transaction.atomic
    def _users_and_reference_data(self) -> dict:
        admin = create_desk_user(
            username="admin", password=settings.DEMO_PASSWORD, roles=["admin"], validate=False
        )
        for symbol, name, decimals, stable, _ in ASSETS:
            if not Asset.objects.filter(symbol=symbol).exists():
                refdata.create_asset(
                    actor=admin, symbol=symbol, name=name, decimals=decimals, is_stablecoin=stable
                )
        for code, name in NETWORKS:
            if not Network.objects.filter(code=code).exists():
                refdata.create_network(actor=admin, code=code, name=name)
        for symbol, codes in ASSET_NETWORKS.items():
            refdata.update_asset(
                actor=admin,
                asset=Asset.objects.get(symbol=symbol),
                networks=list(Network.objects.filter(code__in=codes)),
            )
        for code, name, kind in VENUES:
            if not Venue.objects.filter(code=code).exists():
                refdata.create_venue(actor=admin, code=code, name=name, kind=kind)
        for code, name, kind, jurisdiction, _ in COUNTERPARTIES:
            if not Counterparty.objects.filter(code=code).exists():
                # Rated by compliance with the KYC (below), not here: the rating decides approval paths.
                refdata.create_counterparty(
                    actor=admin, code=code, legal_name=name, kind=kind, jurisdiction=jurisdiction
                )
        for code, venue, network, address, owner, purpose in ACCOUNTS:
            if not CustodyAccount.objects.filter(code=code).exists():
                refdata.create_custody_account(
                    actor=admin,
                    code=code,
                    venue=Venue.objects.get(code=venue),
                    purpose=purpose,
                    network=Network.objects.get(code=network) if network else None,
                    address=address,
                    owner=Counterparty.objects.get(code=owner) if owner else None,
                )
        users = {}
        for username, roles, counterparties in USERS:
            users[username] = create_desk_user(
                username=username,
                password=settings.DEMO_PASSWORD,
                roles=roles,
                validate=False,
                counterparties=[Counterparty.objects.get(code=c) for c in counterparties],
            )
        # The marks come from the price feed (the pricing role), as in production: no approving role
        # or administrator sets the prices that decide approval paths.
        for symbol, *_, price in ASSETS:
            asset = Asset.objects.get(symbol=symbol)
            if not Price.objects.filter(asset=asset).exists():
                refdata.record_price(
                    actor=users["pricing"], asset=asset, price_usd=Decimal(price), source="demo feed"
                )
        return users

    def _book(self, u: dict) -> None:
        cp = {c.code: c for c in Counterparty.objects.all()}
        asset = {a.symbol: a for a in Asset.objects.all()}
        acct = {a.code: a for a in CustodyAccount.objects.all()}
        expiry = business_date() + timedelta(days=365)
        # Compliance clears the counterparties and rates them with the KYC (HIGHTIDE's is pending).
        for code, *_, risk in COUNTERPARTIES:
            set_kyc(
                actor=u["compliance"],
                counterparty=cp[code],
                status="pending" if code == "HIGHTIDE" else "approved",
                risk_rating=risk,
                expires_on=expiry,
            )
        cp = {c.code: c for c in Counterparty.objects.all()}  # as rated now
        for symbol, account, quantity in STOCK:
            with transaction.atomic():
                receive(
                    actor=u["treasury"],
                    asset=asset[symbol],
                    account=acct[account],
                    quantity=Decimal(quantity),
                    source_counterparty=cp["LENDCO"] if symbol in ("BTC", "ETH") else None,
                    cost_rate_bps=Decimal("150") if symbol in ("BTC", "ETH") else None,
                    reference=f"opening {symbol} inventory",
                )

        def submit(trader, counterparty, symbol, quantity, **extra):
            with transaction.atomic():
                return submit_request(
                    actor=u[trader],
                    counterparty=cp[counterparty],
                    asset=asset[symbol],
                    quantity=Decimal(quantity),
                    **extra,
                )

        def approve_fully(request, rate):
            """Walk the request's approval path with a different approver per step."""
            approvers = {"ops": u["ops"], "ops_senior": u["ops_senior"], "risk": u["risk"]}
            while request.status in ("pending_approval", "pending_second_approval"):
                request = approve_request(
                    actor=approvers[request.next_role], request=request, rate_bps=Decimal(rate)
                )
            return request

        def settle_delivery(request):
            instruction = SettlementInstruction.objects.get(loan=request.loan)
            settle_instruction(actor=u["treasury"], instruction=instruction)

        # Waiting in the queues.
        submit(
            "trader",
            "ACME",
            "BTC",
            "2.5",
            urgency="high",
            max_rate_bps=Decimal("650"),
            term_days=30,
            settlement_account=acct["ACME-BTC"],
            notes="Short cover into month end",
        )
        submit("trader", "BLUEFIN", "ETH", "40", urgency="normal", term_days=14)
        submit(
            "trader",
            "ACME",
            "SOL",
            "1200",
            urgency="critical",
            min_quantity=Decimal("800"),
            notes="Needed before the US open",
        )
        submit("trader2", "GLOBEX", "USDT", "150000", urgency="low")
        second = submit("trader2", "GLOBEX", "BTC", "6", urgency="normal", max_rate_bps=Decimal("700"))
        approve_request(actor=u["ops"], request=second, rate_bps=Decimal("480"))  # waits for ops_senior
        submit("trader2", "HIGHTIDE", "SOL", "5000", urgency="high")  # compliance hold: KYC pending

        # An offer above the trader's maximum.
        offer = submit("trader", "BLUEFIN", "BTC", "1.2", max_rate_bps=Decimal("400"), term_days=7)
        approve_request(actor=u["ops"], request=offer, rate_bps=Decimal("525"))
        declined = submit("trader", "ACME", "ETH", "25", max_rate_bps=Decimal("300"))
        approve_request(actor=u["ops2"], request=declined, rate_bps=Decimal("450"))
        decline_offer(actor=u["trader"], request=declined)

        # Approved, awaiting delivery (one failed attempt on record).
        pending = submit("trader", "ACME", "BTC", "1.5", max_rate_bps=Decimal("600"))
        pending = approve_request(actor=u["ops"], request=pending, rate_bps=Decimal("450"))
        fail_instruction(
            actor=u["treasury"],
            instruction=SettlementInstruction.objects.get(loan=pending.loan),
            reason="Custodian withdrawal window closed; retry after 14:00 UTC",
        )

        # Delivered and on loan: one with a recall, one with a rerate proposal, one returned in full.
        for trader, counterparty, symbol, quantity, rate in [
            ("trader", "ACME", "BTC", "3", "425"),
            ("trader", "BLUEFIN", "ETH", "120", "380"),
            ("trader2", "GLOBEX", "SOL", "9000", "900"),
            ("trader", "ACME", "USDC", "200000", "650"),
        ]:
            request = approve_fully(submit(trader, counterparty, symbol, quantity, term_days=30), rate)
            settle_delivery(request)
        loans = {
            loan.asset.symbol: loan for loan in Loan.objects.filter(status="active").select_related("asset")
        }
        recall_loan(
            actor=u["ops"],
            loan=loans["ETH"],
            quantity=Decimal("40"),
            due_at=timezone.now() + timedelta(days=2),
        )
        propose_rerate(
            actor=u["ops"],
            loan=loans["SOL"],
            rate_bps=Decimal("1100"),
            effective_date=business_date() + timedelta(days=1),
        )
        return_loan(actor=u["ops"], loan=loans["USDC"], quantity=Decimal("200000"))
        # Fees accrue once a business date has ended: the morning job charges today's loans tomorrow.

        # Decided the other ways.
        rejected = submit("trader2", "GLOBEX", "ETH", "800", urgency="low")
        reject_request(actor=u["ops"], request=rejected, reason="Exceeds the counterparty's limit")
        cancel_request(actor=u["trader"], request=submit("trader", "ACME", "USDT", "50000"))
        stale = submit("trader", "BLUEFIN", "SOL", "300")
        BorrowRequest.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        expire_requests()
