"""The approval matrix in the Django admin: administrators edit it; a rule no one could follow is refused
by the form and by the database."""

import pytest
from django.db import IntegrityError, transaction

from requests_app.models import ApprovalRule

ADD = "/admin/requests_app/approvalrule/add/"


def _form(**overrides):
    return {
        "name": "Huge",
        "precedence": "99",
        "min_notional_usd": "10000000",
        "max_notional_usd": "",
        "risk_ratings": "",
        "steps": "ops,ops_senior,risk",
        "is_active": "on",
        **overrides,
    }


def test_an_administrator_adds_a_rule(client, adam):
    client.force_login(adam)
    response = client.post(ADD, _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ApprovalRule.objects.get(precedence=99).steps == ["ops", "ops_senior", "risk"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", "ops,opps", "Each step must be one of: ops, ops_senior, risk."),
        ("steps", "trader", "Each step must be one of: ops, ops_senior, risk."),
        ("risk_ratings", "low,extreme", "Risk ratings must be among: low, medium, high."),
    ],
)
def test_a_rule_naming_an_unknown_role_or_rating_is_a_form_error(client, adam, field, value, message):
    client.force_login(adam)
    before = list(ApprovalRule.objects.values_list("pk", "steps"))
    response = client.post(ADD, _form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(ApprovalRule.objects.values_list("pk", "steps")) == before


def test_the_database_refuses_a_step_that_is_not_an_approver_role(desk_config):
    with pytest.raises(IntegrityError, match="rule_steps_are_approver_roles"), transaction.atomic():
        ApprovalRule.objects.filter(pk=ApprovalRule.objects.first().pk).update(steps=["ops", "trader"])
