"""Django's email pointed at a plain local relay (aiosmtpd on 127.0.0.1) through the app's own
backend, as EMAIL_HOST sets it: for the tests and bench/alerts."""

from __future__ import annotations

from typing import Any


def relay_settings(settings: Any, port: int) -> None:
    """`settings`: pytest-django's fixture, or django.conf.settings in a script."""
    settings.EMAIL_BACKEND = "alerts.channels.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
