from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "treasury"
    label = "treasury"

    def ready(self) -> None:
        from treasury import receivers  # noqa: F401 (connects the receivers)
