"""Compliance pages: KYC (compliance sees every counterparty's KYC and sets it); sanctions lists with
the upload and its preview, screening by hand, the matches queue and a match with its explanation and
four-eyes decisions."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from borrowdesk.refdata.models import Counterparty
from compliance import selectors, services
from compliance.cases import selectors as case_selectors
from compliance.filters import SanctionsListVersionFilter, SanctionsMatchFilter
from compliance.forms import FalsePositiveForm, KycForm, ListUploadForm, ReasonForm, ScreenForm
from compliance.models import ListFormat, SanctionsMatch, SubjectKind
from compliance.sanctions import services as sanctions_services
from compliance.sanctions import uploads


@sensitive_read
@requires("compliance.kyc.view")
def kyc(request):
    counterparties = Counterparty.objects.select_related("kyc", "kyc__updated_by").order_by("code")
    return render(
        request,
        "compliance/kyc.html",
        {
            "counterparties": counterparties,
            "may_edit": allows(request.user, "compliance.kyc.write"),
            "form": KycForm(),
        },
    )


@requires("compliance.kyc.write")
@require_POST
def set_kyc(request, code: str):
    counterparty = get_object_or_404(Counterparty, code=code)
    form = KycForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            f"{code}: " + "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
        )
        return redirect("compliance:kyc")
    try:
        profile = services.set_kyc(actor=request.user, counterparty=counterparty, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, f"{code}: {error.detail}")
    else:
        messages.success(request, f"KYC of {code} is now {profile.get_status_display().lower()}.")
    return redirect("compliance:kyc")


# --- sanctions ------------------------------------------------------------------------------------


def _version_link(version) -> str:
    return reverse("compliance:match_queue") + f"?list={version.source_name}"


@requires("compliance.sanctions.view")
def sanctions_lists(request):
    """Every import of every list: counts, content hash, when and by whom; the one in force marked."""
    actions = []
    if allows(request.user, "compliance.sanctions.import"):
        actions.append({"label": "Import a list", "url": reverse("compliance:sanctions_import")})
    if allows(request.user, "compliance.screening.run"):
        actions.append({"label": "Screen a name", "url": reverse("compliance:screen")})
    return table_page(
        request,
        title="Sanctions lists",
        queryset=selectors.list_versions(),
        filterset_class=SanctionsListVersionFilter,
        csv_name="sanctions-lists",
        empty="No list imported yet: import OFAC's SDN files or OpenSanctions' targets.simple.csv.",
        intro="A re-import replaces its list atomically; every counterparty and custody address is then "
        "rescreened.",
        actions=actions,
        columns=[
            Column("List", "source_name", sort="source_name", link=_version_link),
            Column("Version", "pk", sort="id", numeric=True),
            Column("Format", "source_format"),
            Column("In force", "is_active", sort="is_active"),
            Column("Entries", "entry_count", numeric=True),
            Column("Aliases", "alias_count", numeric=True),
            Column("Addresses", "address_count", numeric=True),
            Column("Wallet addresses", "digital_address_count", numeric=True),
            Column("Imported", "imported_at", sort="imported_at"),
            Column("By", "imported_by.username"),
            Column("Rescreened", "rescreened_at"),
            Column("SHA-256", "content_hash"),
        ],
    )


@requires("compliance.sanctions.import")
def sanctions_import(request):
    """Upload a list's files and preview them: counts, warnings, or the error and its line. Nothing is
    imported until the preview is confirmed (``sanctions_import_confirm``)."""
    preview = None
    if request.method == "POST":
        form = ListUploadForm(request.POST, request.FILES)
        if form.is_valid():
            source_format = form.cleaned_data["source_format"]
            sources = form.sources()
            try:
                parsed = sanctions_services.parse_list(source_format=source_format, sources=sources)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                name = (
                    form.cleaned_data["source_name"].strip()
                    or sanctions_services.DEFAULT_SOURCE_NAMES[source_format]
                )
                current = selectors.list_versions().filter(source_name=name, is_active=True).first()
                preview = {
                    "token": uploads.stage(
                        sources=sources,
                        source_format=source_format,
                        source_name=name,
                        uploaded_by=request.user.pk,
                        content_hash=parsed.content_hash,
                    ),
                    "source_name": name,
                    "format": ListFormat(source_format).label,
                    "counts": parsed.counts(),
                    "warnings": parsed.warnings,
                    "files": parsed.files,
                    "content_hash": parsed.content_hash,
                    "current": current,
                    "unchanged": current is not None and current.content_hash == parsed.content_hash,
                }
    else:
        form = ListUploadForm()
    return render(request, "compliance/sanctions_import.html", {"form": form, "preview": preview})


@requires("compliance.sanctions.import")
@require_POST
def sanctions_import_confirm(request):
    """Import the previewed files as the list in force (the same bytes the preview read)."""
    staged = uploads.load(request.POST.get("token", ""))
    if staged is None or staged.uploaded_by != request.user.pk:
        messages.error(request, "That preview has expired or is not yours: upload the files again.")
        return redirect("compliance:sanctions_import")
    try:
        parsed = sanctions_services.parse_list(source_format=staged.source_format, sources=staged.sources)
        if parsed.content_hash != staged.content_hash:
            raise DomainError("The files changed since the preview: upload them again.")
        result = sanctions_services.import_sanctions_list(
            actor=request.user,
            source_format=staged.source_format,
            parsed=parsed,
            source_name=staged.source_name,
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return redirect("compliance:sanctions_import")
    finally:
        uploads.discard(staged.token)
    version = result.version
    if result.unchanged:
        messages.info(
            request, f"{version.source_name}: the same files as the list in force; nothing changed."
        )
    else:
        messages.success(
            request,
            f"{version.source_name} version {version.pk} is in force: {version.entry_count:,} entries, "
            f"{version.alias_count:,} aliases, {version.digital_address_count:,} wallet addresses. "
            "Every counterparty and custody address is being rescreened.",
        )
    return redirect("compliance:sanctions_lists")


@requires("compliance.screening.run")
def screen(request):
    """Screen a name or a wallet address by hand against the lists in force (recorded)."""
    screening, found = None, []
    if request.method == "POST":
        form = ScreenForm(request.POST)
        if form.is_valid():
            try:
                screening, hits = sanctions_services.screen(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                found = list(selectors.matches().filter(pk__in=[m.pk for m in hits]).order_by("-score", "id"))
    else:
        form = ScreenForm()
    lists = selectors.list_versions().filter(is_active=True)
    return render(
        request,
        "compliance/screen.html",
        {"form": form, "screening": screening, "found": found, "lists": lists},
    )


def _match_link(match) -> str:
    return reverse("compliance:match_detail", args=[match.pk])


@requires("compliance.sanctions.view")
def match_queue(request):
    """Matches of counterparties and custody addresses: potential ones first to work, with the score."""
    return table_page(
        request,
        title="Sanctions matches",
        queryset=selectors.match_queue(),
        filterset_class=SanctionsMatchFilter,
        csv_name="sanctions-matches",
        empty="No matches: every counterparty and custody address screened clear.",
        intro="A potential match holds its counterparty's requests until two compliance officers clear it "
        "as a false positive; a confirmed match keeps it blocked.",
        actions=[{"label": "Lists", "url": reverse("compliance:sanctions_lists")}],
        columns=[
            Column("Match", "pk", sort="id", link=_match_link),
            Column("Status", "status", sort="status", badge=True),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Account", "custody_account.code"),
            Column("Screened", "query"),
            Column("Listed as", "matched_text", link=_match_link),
            Column("Score", "score", sort="score", numeric=True),
            Column("List", "list_version.source_name"),
            Column("Entry", "entry.uid"),
            Column("Programs", "entry.programs"),
            Column("Found", "created_at", sort="created_at"),
        ],
    )


@sensitive_read
@requires("compliance.sanctions.view")
def match_detail(request, pk: int):
    """One match with its explanation (the score's parts) and the four-eyes decisions."""
    try:
        match = selectors.match_detail(pk)
    except SanctionsMatch.DoesNotExist:
        raise Http404("No such match.") from None
    may_clear = allows(request.user, "compliance.match.clear")
    return render(
        request,
        "compliance/match_detail.html",
        {
            "match": match,
            "parts": _explained(match),
            "may_clear": may_clear and match.subject_kind != SubjectKind.QUERY,
            "may_confirm": allows(request.user, "compliance.match.confirm")
            and match.subject_kind != SubjectKind.QUERY,
            "is_proposer": match.proposed_by_id == request.user.pk,
            "form": ReasonForm(),
            "list_in_force": match.list_version.is_active,
            "case": case_selectors.case_of_evidence(request.user, "sanctions_match", match.pk),
        },
    )


def _explained(match) -> list[tuple[str, str]]:
    """The score's parts as label and value, in reading order."""
    parts = match.parts or {}
    labels = [
        ("query_normalized", "Screened, normalized"),
        ("name_normalized", "Listed, normalized"),
        ("token_sort", "Words sorted (token_sort_ratio)"),
        ("first_last_form", "Listed as first and last name"),
        ("first_last", "First and last name ratio"),
        ("token_set", "Word subset (token_set_ratio)"),
        ("decided_by", "Score taken from"),
        ("currency", "Listed currency"),
        ("exact_address", "Exact address match"),
    ]
    shown = [(label, parts[key]) for key, label in labels if key in parts]
    subset = parts.get("subset")
    if subset:
        shown.append(("Shared words", ", ".join(subset.get("shared_words", []))))
        shown.append(("Distinctive shared words", ", ".join(subset.get("distinctive_words", []))))
    return [(label, str(value)) for label, value in shown]


@requires("compliance.match.clear")
@require_POST
def match_false_positive(request, pk: int):
    """Propose, confirm or withdraw a false positive (four eyes: the proposer cannot confirm)."""
    form = FalsePositiveForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Choose propose, confirm or withdraw, with a reason of at most 2,000 characters."
        )
        return redirect("compliance:match_detail", pk=pk)
    service = {
        "propose": sanctions_services.propose_false_positive,
        "confirm": sanctions_services.confirm_false_positive,
        "withdraw": sanctions_services.withdraw_false_positive,
    }[form.cleaned_data["decision"]]
    return _decide(request, pk, service, form.cleaned_data["reason"])


@requires("compliance.match.confirm")
@require_POST
def match_confirm(request, pk: int):
    """Confirm a true match: the counterparty stays blocked."""
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _decide(request, pk, sanctions_services.confirm_match, reason)


def _decide(request, pk: int, service, reason: str):
    if not SanctionsMatch.objects.filter(pk=pk).exists():
        raise Http404("No such match.")
    try:
        match = service(actor=request.user, match=pk, reason=reason)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Match {match.pk} is now {match.get_status_display().lower()}.")
    return redirect("compliance:match_detail", pk=pk)
