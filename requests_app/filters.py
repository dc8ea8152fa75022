import django_filters

from borrowdesk.filters import choice, code
from requests_app.models import BorrowRequest, RequestStatus


class BorrowRequestFilter(django_filters.FilterSet):
    status = choice(RequestStatus.choices, "Status")
    counterparty = code("counterparty__code", "Counterparty")
    asset = code("asset__symbol", "Asset")

    class Meta:
        model = BorrowRequest
        fields = ["status", "counterparty", "asset"]
