"""AML alerts and rules through the API and the pages: who may see, dismiss and configure; bad rule
parameters and bad dismissals are refused with nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from compliance.aml import services as aml
from compliance.aml.models import AlertStatus, AmlAlert, AmlRule
from compliance.cases.models import Case, CaseEvent

ALERTS = "/api/v1/compliance/aml/alerts/"
RULES = "/api/v1/compliance/aml/rules/"


@pytest.fixture(autouse=True)
def rules(db):
    return {rule.code: rule for rule in aml.ensure_default_rules()}


@pytest.fixture
def alert(rules, acme):
    """A wash-pattern alert of ACME (hand-built), routed to a case as the rules route theirs."""
    made = AmlAlert.objects.create(
        rule=rules["wash_pattern"],
        rule_version=1,
        counterparty=acme,
        subject="3 loans borrowed and returned within 24 hours in 7 days",
        score=Decimal(3),
        figures={"round_trips": 3, "fastest_hours": "1.50", "parameters": rules["wash_pattern"].parameters},
        loan_ids=[11, 12, 13],
        dedup_key="wash_pattern:counterparty:1:loan:11",
        detected_by="event",
    )
    assert aml.route_open_alerts() == 1
    made.refresh_from_db()
    return made


def test_an_alert_opens_an_aml_case_with_the_alert_as_evidence(alert):
    case = Case.objects.get(pk=alert.case_id)
    assert (case.kind, case.counterparty.code, case.priority) == ("aml", "ACME", "high")
    assert CaseEvent.objects.filter(case=case, evidence_type="aml_alert", evidence_id=alert.pk).exists()
    assert alert.status == AlertStatus.IN_CASE
    assert aml.route_open_alerts() == 0  # routed once


def test_a_second_alert_of_the_counterparty_joins_its_open_case(alert, rules, acme):
    other = AmlAlert.objects.create(
        rule=rules["new_address"],
        rule_version=1,
        counterparty=acme,
        subject="Settlement 9: 150,000 USD of BTC to a new address bc1qx",
        score=Decimal(150000),
        settlement_id=9,
        dedup_key="new_address:settlement:9",
        detected_by="schedule",
    )
    aml.route_open_alerts()
    other.refresh_from_db()
    assert other.case_id == alert.case_id
    assert Case.objects.filter(kind="aml").count() == 1


# --- API -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["carl", "audrey", "mona", "adam"])
def test_compliance_and_oversight_list_alerts_with_filters(api, personas, persona, alert):
    client = api.as_user(personas[persona])
    [row] = client.get(ALERTS + "?rule=wash_pattern&status=in_case&counterparty=ACME").json()["results"]
    assert (row["id"], row["rule"], row["loan_ids"], row["case"]) == (
        alert.pk,
        "wash_pattern",
        [11, 12, 13],
        alert.case_id,
    )
    assert row["score"] == "3.0000"
    assert client.get(ALERTS + "?rule=new_address").json()["results"] == []
    assert client.get(ALERTS + "?counterparty=GLOBEX").json()["results"] == []


@pytest.mark.parametrize("persona", ["alice", "bob", "rita", "tess", "pete"])
def test_other_roles_do_not_see_alerts(api, personas, persona, alert):
    response = api.as_user(personas[persona]).get(ALERTS)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_bad_filter_is_a_400(api, carl, alert):
    response = api.as_user(carl).get(ALERTS + "?status=closed")
    assert response.status_code == 400


def test_compliance_dismisses_an_alert_with_a_reason(api, carl, alert):
    response = api.as_user(carl).post(ALERTS + f"{alert.pk}/dismiss/", {"reason": "Market maker's hedging"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["dismissed_by"], body["dismissal_reason"]) == (
        "dismissed",
        "carl",
        "Market maker's hedging",
    )
    again = api.as_user(carl).post(ALERTS + f"{alert.pk}/dismiss/", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_dismissal_without_a_good_reason_is_refused_and_changes_nothing(api, carl, alert, reason):
    response = api.as_user(carl).post(ALERTS + f"{alert.pk}/dismiss/", {"reason": reason})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.IN_CASE and alert.dismissed_by is None


@pytest.mark.parametrize("persona", ["audrey", "mona", "bob"])
def test_only_compliance_dismisses(api, personas, persona, alert):
    response = api.as_user(personas[persona]).post(ALERTS + f"{alert.pk}/dismiss/", {"reason": "no"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.IN_CASE


def test_dismissing_an_unknown_alert_is_a_404(api, carl, alert):
    assert api.as_user(carl).post(ALERTS + "999999/dismiss/", {"reason": "x"}).status_code == 404


def test_the_rules_are_listed_with_their_parameters(api, audrey):
    body = api.as_user(audrey).get(RULES).json()
    assert [r["code"] for r in body] == ["large_request", "new_address", "wash_pattern"]
    assert body[2]["parameters"] == {"min_loans": 3, "window_hours": 24, "lookback_days": 7}


def test_compliance_changes_a_rule_and_its_version_goes_up(api, carl):
    response = api.as_user(carl).put(
        RULES + "wash_pattern/",
        {"enabled": True, "parameters": {"min_loans": 4, "window_hours": "12", "lookback_days": 3}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    rule = AmlRule.objects.get(code="wash_pattern")
    assert rule.parameters == {"min_loans": 4, "window_hours": 12, "lookback_days": 3}
    assert (rule.version, rule.updated_by.username) == (2, "carl")


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"min_loans": 1, "window_hours": 24, "lookback_days": 7}, "min_loans"),  # below its minimum
        ({"min_loans": 3, "window_hours": 0, "lookback_days": 7}, "window_hours"),
        ({"min_loans": 3, "window_hours": 24, "lookback_days": 366}, "lookback_days"),
        ({"min_loans": 2.5, "window_hours": 24, "lookback_days": 7}, "min_loans"),  # not whole
        ({"min_loans": "three", "window_hours": 24, "lookback_days": 7}, "min_loans"),
        ({"min_loans": "NaN", "window_hours": 24, "lookback_days": 7}, "min_loans"),
        ({"min_loans": True, "window_hours": 24, "lookback_days": 7}, "min_loans"),
        ({"window_hours": 24, "lookback_days": 7}, "min_loans"),  # missing
        ({"min_loans": 3, "window_hours": 24, "lookback_days": 7, "colour": 1}, "colour"),  # unknown
    ],
)
def test_bad_rule_parameters_are_refused_naming_the_field_and_nothing_changes(api, carl, parameters, field):
    response = api.as_user(carl).put(
        RULES + "wash_pattern/", {"enabled": True, "parameters": parameters}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["fields"], body
    rule = AmlRule.objects.get(code="wash_pattern")
    assert (rule.version, rule.parameters["min_loans"]) == (1, 3)


def test_the_multiple_must_be_above_one(api, carl, rules):
    params = {**rules["large_request"].parameters, "multiple": "1"}
    response = api.as_user(carl).put(
        RULES + "large_request/", {"enabled": True, "parameters": params}, format="json"
    )
    assert response.status_code == 400 and "multiple" in response.json()["fields"]


@pytest.mark.parametrize("persona", ["audrey", "mona", "rita", "bob"])
def test_only_compliance_configures_rules(api, personas, persona, rules):
    response = api.as_user(personas[persona]).put(
        RULES + "new_address/", {"enabled": False, "parameters": {"min_usd": "1"}}, format="json"
    )
    assert response.status_code == 403
    assert AmlRule.objects.get(code="new_address").enabled is True


# --- pages ---------------------------------------------------------------------------------------


def test_the_alerts_page_lists_and_filters(login, carl, alert):
    page = login(carl).get("/compliance/aml/alerts/?status=in_case&counterparty=ACME")
    assert page.status_code == 200
    text = page.content.decode()
    assert "3 loans borrowed and returned within 24 hours in 7 days" in text
    assert "In a case" in text and "Borrow and return, repeated" in text
    empty = login(carl).get("/compliance/aml/alerts/?status=dismissed").content.decode()
    assert "3 loans borrowed" not in empty


def test_the_alert_page_shows_its_evidence_and_case(login, audrey, alert):
    text = login(audrey).get(f"/compliance/aml/alerts/{alert.pk}/").content.decode()
    # The auditor may open loans: the evidence links to each loan's page.
    for loan_id in (11, 12, 13):
        assert f'href="/inventory/loans/{loan_id}/"' in text
    assert f"Case {alert.case_id}" in text
    assert "Dismiss the alert" not in text  # the auditor reads


def test_compliance_sees_the_evidence_without_links_it_may_not_open(login, carl, alert):
    text = login(carl).get(f"/compliance/aml/alerts/{alert.pk}/").content.decode()
    assert "Loan 11" in text and "/inventory/loans/11/" not in text  # compliance does not see loans
    assert "Dismiss the alert" in text


def test_dismissing_on_the_page_without_a_reason_shows_the_error(login, carl, alert):
    page = login(carl).post(f"/compliance/aml/alerts/{alert.pk}/dismiss/", {"reason": ""})
    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.IN_CASE


def test_dismissing_on_the_page(login, carl, alert):
    page = login(carl).post(f"/compliance/aml/alerts/{alert.pk}/dismiss/", {"reason": "Known hedger"})
    assert page.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.dismissal_reason) == ("dismissed", "Known hedger")


def test_the_rules_page_refuses_a_bad_parameter_beside_its_field(login, carl):
    page = login(carl).post("/compliance/aml/rules/new_address/", {"enabled": "on", "min_usd": "-5"})
    assert page.status_code == 200
    assert "Minimum value (USD) must be at least 0 and at most" in page.content.decode()
    assert AmlRule.objects.get(code="new_address").version == 1


def test_the_rules_page_saves_a_change(login, carl):
    page = login(carl).post("/compliance/aml/rules/new_address/", {"enabled": "on", "min_usd": "250,000"})
    assert page.status_code == 302
    rule = AmlRule.objects.get(code="new_address")
    assert (rule.parameters, rule.version) == ({"min_usd": "250000"}, 2)


def test_the_auditor_reads_the_rules_page_without_forms(login, audrey):
    text = login(audrey).get("/compliance/aml/rules/").content.decode()
    assert "Minimum value (USD)" in text and "100,000" in text
    assert "/compliance/aml/rules/new_address/" not in text  # no form to post
    assert login(audrey).post("/compliance/aml/rules/new_address/", {"min_usd": "1"}).status_code == 403


# --- query counts --------------------------------------------------------------------------------


def _more_alerts(rules, n: int) -> None:
    from tests.refdata.factories import CounterpartyFactory

    for i in range(n):
        AmlAlert.objects.create(
            rule=rules["new_address"],
            rule_version=1,
            counterparty=CounterpartyFactory(code=f"CP{i}"),
            subject=f"Settlement {i}: 150,000 USD of BTC to a new address",
            score=Decimal(150000),
            settlement_id=1000 + i,
            dedup_key=f"new_address:settlement:{1000 + i}",
            detected_by="schedule",
        )
    aml.route_open_alerts()


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return queries


def test_the_alerts_page_and_api_run_a_fixed_number_of_queries(
    login, api, carl, alert, rules, django_assert_num_queries
):
    page, client = login(carl), api.as_user(carl)
    few_page = len(_queries(page, "/compliance/aml/alerts/"))
    few_api = len(_queries(client, ALERTS))
    _more_alerts(rules, 4)
    # Whatever the rows: the session and user (or token), the roles, the count, and one page of alerts
    # joined with their rule, counterparty, case and dismissing officer.
    with django_assert_num_queries(few_page):
        text = page.get("/compliance/aml/alerts/").content.decode()
    assert all(f"CP{i}" in text for i in range(4))
    with django_assert_num_queries(few_api):
        assert len(client.get(ALERTS).json()["results"]) == 5
