"""The access matrix, generated from the URL patterns: every page and endpoint × every role × anonymous.

Every pattern's view declares the action it serves (``@requires`` on a page, ``access`` on an API
view; borrowdesk/access/declared.py); a view that declares none fails here with its name, so every
endpoint a later issue adds is covered by construction. Each pattern is requested with GET and every
write method it serves (with an empty body: permission is decided before input is read), as each
role's persona and anonymously, with its URL naming real objects in the trader's scope. Then:

- allowed (the role holds the action, or it is PUBLIC / SIGNED_IN) ⇔ the answer is neither 401 nor 403;
- denied is 403 for a signed-in user, 401 for anonymous API calls, a redirect to the login page for
  anonymous page requests.

The Django admin is left out: Django gates it by ``is_staff`` (which only the admin role sets).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from borrowdesk.access.declared import ANY_METHOD, declared_actions
from borrowdesk.access.navigation import navigation_for
from borrowdesk.access.policy import PUBLIC, SIGNED_IN, roles_for
from borrowdesk.access.roles import ROLES
from tests.conftest import PASSWORD, ROLE_PERSONA

SKIPPED_NAMESPACES = {"admin"}  # gated by Django (is_staff)
PAGE_WRITES = ("POST",)  # a page serves at most GET and POST forms


def url_patterns(resolver=None, namespace: str = ""):
    """(full URL name, pattern) for every pattern outside the skipped namespaces."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", entry


PATTERNS = sorted(url_patterns(), key=lambda item: item[0])


def methods_of(callback) -> dict[str, str]:
    """Method → declared action for one pattern: GET and each write method it serves."""
    actions = declared_actions(callback)
    if ANY_METHOD in actions:  # a page: GET and POST, each under its own action or the page's
        return {m: actions.get(m, actions[ANY_METHOD]) for m in ("GET", *PAGE_WRITES)}
    return actions


def test_every_pattern_declares_an_action():
    undeclared = [name for name, pattern in PATTERNS if not methods_of(pattern.callback)]
    assert undeclared == [], (
        f"These views declare no action (see borrowdesk/access/declared.py): {undeclared}"
    )


def test_every_declared_action_is_in_the_table():
    for _name, pattern in PATTERNS:
        for action in methods_of(pattern.callback).values():
            roles_for(action)  # raises UnknownAction for a name not in ACTIONS


@pytest.fixture
def world(personas, acme, desk_config, settings, tmp_path):
    """Real objects in alice's scope (ACME), made through the services, for every pattern's kwargs."""
    from borrowdesk.access.services import create_desk_user
    from borrowdesk.refdata import services as refdata
    from compliance.cases.models import Case
    from compliance.models import KycProfile, SanctionsMatch
    from compliance.sanctions.services import import_sanctions_list, rescreen_all
    from inventory.models import Journal
    from requests_app.services import approve_request, submit_request
    from tests.compliance.conftest import OFACTEST
    from tests.inventory.factories import desk_asset, firm_account, stock
    from tests.refdata.factories import CounterpartyFactory, CustodyAccountFactory, NetworkFactory
    from treasury.models import SettlementInstruction

    btc = desk_asset("BTC", 8, "50000")
    ethereum = NetworkFactory(code="ethereum", name="Ethereum")
    inventory = firm_account()
    stock(btc, inventory, "10", actor=personas["tess"])
    settle_to = CustodyAccountFactory(
        code="ACME-SETTLE", venue=inventory.venue, owner=acme, purpose="settlement"
    )
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    approved = approve_request(
        actor=personas["bob"],
        request=submit_request(actor=personas["alice"], counterparty=acme, asset=btc, quantity=Decimal("2")),
        rate_bps=Decimal("400"),
    )
    pending = submit_request(actor=personas["alice"], counterparty=acme, asset=btc, quantity=Decimal("1"))
    # An override awaiting confirmation, posted by another administrator than the admin persona (who
    # may then confirm it: the poster's own confirmation is a segregation-of-duties 403).
    adele = create_desk_user(username="adele", password=PASSWORD, roles=["admin"])
    override = refdata.record_price(actor=adele, asset=btc, price_usd=Decimal("1"), source="manual")
    collateral = _collateral_world(acme, btc)
    call = _margin_call(acme)
    # A sanctions list in force and a counterparty it names (the 17-entry OFAC subset, beside the project).
    sanctions = import_sanctions_list(actor=None, source_format="ofac-sdn-csv", path=OFACTEST, rescreen=False)
    CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.")
    rescreen_all()
    settings.REGULATOR_EVIDENCE_DIR = tmp_path / "regulator-evidence"
    travel_rule = _travel_rule_world(SettlementInstruction.objects.get(loan=approved.loan), personas["carl"])
    statement = _statement(inventory, btc)
    return {
        "statement": statement,
        **collateral,
        **_aml_world(acme),
        **travel_rule,
        "asset": btc.symbol,
        "network": ethereum.code,
        "venue": inventory.venue.code,
        "counterparty": acme.code,
        "account": settle_to.code,
        "loan": approved.loan.pk,
        "request": pending.pk,
        "journal": Journal.objects.order_by("id").values_list("id", flat=True).first(),
        "settlement": SettlementInstruction.objects.get(loan=approved.loan).pk,
        "price": override.pk,
        "margin_call": call.pk,
        "list_version": sanctions.version.pk,
        "match": SanctionsMatch.objects.get(counterparty__code="SUEXOTC").pk,
        "case": Case.objects.get(counterparty__code="SUEXOTC").pk,  # opened by the match
    }


