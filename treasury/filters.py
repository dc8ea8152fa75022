import django_filters

from borrowdesk.filters import choice, code
from treasury.models import SettlementInstruction, SettlementKind, SettlementStatus


class SettlementFilter(django_filters.FilterSet):
    status = choice(SettlementStatus.choices, "Status")
    kind = choice(SettlementKind.choices, "Kind")
    asset = code("asset__symbol", "Asset")
    id = django_filters.NumberFilter(label="Leg")  # one leg, as an AML alert links to it

    class Meta:
        model = SettlementInstruction
        fields = ["status", "kind", "asset", "id"]
