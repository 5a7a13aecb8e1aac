from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Catalog and reports"

    def ready(self) -> None:
        from reports import geo, signals

        geo.register_user_assigned_countries()
        signals.connect()
