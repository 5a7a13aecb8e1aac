from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks

from outagewatch.startup import secret_key_problem


class OutageWatchConfig(AppConfig):
    name = "outagewatch"
    verbose_name = "OutageWatch"

    def ready(self) -> None:
        checks.register(secret_key_check)


def secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error, not a deploy warning: runserver, migrate and check all stop on it."""
    problem = secret_key_problem()
    return [checks.Critical(problem, id="outagewatch.E001")] if problem else []