def _aml_world(acme) -> dict:
    """An AML alert of ACME's (AML monitoring, issue 10) and the rules."""
    from compliance.aml.models import AmlAlert
    from compliance.aml.services import ensure_default_rules

    rules = {rule.code: rule for rule in ensure_default_rules()}
    alert = AmlAlert.objects.create(
        rule=rules["new_address"],
        rule_version=1,
        counterparty=acme,
        subject="Settlement 1: 150,000 USD of BTC to a new address",
        score=Decimal(150000),
        dedup_key="new_address:settlement:matrix",
        detected_by="event",
    )
    return {"aml_alert": alert.pk, "aml_rule": "new_address"}


def _travel_rule_world(leg, officer) -> dict:
    """The settlement leg's travel-rule message, and a regulator request with one evidence file."""
    from compliance.regulator.services import attach_evidence, log_request
    from compliance.travel_rule.services import prepare_message
    from treasury.services import travel_rule_leg

    message = prepare_message(leg=travel_rule_leg(leg))
    now = timezone.now()
    request = log_request(
        actor=officer, regulator="FCA", subject="Records", received_at=now, due_at=now + timedelta(days=3)
    )
    evidence = attach_evidence(actor=officer, request=request, name="note.txt", content=b"evidence")
    return {"travel_rule_message": message.pk, "regulator_request": request.pk, "evidence": evidence.pk}


def _statement(account, asset) -> int:
    """A custodian statement of the firm's inventory account (issue 11), as a feed imports it."""
    from reconciliation.statements.services import import_statement

    outcome = import_statement(
        actor=None,
        format="csv",
        channel="feed",
        as_of=timezone.now(),
        data=f"account,asset,quantity\n{account.code},{asset.symbol},10\n".encode(),
    )
    return outcome.statement_ids[0]


def _collateral_world(acme, btc) -> dict:
    """Risk configuration (a loosening pending approval by another risk user than rita, a limit, an
    agreement), a stress scenario and an ACME pledge."""
    from collateral.services.config import (
        propose_agreement,
        propose_haircut_rule,
        propose_limit,
        save_stress_scenario,
    )
    from tests.collateral.factories import desk_user, pledge

    proposer = desk_user("risk-proposer", "risk")
    rule = propose_haircut_rule(actor=proposer, asset=btc, haircut_pct=Decimal(10))
    limit = propose_limit(actor=proposer, counterparty=acme, max_exposure_usd=Decimal(1000000))
    agreement = propose_agreement(
        actor=proposer,
        counterparty=acme,
        return_ratio=Decimal("1.75"),
        required_ratio=Decimal("1.5"),
        warning_ratio=Decimal("1.4"),
        call_ratio=Decimal("1.2"),
        critical_ratio=Decimal("1.1"),
        cure_period_hours=24,
        call_due_hours=24,
    )
    scenario = save_stress_scenario(actor=proposer, name="crypto crash", markdowns={"BTC": Decimal(30)})
    return {
        "haircut_rule": rule.pk,
        "limit": limit.pk,
        "agreement": agreement.pk,
        "scenario": scenario.pk,
        "pledge": pledge(acme, btc, "1").pk,
    }


