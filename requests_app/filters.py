import django_filters

from requests_app.models import BorrowRequest, RequestStatus


class BorrowRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    counterparty = django_filters.CharFilter(field_name="counterparty__code")
    asset = django_filters.CharFilter(field_name="asset__symbol")

    class Meta:
        model = BorrowRequest
        fields = ["status", "counterparty", "asset"]
