import django_filters

from treasury.models import SettlementInstruction, SettlementKind, SettlementStatus


class SettlementFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SettlementStatus.choices)
    kind = django_filters.ChoiceFilter(choices=SettlementKind.choices)
    asset = django_filters.CharFilter(field_name="asset__symbol")

    class Meta:
        model = SettlementInstruction
        fields = ["status", "kind", "asset"]
