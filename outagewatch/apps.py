from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks

from outagewatch.startup import production_warnings, secret_key_problem


class OutageWatchConfig(AppConfig):
    name = "outagewatch"
    verbose_name = "OutageWatch"

    def ready(self) -> None:
        checks.register(secret_key_check)
        checks.register(production_check, checks.Tags.security, deploy=True)


def secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error, not a deploy warning: runserver, migrate and check all stop on it."""
    problem = secret_key_problem()
    return [checks.Critical(problem, id="outagewatch.E001")] if problem else []


def production_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`check --deploy`: development defaults left in production (startup.py)."""
    return [checks.Warning(text, id=f"outagewatch.W{n:03d}") for n, text in production_warnings()]
