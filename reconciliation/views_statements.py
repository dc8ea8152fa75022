"""Statement pages: the list, one statement with its lines, and the upload in two steps — upload and
preview (every parsed line and every error, nothing stored), then confirm (the same bytes, kept
server-side by their hash, imported)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from reconciliation import selectors
from reconciliation.filters import StatementFilter
from reconciliation.forms_statements import StatementUploadForm
from reconciliation.models import ExternalStatement, StatementSource
from reconciliation.statements import uploads
from reconciliation.statements.adapters import FORMAT_CHOICES
from reconciliation.statements.errors import AlreadyImported, StatementRefused
from reconciliation.statements.services import import_statement, preview_statement


def _statement_link(statement: ExternalStatement) -> str:
    return reverse("reconciliation:statement_detail", args=[statement.pk])


@requires("reconciliation.statement.view")
def statements(request):
    """Every statement imported, newest first: account, as of, source, lines, who brought it."""
    actions = []
    if allows(request.user, "reconciliation.statement.import"):
        actions.append({"label": "Upload a statement", "url": reverse("reconciliation:statement_upload")})
    return table_page(
        request,
        title="Custodian statements",
        queryset=selectors.statements(),
        filterset_class=StatementFilter,
        csv_name="statements",
        empty="No statement yet: upload a custodian's file, post one to the API, or drop it in the feed.",
        intro="What custodians say the firm holds, per account and asset. Each file is imported once.",
        actions=actions,
        columns=[
            Column("Statement", "pk", sort="id", numeric=True, link=_statement_link),
            Column("Account", "account.code", sort="account__code"),
            Column("Venue", "account.venue.code"),
            Column("As of", "as_of", sort="as_of"),
            Column("Business date", "business_date", sort="business_date"),
            Column("Source", "get_source_display", sort="source"),
            Column("Lines", "line_count", numeric=True),
            Column("Imported by", "imported_by.username"),
            Column("File", "filename"),
        ],
    )


@requires("reconciliation.statement.view")
def statement_detail(request, pk: int):
    statement = get_object_or_404(selectors.statements(), pk=pk)
    return render(
        request,
        "reconciliation/statement_detail.html",
        {"statement": statement, "lines": selectors.statement_lines(statement)},
    )


@requires("reconciliation.statement.import")
def statement_upload(request):
    """Step one: the file, its format and as-of; the preview shows the lines as they would be stored
    and every error by line. Nothing is stored until the preview is confirmed."""
    preview = None
    if request.method == "POST":
        form = StatementUploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data["file"].read()
            fmt, as_of, account = (form.cleaned_data[k] for k in ("format", "as_of", "account"))
            try:
                outcome = preview_statement(
                    actor=request.user, format=fmt, data=data, as_of=as_of, account=account or None
                )
            except StatementRefused as refused:  # as_of, the format: the file itself was not read
                for e in refused.errors:
                    form.add_error(e.field if e.field in form.fields else None, e.message)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                if outcome.ok:
                    uploads.stage(
                        content_hash=outcome.content_hash,
                        data=data,
                        format=fmt,
                        as_of=as_of,
                        account=account,
                        filename=form.cleaned_data["file"].name[:255],
                        uploaded_by=request.user.pk,
                    )
                preview = {
                    "outcome": outcome,
                    "format": dict(FORMAT_CHOICES)[fmt],
                    "filename": form.cleaned_data["file"].name,
                    "more_lines": max(0, outcome.line_count - len(outcome.preview)),
                    "more_errors": max(0, outcome.error_count - len(outcome.errors)),
                }
    else:
        form = StatementUploadForm()
    return render(request, "reconciliation/statement_upload.html", {"form": form, "preview": preview})


@requires("reconciliation.statement.import")
@require_POST
def statement_upload_confirm(request):
    """Step two: import the previewed file (the bytes kept by their hash, checked again)."""
    staged = uploads.load(request.POST.get("content_hash", ""))
    if staged is None or staged.uploaded_by != request.user.pk:
        messages.error(request, "That preview has expired or is not yours: upload the file again.")
        return redirect("reconciliation:statement_upload")
    try:
        outcome = import_statement(
            actor=request.user,
            format=staged.format,
            channel=StatementSource.UPLOAD,
            as_of=staged.as_of,
            data=staged.data,
            account=staged.account or None,
            filename=staged.filename,
        )
    except AlreadyImported as error:
        messages.info(request, error.detail)
        return redirect("reconciliation:statements")
    except DomainError as error:
        messages.error(request, error.detail)
        return redirect("reconciliation:statement_upload")
    finally:
        uploads.discard(staged.content_hash)
    noun = "statement" if len(outcome.statement_ids) == 1 else "statements"
    messages.success(
        request,
        f"Imported {len(outcome.statement_ids):,} {noun} ({outcome.line_count:,} lines, "
        f"{outcome.account_count:,} accounts) from {staged.filename or 'the file'}.",
    )
    if len(outcome.statement_ids) == 1:
        return redirect("reconciliation:statement_detail", pk=outcome.statement_ids[0])
    return redirect("reconciliation:statements")
