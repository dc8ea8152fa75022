"""Compliance's API (API.md "Compliance"): KYC outcomes per counterparty, sanctions screening, the
sanctions lists' versions, and the matches with their four-eyes decisions."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.access.middleware import sensitive_read
from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Counterparty, RiskRating
from borrowdesk.uploads import unsafe_upload_names
from compliance import selectors, services
from compliance.errors import DocumentRefused
from compliance.filters import SanctionsListVersionFilter, SanctionsMatchFilter
from compliance.models import DocumentKind, KycDocument, KycStatus, MatchKind, SanctionsListVersion
from compliance.sanctions import services as sanctions_services


class KycOut(serializers.Serializer):
    counterparty = serializers.CharField(source="counterparty.code")
    status = serializers.CharField()
    # The counterparty's rating (refdata's, set by compliance with the KYC): one rating everywhere.
    risk_rating = serializers.CharField(source="counterparty.risk_rating")
    expires_on = serializers.DateField()
    approved_on = serializers.DateField(allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)
    next_review_on = serializers.DateField(allow_null=True)
    review_due_on = serializers.DateField()
    expired_on = serializers.DateField(allow_null=True)
    review_case = serializers.IntegerField(source="review_case_id", allow_null=True)
    is_cleared = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)

    def get_is_cleared(self, obj) -> bool:
        return selectors.profile_clears(obj)


class KycIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    status = serializers.ChoiceField(choices=KycStatus.choices)
    risk_rating = serializers.ChoiceField(choices=RiskRating.choices)
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Default for an approval: the next periodic review (by risk rating); otherwise unchanged.",
    )


class KycDocumentOut(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="profile.counterparty.code")
    kind = serializers.CharField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    description = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()
    download = serializers.SerializerMethodField()

    def get_download(self, obj) -> str:
        return f"/api/v1/compliance/kyc/{obj.profile.counterparty.code}/documents/{obj.pk}/"


class KycDocumentIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField(allow_empty_file=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def document_response(document) -> FileResponse:
    """The stored file as an attachment, under a name of ours, typed by its checked content; never
    rendered inline (a PDF or an image opens as a download, not in the desk's origin)."""
    code = document.profile.counterparty.code
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{code}-{document.kind}-{document.pk}.{document.extension}",
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# KYC is sensitive whole: the list (every profile) is logged like one profile; so is every document
# list and every download.
@sensitive_read(actions=("list", "retrieve", "documents", "download_document"))
class KycViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """KYC outcomes: set by compliance, read by the desk's control functions; the documents kept as
    their evidence (compliance uploads, compliance and auditors read)."""

    serializer_class = KycOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.kyc.view",
        "retrieve": "compliance.kyc.view",
        "create": "compliance.kyc.write",
        "documents": "compliance.kyc.document.view",
        "upload_document": "compliance.kyc.document.upload",
        "download_document": "compliance.kyc.document.view",
    }
    lookup_field = "counterparty"

    def get_queryset(self):
        return selectors.kyc_profiles()

    def _profile(self, counterparty):
        profile = selectors.kyc_profiles().filter(counterparty__code=counterparty).first()
        if profile is None:
            raise NotFoundError("No KYC profile for that counterparty.")
        return profile

    def retrieve(self, request, counterparty=None):
        return Response(KycOut(self._profile(counterparty)).data)

    @extend_schema(request=KycIn, responses={201: KycOut})
    def create(self, request):
        data = KycIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        counterparty = Counterparty.objects.filter(code=v["counterparty"]).first()
        if counterparty is None:
            raise InvalidInput("Unknown counterparty.", fields={"counterparty": ["Unknown counterparty."]})
        profile = services.set_kyc(
            actor=request.user,
            counterparty=counterparty,
            status=v["status"],
            risk_rating=v["risk_rating"],
            expires_on=v.get("expires_on"),
        )
        return Response(KycOut(selectors.kyc_profiles().get(pk=profile.pk)).data, status=201)

    @extend_schema(responses=KycDocumentOut(many=True))
    @action(detail=True, methods=["get"], url_path="documents", pagination_class=None)
    def documents(self, request, counterparty=None):
        """The documents kept for a counterparty's KYC, newest first."""
        profile = self._profile(counterparty)
        return Response(KycDocumentOut(selectors.kyc_documents(profile), many=True).data)

    @extend_schema(request={"multipart/form-data": KycDocumentIn}, responses={201: KycDocumentOut})
    @documents.mapping.post
    def upload_document(self, request, counterparty=None):
        """Upload a document (multipart: ``kind``, ``file``, ``description?``): a PDF, PNG or JPEG by
        its content, at most ``KYC_DOCUMENT_MAX_BYTES``, under a plain file name. 400 ``invalid_file``
        family codes (``file_too_large``, ``unsupported_file_type``, ``unsafe_file_name``,
        ``empty_file``) and nothing stored otherwise."""
        unsafe = unsafe_upload_names(request._request)
        if unsafe:
            raise DocumentRefused(
                f"The file name {unsafe[0][:80]!r} contains a path: send the file under its own name.",
                code="unsafe_file_name",
            )
        data = KycDocumentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        counterparty_row = Counterparty.objects.filter(code=counterparty).first()
        if counterparty_row is None:
            raise NotFoundError("No such counterparty.")
        document = services.upload_kyc_document(
            actor=request.user,
            counterparty=counterparty_row,
            kind=v["kind"],
            upload=v["file"],
            description=v["description"],
        )
        document = selectors.kyc_document(counterparty_code=counterparty, pk=document.pk)
        return Response(KycDocumentOut(document).data, status=201)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"documents/(?P<document_id>[0-9]+)")
    def download_document(self, request, counterparty=None, document_id=None):
        """The document's file (an attachment; every download is written to the access log)."""
        try:
            document = selectors.kyc_document(counterparty_code=counterparty, pk=int(document_id))
        except (KycDocument.DoesNotExist, ValueError, OverflowError):
            raise NotFoundError("No such document.") from None
        return document_response(document)


