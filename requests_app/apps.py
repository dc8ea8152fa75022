from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    label = "requests_app"
    verbose_name = "Borrow requests"

    def ready(self) -> None:
        from compliance.signals import counterparty_cleared, counterparty_uncleared
        from requests_app import receivers
        from treasury.signals import loan_delivered

        counterparty_cleared.connect(receivers.on_counterparty_cleared, dispatch_uid="requests.cleared")
        counterparty_uncleared.connect(receivers.on_counterparty_uncleared, dispatch_uid="requests.uncleared")
        loan_delivered.connect(receivers.on_loan_delivered, dispatch_uid="requests.delivered")
