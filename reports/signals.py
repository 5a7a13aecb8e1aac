"""Catalog edits reach every web process's in-memory catalog (reports.cache); report
submissions that found no database are counted (reports.intake)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest

from outagewatch.http.errors import database_unavailable_answered
from reports import intake
from reports.cache import catalog_forget, catalog_version_bump
from reports.models import Category, FormerSlug, ProblemType, Service


def catalog_changed(*, using: str = "default", **kwargs: Any) -> None:
    """This process forgets its copy now; the others hear of it once the edit is committed."""
    if kwargs.get("action", "post_").startswith("pre_"):
        return  # m2m_changed fires before and after; the "post_" half is the edit
    catalog_forget()
    transaction.on_commit(catalog_version_bump, using=using)


def submission_unanswered(*, request: HttpRequest, **kwargs: Any) -> None:
    if intake.is_submission(request):
        intake.submission_failed()


def connect() -> None:
    # Former slugs are in the catalog too: an old address redirects by them (reports.renamed).
    for model in (Service, ProblemType, Category, FormerSlug):
        for signal in (post_save, post_delete):
            signal.connect(catalog_changed, sender=model, dispatch_uid=f"catalog-{model.__name__}")
    m2m_changed.connect(
        catalog_changed, sender=Service.problem_types.through, dispatch_uid="catalog-problems"
    )
    database_unavailable_answered.connect(submission_unanswered, dispatch_uid="intake-failed")
