"""Reads: the catalog and its comments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Case, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, NullIf

from reports.models import COMMENT_HIDE_AFTER_FLAGS, Category, Report, Service
from reports.search import service_search, service_terms, website_term

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def report_site() -> Coalesce:
    """A report's site (reports.networks: an IPv4 /24, an IPv6 /48), as a query expression:
    the unit of evidence one machine cannot multiply by rotating /56s within its /48. A report
    stored before sites were kept stands for its network."""
    return Coalesce(NullIf("site_key", Value("")), "reporter_key")


def report_site_sql(alias: str) -> str:
    """report_site() in raw SQL, on the reports table named `alias` in the statement."""
    return f"COALESCE(NULLIF({alias}.site_key, ''), {alias}.reporter_key)"


def service_list(*, search: str = "", category: str = "") -> QuerySet[Service]:
    services = (
        Service.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related("problem_types")
    )
    if search and not any(char.isalnum() for char in search):
        # Only punctuation, emoji or spaces: nothing a name can match. reports.search drops
        # such characters, and the empty needle left listed every service, which is the
        # answer to no search at all, not to this one.
        return services.none()
    ranked: list[str] = []
    if search:
        # Typos, aliases and category words (reports.search); the match itself is in memory.
        ranked = service_search(search)
        services = services.filter(slug__in=ranked)
    if category:
        services = services.filter(category__slug=category)
    if not ranked:
        return services.order_by("name")
    # Best match first ("x" -> X (Twitter), then names that merely contain an x).
    rank = Case(*(When(slug=slug, then=Value(i)) for i, slug in enumerate(ranked)))
    return services.order_by(rank, "name")


def service_get(*, slug: str) -> Service:
    """The active service with this slug, in any case (slugs are stored in lower case, and
    the filters of the API take ?service=ChatGPT as well); raises Service.DoesNotExist."""
    return (
        Service.objects.select_related("category")
        .prefetch_related("problem_types")
        .get(slug=slug.lower(), is_active=True)
    )


def service_providers() -> dict[str, list[str]]:
    """Every catalog service's providers by slug (services with none map to []): what
    detection.core.upstream weighs outages against."""
    deps: dict[str, list[str]] = {
        slug: [] for slug in Service.objects.values_list("slug", flat=True)
    }
    pairs = Service.providers.through._default_manager.values_list(
        "service__slug", "provider__slug"
    )
    for service, provider in pairs:
        deps[service].append(provider)
    return deps


class _Matching(TypedDict):
    matching: list[Service]


def categories_with_services(*, search: str = "") -> list[WithAnnotations[Category, _Matching]]:
    """Categories that have matching active services, each with ``.matching`` filled."""
    # Without the services' problem types (service_list's prefetch): the home page shows
    # none, and they were 1,700 objects a request.
    services = service_list(search=search).prefetch_related(None)
    categories = Category.objects.prefetch_related(
        Prefetch("services", queryset=services, to_attr="matching")
    )
    found = [category for category in categories if category.matching]
    if search:
        # The category of the best match first: the page lists services by category.
        ranked = {slug: i for i, slug in enumerate(service_search(search))}
        found.sort(key=lambda c: min(ranked.get(s.slug, len(ranked)) for s in c.matching))
    for category in found:
        for service in category.matching:
            # What the live filter (static/js/filter.js) matches the typed words against.
            service.search_terms = "|".join(
                service_terms(
                    slug=service.slug,
                    name=service.name,
                    category_slug=category.slug,
                    category_name=category.name,
                )
            )
            service.search_website = website_term(service.website)
    return found


# A comment the pages and the API may show: counted, and neither hidden by a moderator nor
# flagged away by readers (COMMENT_HIDE_AFTER_FLAGS blocks).
COMMENT_SHOWN = Q(counted=True, comment_hidden=False, comment_flags__lt=COMMENT_HIDE_AFTER_FLAGS)


def comment_shown(report: Report) -> bool:
    """COMMENT_SHOWN of one report in hand (the admin's column), without a query."""
    return bool(
        report.comment
        and report.counted
        and not report.comment_hidden
        and report.comment_flags < COMMENT_HIDE_AFTER_FLAGS
    )


def comment_list(
    *,
    service: Service,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Report]:
    """Comments people may read: of counted reports, not hidden or flagged away, newest first.

    Only what a page or the API shows is loaded: never the network hashes.
    """
    comments = (
        Report.objects.filter(COMMENT_SHOWN, service=service)
        .exclude(comment="")
        .select_related("problem")
        .only("id", "comment", "created_at", "country", "problem__slug", "problem__name")
    )
    if since is not None:
        comments = comments.filter(created_at__gte=since)
    if until is not None:
        comments = comments.filter(created_at__lt=until)
    return comments.order_by("-created_at", "-id")
