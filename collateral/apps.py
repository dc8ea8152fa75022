from django.apps import AppConfig


class CollateralConfig(AppConfig):
    name = "collateral"
    label = "collateral"

    def ready(self) -> None:
        from borrowdesk.refdata.signals import price_applied
        from collateral import receivers

        price_applied.connect(receivers.on_price_applied, dispatch_uid="collateral.price_applied")
