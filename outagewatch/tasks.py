"""Periodic jobs of the site itself, not of one app."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="outagewatch.tasks.sessions_purge")
def sessions_purge_task() -> None:
    """Delete expired sessions. Django never does (its docs ask for `clearsessions` on a
    schedule): every manage-page action and admin sign-in left a row for ever, the first
    holding a webhook's signing secret (soak tester, forty-sixth session)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
