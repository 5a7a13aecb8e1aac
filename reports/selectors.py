"""Reads: the catalog."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from reports.models import Category, Service


def service_list(*, search: str = "", category: str = "") -> QuerySet[Service]:
    services = (
        Service.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related("problem_types")
    )
    if search:
        services = services.filter(name__icontains=search.strip())
    if category:
        services = services.filter(category__slug=category)
    return services.order_by("name")


def service_get(*, slug: str) -> Service:
    """The active service with this slug; raises Service.DoesNotExist."""
    return (
        Service.objects.select_related("category")
        .prefetch_related("problem_types")
        .get(slug=slug, is_active=True)
    )


def categories_with_services(*, search: str = "") -> list[Category]:
    """Categories that have matching active services, each with ``.matching`` filled."""
    categories = Category.objects.prefetch_related(
        Prefetch("services", queryset=service_list(search=search), to_attr="matching")
    )
    return [category for category in categories if category.matching]