def _margin_call(counterparty):
    """An open margin call of ACME's, as the revaluation would have issued it."""
    from collateral.models import MarginCall

    now = timezone.now()
    return MarginCall.objects.create(
        counterparty=counterparty,
        amount_usd=Decimal("1000"),
        initial_amount_usd=Decimal("1000"),
        exposure_usd=Decimal("10000"),
        collateral_value_usd=Decimal("14000"),
        coverage_ratio=Decimal("1.4"),
        required_ratio=Decimal("1.5"),
        issued_at=now,
        due_at=now + timedelta(hours=24),
        updated_at=now,
    )


# The objects a pattern's URL names, by URL name: a new pattern with arguments is added here.
def kwargs_for(name: str, w: dict) -> dict:
    table = {
        "refdata:asset_detail": {"symbol": w["asset"]},
        "refdata:network_detail": {"code": w["network"]},
        "refdata:venue_detail": {"code": w["venue"]},
        "refdata:counterparty_detail": {"code": w["counterparty"]},
        "refdata:account_detail": {"code": w["account"]},
        "compliance:set_kyc": {"code": w["counterparty"]},
        "compliance:kyc_detail": {"code": w["counterparty"]},
        "compliance:kyc_upload": {"code": w["counterparty"]},
        "compliance:kyc_document": {"code": w["counterparty"], "pk": 1},
        "kyc-documents": {"counterparty": w["counterparty"]},
        "kyc-download-document": {"counterparty": w["counterparty"], "document_id": 1},
        "collateral:counterparty_risk": {"code": w["counterparty"]},
        "sanctions-list-detail": {"pk": w["list_version"]},
        "asset-detail": {"symbol": w["asset"]},
        "network-detail": {"code": w["network"]},
        "venue-detail": {"code": w["venue"]},
        "counterparty-detail": {"code": w["counterparty"]},
        "custody-account-detail": {"code": w["account"]},
        "kyc-detail": {"counterparty": w["counterparty"]},
        "price-confirm": {"pk": w["price"]},
        "journal-detail": {"pk": w["journal"]},
        "settlement-detail": {"pk": w["settlement"]},
        "settlement-settle": {"pk": w["settlement"]},
        "settlement-fail": {"pk": w["settlement"]},
        "treasury:settle": {"pk": w["settlement"]},
        "treasury:fail": {"pk": w["settlement"]},
        "inventory:rerate_decide": {"pk": w["loan"], "rerate_id": 1, "decision": "accept"},
        "loan-accept-rerate": {"pk": w["loan"], "rerate_id": 1},
        "loan-reject-rerate": {"pk": w["loan"], "rerate_id": 1},
        "collateral:approve": {"kind": "haircut", "pk": w["haircut_rule"]},
        "collateral:reject": {"kind": "haircut", "pk": w["haircut_rule"]},
        "scenario-detail": {"pk": w["scenario"]},
        "pledge-detail": {"pk": w["pledge"]},
        "statement-detail": {"pk": w["statement"]},
        "reconciliation:statement_detail": {"pk": w["statement"]},
    }
    if name in table:
        return table[name]
    if name.startswith(("aml-alert-", "compliance:aml_alert")):
        return {"pk": w["aml_alert"]}
    if name.startswith(("aml-rule-", "compliance:aml_rule")):
        return {"code": w["aml_rule"]}
    if name in ("case-download", "compliance:case_attachment"):
        return {"pk": w["case"], "attachment_id": 1}
    if name.startswith(("case-", "compliance:case_")):
        return {"pk": w["case"]}
    if name.startswith(("sanctions-match-", "compliance:match_")):
        return {"pk": w["match"]}
    if name.startswith(("loan-", "inventory:loan_")):
        return {"pk": w["loan"]}
    if name.startswith(("borrow-request-", "requests_app:")):
        return {"pk": w["request"]}
    for prefix, key in (("haircut-rule-", "haircut_rule"), ("limit-", "limit"), ("agreement-", "agreement")):
        if name.startswith(prefix):
            return {"pk": w[key]}
    if name.startswith(("margin-call-", "collateral:margin_call_")):
        return {"pk": w["margin_call"]}
    if name.startswith(("travel-rule-", "compliance:travel_rule_")):
        return {"pk": w["travel_rule_message"]}
    if name.startswith(("regulator-request-", "compliance:regulator_")):
        return {"pk": w["regulator_request"], "evidence_id": w["evidence"]}
    if name.startswith(("reconciliation-run-", "reconciliation-break-", "reconciliation_runs:")):
        return {"pk": 1}  # none exists: an allowed role gets a 404, a refused one its 403 first
    return {}


