"""The compliance gate's API: KYC outcomes per counterparty (API.md "Compliance")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from borrowdesk.access.middleware import sensitive_read
from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Counterparty, RiskRating
from compliance import selectors, services
from compliance.models import KycProfile, KycStatus


class KycOut(serializers.Serializer):
    counterparty = serializers.CharField(source="counterparty.code")
    status = serializers.CharField()
    risk_rating = serializers.CharField()
    expires_on = serializers.DateField()
    is_cleared = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)

    def get_is_cleared(self, obj) -> bool:
        return selectors.profile_clears(obj)


class KycIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    status = serializers.ChoiceField(choices=KycStatus.choices)
    risk_rating = serializers.ChoiceField(choices=RiskRating.choices)
    expires_on = serializers.DateField()


# KYC is sensitive whole: the list (every profile) is logged like one profile.
@sensitive_read(actions=("list", "retrieve"))
class KycViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """KYC outcomes: set by compliance, read by the desk's control functions."""

    serializer_class = KycOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.kyc.view",
        "retrieve": "compliance.kyc.view",
        "create": "compliance.kyc.write",
    }
    lookup_field = "counterparty"

    def get_queryset(self):
        return selectors.kyc_profiles()

    def retrieve(self, request, counterparty=None):
        profile = selectors.kyc_profiles().filter(counterparty__code=counterparty).first()
        if profile is None:
            raise NotFoundError("No KYC profile for that counterparty.")
        return Response(KycOut(profile).data)

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
            expires_on=v["expires_on"],
        )
        return Response(
            KycOut(KycProfile.objects.select_related("counterparty", "updated_by").get(pk=profile.pk)).data,
            status=201,
        )
