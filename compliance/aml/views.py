"""AML pages: the alerts (filters by rule, status, counterparty), one alert with its evidence and the
dismissal, and the rules' configuration (compliance edits, oversight reads)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.formatting import qty
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from compliance.aml import selectors, services
from compliance.aml.filters import AmlAlertFilter
from compliance.aml.forms import DismissForm, RuleForm
from compliance.aml.models import AlertStatus, AmlAlert, AmlRule
from compliance.aml.rules import PARAMETERS


def _alert_link(alert) -> str:
    return reverse("compliance:aml_alert", args=[alert.pk])


@requires("compliance.aml.view")
def alerts(request):
    """Every AML alert, newest first; open ones are those not yet in a case nor dismissed."""
    return table_page(
        request,
        title="AML alerts",
        queryset=selectors.alerts(),
        filterset_class=AmlAlertFilter,
        csv_name="aml-alerts",
        empty="No AML alerts: the rules run on every request, return and settlement leg, and every hour.",
        intro="Each alert opens or joins its counterparty's AML case; work the case, or dismiss an alert "
        "with a reason.",
        actions=[{"label": "Rules", "url": reverse("compliance:aml_rules")}],
        columns=[
            Column("Alert", "pk", sort="id", numeric=True, link=_alert_link),
            Column("Status", "status", sort="status", badge=True),
            Column("Rule", "rule.get_code_display", sort="rule__code"),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Finding", "subject", link=_alert_link),
            Column("Measure", "measure", numeric=True),
            Column("Case", "case_id", numeric=True),
            Column("Raised", "created_at", sort="created_at"),
            Column("By", "detected_by"),
        ],
    )


def _evidence(request, alert: AmlAlert) -> list[dict]:
    """Links to the alert's evidence, each where the user may open it (the facts are on the page)."""
    links = []
    if alert.request_id is not None:
        links.append(
            {
                "label": f"Borrow request {alert.request_id}",
                "url": reverse("requests_app:detail", args=[alert.request_id])
                if allows(request.user, "requests.view")
                else "",
            }
        )
    for loan_id in alert.loan_ids:
        links.append(
            {
                "label": f"Loan {loan_id}",
                "url": reverse("inventory:loan_detail", args=[loan_id])
                if allows(request.user, "loans.view")
                else "",
            }
        )
    if alert.settlement_id is not None:
        links.append(
            {
                "label": f"Settlement leg {alert.settlement_id}",
                "url": reverse("treasury:settlements") + f"?id={alert.settlement_id}"
                if allows(request.user, "settlements.view")
                else "",
            }
        )
    return links


def _case_url(alert: AmlAlert) -> str:
    """The alert's case page, once the cases pages exist (compliance:case_detail)."""
    if alert.case_id is None:
        return ""
    try:
        return reverse("compliance:case_detail", args=[alert.case_id])
    except NoReverseMatch:
        return ""


@requires("compliance.aml.view")
def alert_detail(request, pk: int):
    """One alert: what was found, the figures and the rule's parameters it was found under, its
    evidence, its case, and the dismissal."""
    try:
        alert = selectors.alert_detail(pk)
    except AmlAlert.DoesNotExist:
        raise Http404("No such alert.") from None
    return _render_detail(request, alert, DismissForm())


def _render_detail(request, alert: AmlAlert, form, status: int = 200):
    figures = dict(alert.figures or {})
    parameters = figures.pop("parameters", {})
    labels = {spec.name: spec.label for spec in PARAMETERS.get(alert.rule.code, [])}
    return render(
        request,
        "compliance/aml_alert.html",
        {
            "alert": alert,
            "figures": sorted(figures.items()),
            "parameters": [(labels.get(name, name), value) for name, value in sorted(parameters.items())],
            "loans": selectors.alert_loans(alert),
            "evidence": _evidence(request, alert),
            "case_url": _case_url(alert),
            "may_dismiss": allows(request.user, "compliance.aml.work")
            and alert.status != AlertStatus.DISMISSED,
            "form": form,
        },
        status=status,
    )


@requires("compliance.aml.work")
@require_POST
def alert_dismiss(request, pk: int):
    try:
        alert = selectors.alert_detail(pk)
    except AmlAlert.DoesNotExist:
        raise Http404("No such alert.") from None
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            services.dismiss_alert(actor=request.user, alert=alert, reason=form.cleaned_data["reason"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Alert {alert.pk} dismissed.")
            return redirect("compliance:aml_alert", pk=alert.pk)
    return _render_detail(request, selectors.alert_detail(pk), form)


@requires("compliance.aml.view")
def rules(request):
    """The rules, their parameters and versions; compliance edits them here."""
    return _render_rules(request, {})


def _render_rules(request, forms: dict):
    may_edit = allows(request.user, "compliance.aml.configure")
    shown = []
    for rule in selectors.rules():
        form = forms.get(rule.code) or RuleForm(
            code=rule.code, initial={"enabled": rule.enabled, **_grouped(rule.parameters)}
        )
        shown.append({"rule": rule, "form": form, "parameters": selectors.rule_parameters(rule)})
    return render(request, "compliance/aml_rules.html", {"rules": shown, "may_edit": may_edit})


def _grouped(parameters: dict) -> dict:
    """Parameters as the form shows them: thousands separated (100,000), as the desk reads figures."""
    return {name: qty(value) for name, value in parameters.items()}


@requires("compliance.aml.configure")
@require_POST
def rule_edit(request, code: str):
    rule = AmlRule.objects.filter(code=code).first()
    if rule is None:
        raise Http404("No such rule.")
    form = RuleForm(request.POST, code=code)
    if form.is_valid():
        try:
            saved = services.update_rule(
                actor=request.user,
                rule=rule,
                enabled=form.cleaned_data["enabled"],
                parameters=form.parameters(),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"{saved.get_code_display()}: version {saved.version} in force.")
            return redirect("compliance:aml_rules")
    return _render_rules(request, {code: form})