def _pattern_kwargs(pattern: URLPattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex)


def _allowed(role: str | None, action: str) -> bool:
    if action == PUBLIC:
        return True
    if role is None:
        return False
    return action == SIGNED_IN or role in roles_for(action)


def _request(client, method: str, url: str, is_api: bool):
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url)
    return call(url, {}, format="json") if is_api else call(url, {})


def test_every_pattern_answers_each_role_as_the_policy_says(personas, world):
    identities: list[tuple[str | None, object]] = [(None, None)]
    identities += [(role, personas[ROLE_PERSONA[role]]) for role in ROLES]
    clients: dict[tuple[str | None, bool], object] = {}
    for role, user in identities:
        api_client, page_client = APIClient(), Client()
        if user is not None:
            token = Token.objects.get_or_create(user=user)[0].key
            api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            page_client.force_login(user)
        clients[role, True], clients[role, False] = api_client, page_client
    wrong: list[str] = []
    checked = 0
    for name, pattern in PATTERNS:
        wanted = _pattern_kwargs(pattern)
        kwargs = {k: v for k, v in kwargs_for(name, world).items() if k in wanted}
        missing = wanted - set(kwargs)
        assert not missing, f"{name}: add the objects its URL names to kwargs_for ({sorted(missing)})"
        url = reverse(name, kwargs=kwargs or None)
        is_api = url.startswith("/api/")
        for method, action in methods_of(pattern.callback).items():
            for role, user in identities:
                client = clients[role, is_api]
                response = _request(client, method, url, is_api)
                if user is not None and not is_api and "_auth_user_id" not in client.session:
                    client.force_login(user)  # the page logged them out (logout): sign in again
                if user is not None and is_api and not Token.objects.filter(user=user).exists():
                    # DELETE /api/v1/auth/token/ revoked their token: give them a new one
                    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
                checked += 1
                status = response.status_code
                who = role or "anonymous"
                if _allowed(role, action):
                    if status in (401, 403) or (not is_api and _to_login(response)):
                        body = response.content[:200].decode(errors="replace")
                        wrong.append(
                            f"{method} {url} ({name}, {action}) as {who}: {status} {body}, expected allowed"
                        )
                elif role is None and is_api:
                    if status != 401:
                        wrong.append(
                            f"{method} {url} ({name}, {action}) as anonymous: {status}, expected 401"
                        )
                elif role is None:
                    if not _to_login(response):
                        wrong.append(
                            f"{method} {url} ({name}, {action}) as anonymous: {status}, expected login"
                        )
                elif status != 403:
                    wrong.append(f"{method} {url} ({name}, {action}) as {who}: {status}, expected 403")
    assert wrong == [], "\n".join(wrong)
    assert checked > 500  # every pattern × method × identity really ran


def _to_login(response) -> bool:
    """Sent to sign in first (the login page with ``next=``; logging out also lands on the login page)."""
    location = response.get("Location", "") if response.status_code == 302 else ""
    return location.startswith(resolve_url(settings.LOGIN_URL)) and "next=" in location


@pytest.mark.parametrize("role", ROLES)
def test_every_navigation_link_opens_for_the_role(client, personas, world, role):
    user = personas[ROLE_PERSONA[role]]
    client.force_login(user)
    links = navigation_for(user)
    assert links or role == "pricing"  # every person has somewhere to go
    for link in links:
        response = client.get(link["url"])
        assert response.status_code == 200, (
            f"{role}: {link['label']} ({link['url']}) answered {response.status_code}"
        )


def test_the_navigation_offers_what_the_policy_allows_and_nothing_else(personas):
    assert [link["label"] for link in navigation_for(personas["alice"])] == [
        "New request",
        "My requests",
        "Borrow book",
        "Coverage",
        "Margin calls",
        "Limit breaches",  # their counterparties' only
        "Pledges",
        "Concentration",
        "Counterparties",
        "Prices",
    ]
    compliance = [link["label"] for link in navigation_for(personas["carl"])]
    assert "KYC" in compliance and "Borrow book" not in compliance and "Approval queue" not in compliance
