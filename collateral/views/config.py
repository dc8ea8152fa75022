"""Risk configuration pages: haircut rules, limits and agreements (what is in force, every version,
and a form for risk to propose a change), the pending approvals queue, and stress scenario versions.

The desk reads them (``collateral.config.view``); risk proposes (``.propose``) and approves or rejects
(``.approve``), never its own change: the services refuse it, and the queue shows a proposer their own
rows without the buttons. A refused proposal comes back beside its fields (200, the form as typed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.formatting import plain
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from collateral.filters import AgreementFilter, HaircutRuleFilter, LimitFilter, ScenarioFilter
from collateral.forms import AgreementForm, HaircutRuleForm, LimitForm, RejectForm
from collateral.models import BorrowerLimit, CollateralAgreement, HaircutRule
from collateral.selectors import config as selectors
from collateral.services import config as services

VIEW = "collateral.config.view"
PROPOSE = "collateral.config.propose"
APPROVE = "collateral.config.approve"

TABS = [
    ("Haircut rules", "collateral:haircuts"),
    ("Limits", "collateral:limits"),
    ("Agreements", "collateral:agreements"),
    ("Pending approvals", "collateral:pending"),
]

# The four-eyes columns every version list ends with.
VERSION_COLUMNS = [
    Column("Status", "status", sort="status", badge=True),
    Column("From", "effective_from", sort="effective_from"),
    Column("Proposed by", "proposed_by.username"),
    Column("Decided by", "decided_by"),
    Column("Note", "note"),
]


class _Version:
    """A version row for the tables: the model's fields, plus ``note`` (the rejection reason, else the
    proposer's comment) and ``caps`` (a limit's asset caps in one line)."""

    def __init__(self, version):
        self._version = version
        self.pk = getattr(version, "pk", None)  # None: the default levels (settings), not a version

    def __getattr__(self, name: str) -> Any:
        return getattr(self._version, name)

    @property
    def decided_by(self) -> str | None:
        """Who approved or rejected it (None: in force at once, or still pending)."""
        decider = self._version.approved_by or self._version.rejected_by
        return decider.username if decider is not None else None

    @property
    def note(self) -> str:
        if self._version.rejection_reason:
            return f"Rejected: {self._version.rejection_reason}"
        return self._version.comment

    @property
    def caps(self) -> str:
        return ", ".join(f"{c.asset.symbol} {plain(c.max_quantity)}" for c in self._version.asset_caps.all())


def _tabs(request, active: str) -> dict[str, Any]:
    tabs = [{"label": label, "url": reverse(name), "active": name == active} for label, name in TABS]
    if allows(request.user, "collateral.stress.view"):
        tabs.append(
            {
                "label": "Stress scenarios",
                "url": reverse("collateral:scenarios"),
                "active": active == "collateral:scenarios",
            }
        )
    return {"tabs": tabs, "pending_count": selectors.pending_count()}


def _config_page(
    request,
    *,
    name: str,
    title: str,
    intro: str,
    form_class,
    propose: Callable[[dict], Any],
    describe_new: Callable[[Any], str],
    queryset,
    filterset_class,
    columns: list[Column],
    in_force: list,
    in_force_template: str,
):
    """One configuration page: propose (POST, risk) and the lists (GET)."""
    form = None
    if allows(request.user, PROPOSE):
        form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            version = propose(form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if version.status == "pending_approval":
                messages.success(
                    request, f"{describe_new(version)}: a loosening, pending another risk user's approval."
                )
            else:
                messages.success(request, f"{describe_new(version)}: a tightening, in force now.")
            return redirect(name)
    return table_page(
        request,
        title=title,
        queryset=queryset,
        filterset_class=filterset_class,
        csv_name=name.split(":")[1],
        intro=intro,
        empty="No versions match.",
        columns=columns + VERSION_COLUMNS,
        row_adapter=_Version,
        template="collateral/config.html",
        extra={
            **_tabs(request, name),
            "form": form,
            "in_force": [_Version(v) for v in in_force],
            "in_force_template": in_force_template,
        },
    )


@requires(VIEW, POST=PROPOSE)
def haircuts(request):
    """Haircut rules in force and every version; risk proposes a rule."""
    return _config_page(
        request,
        name="collateral:haircuts",
        title="Haircut rules",
        intro=(
            "The most specific rule in force wins: counterparty and venue, then counterparty, then venue, "
            "then the asset alone. An asset without a rule is not eligible as collateral. A higher haircut "
            "applies at once; a lower one, or a first rule, waits for a second risk user."
        ),
        form_class=HaircutRuleForm,
        propose=lambda d: services.propose_haircut_rule(actor=request.user, **d),
        describe_new=lambda v: f"Haircut rule #{v.pk} ({selectors.describe(v)})",
        queryset=selectors.haircut_rules(),
        filterset_class=HaircutRuleFilter,
        columns=[
            Column("#", "pk", sort="id"),
            Column("Asset", "asset.symbol", sort="asset__symbol"),
            Column("Venue", "venue.code", sort="venue__code"),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Haircut (%)", "haircut_pct", sort="haircut_pct", numeric=True),
        ],
        in_force=list(selectors.haircuts_in_force()),
        in_force_template="collateral/_haircuts_in_force.html",
    )


@requires(VIEW, POST=PROPOSE)
def limits(request):
    """Borrower limits in force and every version, with their asset caps; risk proposes a limit."""
    return _config_page(
        request,
        name="collateral:limits",
        title="Borrower limits",
        intro=(
            "Checked at final approval and by the scheduled limit check. A first limit, or one at least as "
            "strict in every figure, applies at once; anything looser waits for a second risk user."
        ),
        form_class=LimitForm,
        propose=lambda d: services.propose_limit(actor=request.user, **d),
        describe_new=lambda v: f"Limit #{v.pk} for {v.counterparty.code}",
        queryset=selectors.limits(),
        filterset_class=LimitFilter,
        columns=[
            Column("#", "pk", sort="id"),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Max exposure", "max_exposure_usd", sort="max_exposure_usd", numeric=True, usd=True),
            Column("Tenor (days)", "max_tenor_days", numeric=True),
            Column("Min coverage", "min_coverage_ratio", numeric=True, ratio=True),
            Column("Asset caps", "caps"),
        ],
        in_force=list(selectors.limits_in_force()),
        in_force_template="collateral/_limits_in_force.html",
    )


@requires(VIEW, POST=PROPOSE)
def agreements(request):
    """Collateral agreements in force and every version; risk proposes an agreement."""
    return _config_page(
        request,
        name="collateral:agreements",
        title="Collateral agreements",
        intro=(
            "A counterparty's coverage levels (collateral value after haircuts ÷ exposure). Without an "
            "agreement the defaults below apply. Every ratio at least as high and both hour figures at "
            "most as long applies at once; anything looser waits for a second risk user."
        ),
        form_class=AgreementForm,
        propose=lambda d: services.propose_agreement(actor=request.user, **d),
        describe_new=lambda v: f"Agreement #{v.pk} for {v.counterparty.code}",
        queryset=selectors.agreements(),
        filterset_class=AgreementFilter,
        columns=[
            Column("#", "pk", sort="id"),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Return", "return_ratio", numeric=True, ratio=True),
            Column("Required", "required_ratio", numeric=True, ratio=True),
            Column("Warning", "warning_ratio", numeric=True, ratio=True),
            Column("Call", "call_ratio", numeric=True, ratio=True),
            Column("Critical", "critical_ratio", numeric=True, ratio=True),
            Column("Cure (h)", "cure_period_hours", numeric=True),
            Column("Call due (h)", "call_due_hours", numeric=True),
        ],
        in_force=[selectors.default_levels(), *selectors.agreements_in_force()],
        in_force_template="collateral/_agreements_in_force.html",
    )


# --- the second pair of eyes ----------------------------------------------------------------------


@requires(VIEW)
def pending(request):
    """Loosenings awaiting a second risk user; Approve and Reject for risk users other than the
    proposer."""
    may_decide = allows(request.user, APPROVE)
    rows = [
        {"change": change, "may_decide": may_decide and change.proposed_by_id != request.user.pk}
        for change in selectors.pending_approvals()
    ]
    return render(
        request,
        "collateral/pending.html",
        {**_tabs(request, "collateral:pending"), "rows": rows, "reject_form": RejectForm()},
    )


MODELS = {"haircut": HaircutRule, "limit": BorrowerLimit, "agreement": CollateralAgreement}


def _version_or_404(kind: str, pk: int):
    model = MODELS.get(kind)
    if model is None:
        raise Http404("No such kind of configuration.")
    version = model.objects.filter(pk=pk).first()  # type: ignore[attr-defined]
    if version is None:
        raise Http404("No such version.")
    return version


@requires(APPROVE)
@require_POST
def approve(request, kind: str, pk: int):
    version = _version_or_404(kind, pk)
    try:
        services.approve_config(actor=request.user, version=version)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{selectors.KIND_LABELS[kind]} #{pk} approved: in force now.")
    return redirect("collateral:pending")


@requires(APPROVE)
@require_POST
def reject(request, kind: str, pk: int):
    version = _version_or_404(kind, pk)
    form = RejectForm(request.POST)
    try:
        if not form.is_valid():
            messages.error(request, "A rejection needs a reason (at most 500 characters).")
        else:
            services.reject_config(actor=request.user, version=version, reason=form.cleaned_data["reason"])
            messages.success(request, f"{selectors.KIND_LABELS[kind]} #{pk} rejected.")
    except DomainError as error:
        messages.error(request, error.detail)
    return redirect("collateral:pending")


# --- stress scenario versions ---------------------------------------------------------------------


class _Scenario:
    def __init__(self, scenario):
        self._scenario = scenario
        self.pk = scenario.pk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scenario, name)

    @property
    def markdowns_text(self) -> str:
        return ", ".join(f"{symbol} {value} %" for symbol, value in self._scenario.markdowns.items())


@requires("collateral.stress.view")
def scenarios(request):
    """Every version of every stress scenario (running one is the stress page's)."""
    return table_page(
        request,
        title="Stress scenarios",
        queryset=selectors.scenario_versions(),
        filterset_class=ScenarioFilter,
        csv_name="stress-scenarios",
        intro=(
            "Each save is a new version; the active one is what a run uses. Assets not named fall by the "
            "stablecoin or the other markdown."
        ),
        empty="No scenarios match.",
        columns=[
            Column("Name", "name", sort="name"),
            Column("Version", "version", sort="version", numeric=True),
            Column("Active", "is_active"),
            Column("Markdowns", "markdowns_text"),
            Column("Other (%)", "other_markdown_pct", numeric=True),
            Column("Stablecoins (%)", "stablecoin_markdown_pct", numeric=True),
            Column("Haircut add-on (%)", "haircut_addon_pct", numeric=True),
            Column("Recall fraction", "recall_fraction", numeric=True),
            Column("Saved by", "created_by.username"),
            Column("Saved", "created_at", sort="created_at"),
            Column("Description", "description"),
        ],
        row_adapter=_Scenario,
        template="collateral/config.html",
        extra=_tabs(request, "collateral:scenarios"),
    )
