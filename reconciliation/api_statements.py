"""The statements API (API.md "Treasury, settlement, reconciliation").

``POST /api/v1/reconciliation/statements/``: JSON ``{account, as_of, source?, lines: [{asset, quantity,
available?, pending?, locked?, frozen?}]}``, or multipart ``file`` + ``as_of`` (+ ``format``: csv by
default, or a custodian's — fireblocks, coinbase_prime, bitgo — and ``account``, the custodian's
portfolio id a Coinbase Prime file does not name). 201 with the statements made and the counts; a bad
statement is a 400 whose ``errors`` list every ``{line, field, message}`` (``fields.lines`` the same as
sentences), and nothing is stored; the same file again is a 409 ``already_imported``.

Operations and treasury import (``reconciliation.statement.import``); they, managers and auditors read
(``reconciliation.statement.view``).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from inventory.models import QTY
from reconciliation import selectors
from reconciliation.filters import StatementFilter
from reconciliation.models import ExternalStatement, StatementSource
from reconciliation.statements.adapters import FORMATS
from reconciliation.statements.errors import LineError, StatementRefused
from reconciliation.statements.services import Outcome, import_statement

API_SOURCES = [s for s in StatementSource.values if s not in (StatementSource.UPLOAD, StatementSource.CSV)]


class StatementOut(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(source="account.code")
    as_of = serializers.DateTimeField()
    business_date = serializers.DateField()
    source = serializers.CharField()  # type: ignore[assignment]  # the API's field, not Field.source
    imported_by = serializers.CharField(source="imported_by.username", allow_null=True, default=None)
    content_hash = serializers.CharField()
    filename = serializers.CharField()
    line_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class StatementLineOut(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    quantity = serializers.DecimalField(**QTY)
    available = serializers.DecimalField(**QTY, allow_null=True)
    pending = serializers.DecimalField(**QTY, allow_null=True)
    locked = serializers.DecimalField(**QTY, allow_null=True)
    frozen = serializers.DecimalField(**QTY, allow_null=True)


class StatementDetailOut(StatementOut):
    lines = serializers.SerializerMethodField()

    def get_lines(self, statement) -> list[dict]:
        return list(StatementLineOut(selectors.statement_lines(statement), many=True).data)


class StatementLineIn(serializers.Serializer):
    asset = serializers.CharField()
    quantity = serializers.CharField(help_text="A decimal, as a string or a number.")
    available = serializers.CharField(required=False)
    pending = serializers.CharField(required=False)
    locked = serializers.CharField(required=False)
    frozen = serializers.CharField(required=False)


class StatementIn(serializers.Serializer):
    """The JSON body (documentation: the body is read by the import's own checks, every error by line)."""

    account = serializers.CharField(help_text="Custody account code.")
    as_of = serializers.CharField(
        help_text="A timestamp with its offset, or a business date (its end; now for today)."
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]  # the API's field, not Field.source
        choices=API_SOURCES, required=False, default=StatementSource.API
    )
    lines = StatementLineIn(many=True)


class StatementUploadIn(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with header account,asset,quantity (or a custodian's file).")
    as_of = serializers.CharField()
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="csv")
    account = serializers.CharField(required=False, help_text="Coinbase Prime: the portfolio id.")


class ImportedOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The (first) statement made.")
    statements = serializers.ListField(child=serializers.IntegerField(), help_text="One per account.")
    source = serializers.CharField()  # type: ignore[assignment]  # the API's field, not Field.source
    as_of = serializers.DateTimeField()
    business_date = serializers.DateField()
    content_hash = serializers.CharField()
    line_count = serializers.IntegerField()
    account_count = serializers.IntegerField()
    asset_count = serializers.IntegerField()


def _imported(outcome: Outcome) -> dict:
    return {
        "id": outcome.statement_ids[0],
        "statements": outcome.statement_ids,
        "source": outcome.source,
        "as_of": outcome.as_of,
        "business_date": outcome.business_date,
        "content_hash": outcome.content_hash,
        "line_count": outcome.line_count,
        "account_count": outcome.account_count,
        "asset_count": outcome.asset_count,
    }


def _refuse(field: str, message: str) -> StatementRefused:
    return StatementRefused([LineError(None, field, message)])


class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Custodian statements, newest first; ``POST`` imports one (JSON or a multipart file)."""

    serializer_class = StatementOut
    filterset_class = StatementFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "reconciliation.statement.view",
        "retrieve": "reconciliation.statement.view",
        "create": "reconciliation.statement.import",
    }
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ExternalStatement]:
        return selectors.statements()

    def retrieve(self, request, pk=None):
        try:
            statement = self.get_queryset().get(pk=int(pk))
        except (ExternalStatement.DoesNotExist, ValueError, OverflowError):
            raise NotFoundError("No such statement.") from None
        return Response(StatementDetailOut(statement).data)

    @extend_schema(
        request={"application/json": StatementIn, "multipart/form-data": StatementUploadIn},
        responses={
            201: ImportedOut,
            400: OpenApiResponse(description="Refused whole: errors [{line, field, message}]"),
            409: OpenApiResponse(description="already_imported"),
        },
    )
    def create(self, request):
        if request.content_type.startswith("multipart/"):
            outcome = self._create_from_file(request)
        else:
            outcome = self._create_from_body(request)
        return Response(ImportedOut(_imported(outcome)).data, status=status.HTTP_201_CREATED)

    def _create_from_body(self, request) -> Outcome:
        body = request.data
        if not isinstance(body, dict):
            raise _refuse("body", "Expected a JSON object {account, as_of, source?, lines}.")
        unknown = sorted(set(body) - {"account", "as_of", "source", "lines"})
        if unknown:
            raise _refuse(str(unknown[0])[:40], "Unknown field.")
        source = body.get("source") or StatementSource.API
        if source not in API_SOURCES:
            raise _refuse("source", f"One of {', '.join(API_SOURCES)}.")
        if not isinstance(body.get("account"), str):
            raise _refuse("account", "Required: the custody account's code.")
        return import_statement(
            actor=request.user,
            format="json",
            channel=source,
            as_of=body.get("as_of"),
            body={"account": body["account"], "as_of": body.get("as_of"), "lines": body.get("lines")},
        )

    def _create_from_file(self, request) -> Outcome:
        upload = request.FILES.get("file")
        if upload is None:
            raise _refuse("file", "Attach the statement file (file).")
        if upload.size > settings.RECONCILIATION_MAX_FILE_BYTES:
            raise _refuse("file", f"Larger than {settings.RECONCILIATION_MAX_FILE_BYTES:,} bytes.")
        fmt = request.data.get("format") or "csv"
        if fmt not in FORMATS:
            raise _refuse("format", f"One of {', '.join(FORMATS)}.")
        return import_statement(
            actor=request.user,
            format=fmt,
            channel=StatementSource.CSV,
            as_of=request.data.get("as_of"),
            data=upload.read(),
            account=request.data.get("account") or None,
            filename=(upload.name or "").replace("\x00", "")[:255],
        )
