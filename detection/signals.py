"""Catalog edits (the admin, `catalog_load`) make the cached detection reads stale at once, as
a tick does: those answers carry each service's name, website and problem types, and a
retired service's."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from detection.cache import data_version_bump
from reports.models import Category, ProblemType, Provider, Service


def catalog_changed(*, using: str = "default", **kwargs: Any) -> None:
    if kwargs.get("action", "post_").startswith("pre_"):
        return  # m2m_changed fires before and after; the "post_" half is the edit
    # After the commit, as reports.signals announces it: a read computed before would be
    # cached again under the new version.
    transaction.on_commit(data_version_bump, using=using)


def connect() -> None:
    # Without it a rename reached the read API at the next tick (a minute), and a retired
    # service kept answering there while its page was a 404; with ticks stopped, until the
    # cached answers expired.
    for model in (Service, ProblemType, Category, Provider):
        for signal in (post_save, post_delete):
            uid = f"detection-reads-{model.__name__}"
            signal.connect(catalog_changed, sender=model, dispatch_uid=uid)
    for through in (Service.problem_types.through, Service.providers.through):
        m2m_changed.connect(
            catalog_changed, sender=through, dispatch_uid=f"detection-reads-{through.__name__}"
        )
