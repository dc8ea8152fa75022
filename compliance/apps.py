from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    label = "compliance"

    def ready(self) -> None:
        from borrowdesk.refdata.signals import counterparty_saved, custody_account_saved
        from compliance import receivers
        from inventory.signals import loan_returned

        counterparty_saved.connect(receivers.on_counterparty_saved, dispatch_uid="compliance.screen_cp")
        custody_account_saved.connect(
            receivers.on_custody_account_saved, dispatch_uid="compliance.screen_acct"
        )
        loan_returned.connect(receivers.on_loan_returned, dispatch_uid="compliance.aml_loan_returned")
