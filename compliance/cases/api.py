"""Cases API (API.md "Compliance"): ``/api/v1/compliance/cases/`` list (filters kind, status, assignee,
priority, counterparty, overdue) and create; a case's detail with its timeline; ``assign``, ``note``,
``escalate``, ``close``, ``approve-closure``, ``reject-closure``; attachments uploaded and downloaded
(each download in the access log). Every action answers with the case as its detail renders it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.roles import ROLES
from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Counterparty
from borrowdesk.uploads import sent_name
from compliance.cases import selectors, services, uploads
from compliance.cases.filters import CaseFilter
from compliance.cases.models import Case, CaseDisposition, CaseKind, CasePriority

MAX_TEXT = services.MAX_TEXT


class CaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    counterparty = serializers.CharField(source="counterparty.code", allow_null=True, default=None)
    priority = serializers.CharField()
    status = serializers.CharField()
    disposition = serializers.CharField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    team = serializers.CharField(source="team.name", allow_null=True, default=None)
    sla_due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    sla_breached_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField()
    opened_by = serializers.CharField(source="opened_by.username", allow_null=True, default=None)
    updated_at = serializers.DateTimeField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    proposed_disposition = serializers.CharField()
    closure_proposed_by = serializers.CharField(
        source="closure_proposed_by.username", allow_null=True, default=None
    )
    closure_proposed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class CaseEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    text = serializers.CharField()
    at = serializers.DateTimeField()
    evidence_type = serializers.CharField()
    evidence_id = serializers.IntegerField(allow_null=True)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    attachment = serializers.IntegerField(source="attachment_id", allow_null=True)
    details = serializers.JSONField(source="data")  # e.g. the disposition of a closure event


class CaseAttachmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()


class CaseDetailOut(CaseOut):
    escalated_by = serializers.CharField(source="escalated_by.username", allow_null=True, default=None)
    escalation_reason = serializers.CharField()
    closure_proposal_reason = serializers.CharField()
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    closure_reason = serializers.CharField()
    timeline = CaseEventOut(source="events", many=True)
    attachments = CaseAttachmentOut(many=True)


class CaseIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    counterparty = serializers.CharField(max_length=32, required=False, allow_null=True, allow_blank=True)
    subject = serializers.CharField(max_length=services.MAX_SUBJECT)
    priority = serializers.ChoiceField(choices=CasePriority.choices, default=CasePriority.MEDIUM)
    detail = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class CaseAssignIn(serializers.Serializer):
    user = serializers.CharField(max_length=150)


class CaseNoteIn(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_TEXT)


class CaseReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT)


class CaseOptionalReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class CloseIn(CaseOptionalReasonIn):
    disposition = serializers.ChoiceField(choices=CaseDisposition.choices)


class TeamIn(serializers.Serializer):
    team = serializers.CharField(max_length=150, allow_blank=True, allow_null=True)


class AttachIn(serializers.Serializer):
    file = serializers.FileField()


@sensitive_read(actions=("retrieve", "download"))
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Compliance cases: compliance works them, oversight reads them; a case of another team is a 404."""

    serializer_class = CaseOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.case.view",
        "retrieve": "compliance.case.view",
        "download": "compliance.case.view",
        "create": "compliance.case.work",
        "assign": "compliance.case.work",
        "note": "compliance.case.work",
        "escalate": "compliance.case.work",
        "attach": "compliance.case.work",
        "team": "compliance.case.work",
        "close": "compliance.case.close",
        "reject_closure": "compliance.case.close",
        "approve_closure": "compliance.case.approve_closure",
    }
    filterset_class = CaseFilter

    def get_queryset(self):
        return selectors.case_list(self.request.user)

    def _detail(self, pk) -> Response:
        try:
            case = selectors.case_detail(self.request.user, int(pk))
        except (Case.DoesNotExist, ValueError, TypeError):
            raise NotFoundError("No such case.") from None
        return Response(CaseDetailOut(case).data)

    def _case(self, pk) -> Case:
        """The case, if this user may see it (404 otherwise, before any input is read)."""
        try:
            return selectors.visible_cases(self.request.user).get(pk=int(pk))
        except (Case.DoesNotExist, ValueError, TypeError):
            raise NotFoundError("No such case.") from None

    @extend_schema(responses=CaseDetailOut)
    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=CaseIn, responses={201: CaseDetailOut})
    def create(self, request):
        data = CaseIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        counterparty = None
        if v.get("counterparty"):
            counterparty = Counterparty.objects.filter(code=v["counterparty"]).first()
            if counterparty is None:
                raise InvalidInput(
                    "Unknown counterparty.", fields={"counterparty": ["Unknown counterparty."]}
                )
        case = services.create_case(
            actor=request.user,
            kind=v["kind"],
            subject=v["subject"],
            counterparty=counterparty,
            priority=v["priority"],
            detail=v["detail"],
        )
        response = self._detail(case.pk)
        response.status_code = 201
        return response

    @extend_schema(request=CaseAssignIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the case to a compliance officer (``user``: a username)."""
        case = self._case(pk)
        data = CaseAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["user"], is_active=True).first()
        if user is None:
            raise InvalidInput("Unknown user.", fields={"user": ["Unknown user."]})
        services.assign_case(actor=request.user, case=case.pk, user=user)
        return self._detail(case.pk)

    @extend_schema(request=CaseNoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """Add a note to the timeline."""
        case = self._case(pk)
        data = CaseNoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.add_note(actor=request.user, case=case.pk, text=data.validated_data["text"])
        return self._detail(case.pk)

    @extend_schema(request=CaseReasonIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        """Escalate, saying why: the closure then needs a second officer."""
        case = self._case(pk)
        data = CaseReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.escalate_case(actor=request.user, case=case.pk, reason=data.validated_data["reason"])
        return self._detail(case.pk)

    @extend_schema(request=CloseIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close with a disposition; where four eyes are needed (a sanctions false positive, an
        escalated case) this proposes the closure, and another officer approves it."""
        case = self._case(pk)
        data = CloseIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.close_case(actor=request.user, case=case.pk, **data.validated_data)
        return self._detail(case.pk)

    @extend_schema(request=CaseOptionalReasonIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="approve-closure")
    def approve_closure(self, request, pk=None):
        """A second officer approves the proposed closure (the proposer, the escalator or an officer
        who worked the case: 403 ``segregation_of_duties``)."""
        case = self._case(pk)
        data = CaseOptionalReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.approve_closure(actor=request.user, case=case.pk, reason=data.validated_data["reason"])
        return self._detail(case.pk)

    @extend_schema(request=CaseReasonIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="reject-closure")
    def reject_closure(self, request, pk=None):
        """Send a proposed closure back, saying why."""
        case = self._case(pk)
        data = CaseReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.reject_closure(actor=request.user, case=case.pk, reason=data.validated_data["reason"])
        return self._detail(case.pk)

    @extend_schema(request=TeamIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        """Restrict the case to a team (a group that is not a role; its members and oversight see it),
        or lift the restriction (``team`` empty or null)."""
        case = self._case(pk)
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        name = (data.validated_data["team"] or "").strip()
        team = None
        if name:
            team = Group.objects.exclude(name__in=ROLES).filter(name=name).first()
            if team is None:
                raise InvalidInput("Unknown team.", fields={"team": ["Unknown team."]})
        services.set_team(actor=request.user, case=case.pk, team=team)
        return self._detail(case.pk)

    @extend_schema(request={"multipart/form-data": AttachIn}, responses={201: CaseDetailOut})
    @action(detail=True, methods=["post"], url_path="attachments")
    def attach(self, request, pk=None):
        """Attach a file (multipart ``file``): PDF, image or plain text, checked by its content."""
        case = self._case(pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("Attach a file.", fields={"file": ["Required."]})
        name = sent_name(request._request, upload)  # with its path, if the client sent one: refused
        services.attach(actor=request.user, case=case.pk, name=name, data=uploads.read_upload(upload))
        response = self._detail(case.pk)
        response.status_code = 201
        return response

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def download(self, request, pk=None, attachment_id=None):
        """Download an attachment (in the access log)."""
        case = self._case(pk)
        attachment = case.attachments.filter(pk=int(attachment_id)).first()
        if attachment is None:
            raise NotFoundError("No such attachment.")
        return attachment_response(attachment)


def attachment_response(attachment) -> FileResponse:
    """The stored file, as an attachment (never rendered inline), under its shown name."""
    response = FileResponse(
        uploads.path_of(attachment.stored_name).open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
