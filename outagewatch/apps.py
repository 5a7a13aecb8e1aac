from django.apps import AppConfig


class OutageWatchConfig(AppConfig):
    name = "outagewatch"
    verbose_name = "OutageWatch"
