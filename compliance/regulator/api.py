"""Regulator requests API: the log (list with overdue flags, create), a request with its evidence,
and compliance's actions (assign, respond, close, attach evidence); evidence downloads are logged."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from borrowdesk import filecheck
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.uploads import sent_name
from compliance.regulator import services
from compliance.regulator.models import RegulatorEvidence, RegulatorRequest
from compliance.travel_rule import selectors
from compliance.travel_rule.filters import RegulatorRequestFilter


class RegulatorEvidenceOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")


class RegulatorRequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    regulator = serializers.CharField()
    reference = serializers.CharField()
    subject = serializers.CharField()
    details = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    status = serializers.CharField()
    is_overdue = serializers.BooleanField()
    is_drill = serializers.BooleanField()
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    response_text = serializers.CharField()
    responded_at = serializers.DateTimeField(allow_null=True)
    responded_by = serializers.CharField(source="responded_by.username", allow_null=True, default=None)
    closed_at = serializers.DateTimeField(allow_null=True)
    evidence = RegulatorEvidenceOut(many=True)


class RegulatorRequestIn(serializers.Serializer):
    regulator = serializers.CharField(max_length=120)
    subject = serializers.CharField(max_length=300)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True)
    details = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    owner = serializers.CharField(max_length=150, required=False, allow_null=True)
    is_drill = serializers.BooleanField(required=False, default=False)


class RegulatorAssignIn(serializers.Serializer):
    owner = serializers.CharField(max_length=150)


class RegulatorRespondIn(serializers.Serializer):
    response_text = serializers.CharField(max_length=20000)


class RegulatorEvidenceIn(serializers.Serializer):
    file = serializers.FileField()


def _user(username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput("Unknown user.", fields={"owner": ["Unknown user."]})
    return user


@sensitive_read(actions=("evidence_file",))
class RegulatorRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The regulator request log: compliance works it; managers, auditors and admins read it."""

    serializer_class = RegulatorRequestOut
    permission_classes = [PolicyPermission]
    filterset_class = RegulatorRequestFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    access = {
        "list": "compliance.regulator.view",
        "retrieve": "compliance.regulator.view",
        "evidence_file": "compliance.regulator.view",
        "create": "compliance.regulator.work",
        "assign": "compliance.regulator.work",
        "respond": "compliance.regulator.work",
        "close": "compliance.regulator.work",
        "evidence": "compliance.regulator.work",
    }

    def get_queryset(self):
        return selectors.regulator_requests().prefetch_related("evidence__uploaded_by")

    def _get(self, pk) -> RegulatorRequest:
        try:
            return self.get_queryset().get(pk=int(pk))
        except (RegulatorRequest.DoesNotExist, ValueError, OverflowError):
            raise NotFoundError("No such regulator request.") from None

    def _out(self, request_obj: RegulatorRequest, status: int = 200) -> Response:
        return Response(RegulatorRequestOut(self._get(request_obj.pk)).data, status=status)

    @extend_schema(request=RegulatorRequestIn, responses={201: RegulatorRequestOut})
    def create(self, request):
        data = RegulatorRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v["owner"] = _user(v.get("owner"))
        return self._out(services.log_request(actor=request.user, **v), status=201)

    @extend_schema(request=RegulatorAssignIn, responses=RegulatorRequestOut)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = RegulatorAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        owner = _user(data.validated_data["owner"])
        return self._out(services.assign_request(actor=request.user, request=self._get(pk), owner=owner))

    @extend_schema(request=RegulatorRespondIn, responses=RegulatorRequestOut)
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        data = RegulatorRespondIn(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["response_text"]
        return self._out(
            services.respond_to_request(actor=request.user, request=self._get(pk), response_text=text)
        )

    @extend_schema(request=None, responses=RegulatorRequestOut)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._out(services.close_request(actor=request.user, request=self._get(pk)))

    @extend_schema(request={"multipart/form-data": RegulatorEvidenceIn}, responses={201: RegulatorRequestOut})
    @action(detail=True, methods=["post"])
    def evidence(self, request, pk=None):
        """Attach an evidence file (multipart ``file``): type read from the content, size limited."""
        data = RegulatorEvidenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = services.settings.REGULATOR_EVIDENCE_MAX_BYTES
        if upload.size > limit:
            raise InvalidInput(
                f"The file is larger than {limit:,} bytes.", fields={"file": [f"At most {limit:,} bytes."]}
            )
        services.attach_evidence(
            actor=request.user,
            request=self._get(pk),
            name=sent_name(request._request, upload),  # with its path, if the client sent one: refused
            content=filecheck.read_upload(upload, limit),
        )
        return self._out(self._get(pk), status=201)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<evidence_id>\d+)")
    def evidence_file(self, request, pk=None, evidence_id=None):
        """Download one evidence file (logged as a sensitive read)."""
        found = RegulatorEvidence.objects.filter(request_id=self._get(pk).pk, pk=int(evidence_id)).first()
        if found is None:
            raise NotFoundError("No such evidence file.")
        return evidence_download(found)


def evidence_download(evidence: RegulatorEvidence) -> FileResponse:
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
