"""Refuse to start a production process on unsafe settings."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MISSING = (
    "SECRET_KEY must be set when DEBUG is off. Production: set SECRET_KEY (50+ random "
    "characters); development: set DEBUG=1 (`make run` and the tests do)."
)


def secret_key_problem() -> str | None:
    return SECRET_KEY_MISSING if settings.SECRET_KEY_MISSING else None


def require_safe_settings() -> None:
    """Called by the WSGI/ASGI application and the Celery app before they serve anything."""
    problem = secret_key_problem()
    if problem:
        raise ImproperlyConfigured(problem)