# --- sanctions ------------------------------------------------------------------------------------


class ListVersionOut(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.username", allow_null=True, default=None)

    class Meta:
        model = SanctionsListVersion
        fields = [
            "id",
            "source_name",
            "source_format",
            "content_hash",
            "entry_count",
            "alias_count",
            "address_count",
            "digital_address_count",
            "warnings",
            "imported_at",
            "imported_by",
            "is_active",
            "rescreened_at",
        ]


class ScreeningMatchOut(serializers.Serializer):
    """A match as API.md's screening answer lists it (``list, entry_name, score, address?``), with
    what explains it."""

    id = serializers.IntegerField()
    list = serializers.CharField(source="list_version.source_name")
    list_version = serializers.IntegerField(source="list_version_id")
    uid = serializers.CharField(source="entry.uid")
    entry_name = serializers.CharField(source="entry.name")
    entry_type = serializers.CharField(source="entry.entry_type")
    programs = serializers.CharField(source="entry.programs")
    kind = serializers.CharField()
    matched_name = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2)
    parts = serializers.JSONField()

    def get_matched_name(self, obj) -> str | None:
        return obj.matched_text if obj.kind == MatchKind.NAME else None

    def get_address(self, obj) -> str | None:
        return obj.matched_text if obj.kind == MatchKind.ADDRESS else None

    def get_currency(self, obj) -> str | None:
        return obj.parts.get("currency") if obj.kind == MatchKind.ADDRESS else None


class MatchOut(ScreeningMatchOut):
    subject_kind = serializers.CharField()
    counterparty = serializers.CharField(source="counterparty.code", allow_null=True, default=None)
    custody_account = serializers.CharField(source="custody_account.code", allow_null=True, default=None)
    query = serializers.CharField()
    threshold = serializers.DecimalField(max_digits=5, decimal_places=2)
    algorithm = serializers.CharField()
    algorithm_version = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    proposed_by = serializers.CharField(source="proposed_by.username", allow_null=True, default=None)
    proposed_at = serializers.DateTimeField(allow_null=True)
    proposal_reason = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()


class ScreeningIn(serializers.Serializer):
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=sanctions_services.MAX_QUERY_NAME
    )
    address = serializers.CharField(
        required=False, allow_blank=True, max_length=sanctions_services.MAX_QUERY_ADDRESS
    )


class ScreeningOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="query_name")
    address = serializers.CharField(source="query_address")
    lists = serializers.SerializerMethodField()
    threshold = serializers.DecimalField(max_digits=5, decimal_places=2)
    algorithm = serializers.CharField()
    algorithm_version = serializers.CharField()
    screened_at = serializers.DateTimeField()
    matches = serializers.SerializerMethodField()

    def get_lists(self, obj) -> list[dict]:
        versions = SanctionsListVersion.objects.filter(pk__in=obj.list_versions).order_by("source_name")
        return [{"list": v.source_name, "version": v.pk, "imported_at": v.imported_at} for v in versions]

    @extend_schema_field(ScreeningMatchOut(many=True))
    def get_matches(self, obj):
        return ScreeningMatchOut(self.context["matches"], many=True).data


class MatchDecisionIn(serializers.Serializer):
    reason = serializers.CharField(
        max_length=sanctions_services.MAX_REASON, allow_blank=True, required=False, default=""
    )


class ScreeningView(APIView):
    """POST /api/v1/compliance/screenings/ — screen a name and/or a wallet address by hand."""

    permission_classes = [PolicyPermission]
    access = {"POST": "compliance.screening.run"}

    @extend_schema(request=ScreeningIn, responses={201: ScreeningOut})
    def post(self, request):
        data = ScreeningIn(data=request.data)
        data.is_valid(raise_exception=True)
        screening, found = sanctions_services.screen(actor=request.user, **data.validated_data)
        shown = selectors.matches().filter(pk__in=[m.pk for m in found]).order_by("-score", "id")
        return Response(ScreeningOut(screening, context={"matches": list(shown)}).data, status=201)


class ListVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The imports of every sanctions list (the version in force of each source is ``is_active``)."""

    serializer_class = ListVersionOut
    permission_classes = [PolicyPermission]
    access = {"list": "compliance.sanctions.view", "retrieve": "compliance.sanctions.view"}
    filterset_class = SanctionsListVersionFilter

    def get_queryset(self):
        return selectors.list_versions()


@sensitive_read(actions=("retrieve",))
class MatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Potential and decided sanctions matches of counterparties and custody accounts, and the
    four-eyes decisions on them."""

    serializer_class = MatchOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.sanctions.view",
        "retrieve": "compliance.sanctions.view",
        "propose_false_positive": "compliance.match.clear",
        "confirm_false_positive": "compliance.match.clear",
        "withdraw_false_positive": "compliance.match.clear",
        "confirm": "compliance.match.confirm",
    }
    filterset_class = SanctionsMatchFilter

    def get_queryset(self):
        return selectors.match_queue()

    def _decide(self, request, pk, service):
        match = self.get_object()
        data = MatchDecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        service(actor=request.user, match=match, reason=data.validated_data["reason"])
        return Response(MatchOut(selectors.match_detail(match.pk)).data)

    @extend_schema(request=MatchDecisionIn, responses=MatchOut)
    @action(detail=True, methods=["post"], url_path="propose-false-positive")
    def propose_false_positive(self, request, pk=None):
        """A first officer proposes the match is a false positive (``reason`` required)."""
        return self._decide(request, pk, sanctions_services.propose_false_positive)

    @extend_schema(request=MatchDecisionIn, responses=MatchOut)
    @action(detail=True, methods=["post"], url_path="confirm-false-positive")
    def confirm_false_positive(self, request, pk=None):
        """A second officer (not the proposer: 403 ``segregation_of_duties``) confirms it."""
        return self._decide(request, pk, sanctions_services.confirm_false_positive)

    @extend_schema(request=MatchDecisionIn, responses=MatchOut)
    @action(detail=True, methods=["post"], url_path="withdraw-false-positive")
    def withdraw_false_positive(self, request, pk=None):
        """The proposal goes back to a potential match (``reason`` required)."""
        return self._decide(request, pk, sanctions_services.withdraw_false_positive)

    @extend_schema(request=MatchDecisionIn, responses=MatchOut)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """A true match: the counterparty stays blocked (``reason`` required)."""
        return self._decide(request, pk, sanctions_services.confirm_match)
