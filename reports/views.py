"""Website views: the catalog and the report form."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from detection import live
from detection import views as live_views
from detection.cache import cached_read
from detection.presentation import country_name
from outagewatch.api.throttling import ClientRateLimit, throttle_unchecked
from outagewatch.clients import client_address
from reports import selectors, services
from reports.cache import catalog_get, catalog_service
from reports.forms import ReportForm, placed_tag
from reports.geo import COUNTRY_COOKIE, country_guess
from reports.models import Report

# The report form's confirmations are shown in its card (templates/reports/_report_form.html).
AT_REPORT = placed_tag("report")


def home(request: HttpRequest) -> HttpResponse:
    # NUL cannot be searched for (PostgreSQL refuses it); RequestGuardMiddleware refuses
    # such addresses already, this keeps the view safe on its own.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    notice = live.pipeline_notice()
    # The live answer an open page polls (rebuilt after each detection tick, shared by every
    # visitor): the page shows its board and cards as they are.
    body = live_views.home_body(notice=notice)
    grid, found = _catalog_grid(query, body)
    context = {
        "query": query,
        "catalog_grid": grid,
        "found": found,
        **live_views.page_live(body),
        "pipeline_notice": notice,
    }
    return render(request, "reports/home.html", context)


def _catalog_grid(query: str, body: dict[str, Any]) -> tuple[str, bool]:
    """The catalog by category, each service with its card from the live answer, and
    whether any service matched the search.

    Without a search it is the same for every visitor until the catalog or the cards change,
    so it is rendered once per catalog version and live answer: it was nine tenths of the
    home page's cost, for a page every visitor of an outage day opens first
    (bench/web/README.md). A search's results are rendered for it (any query; not cached).
    """
    catalog_version = catalog_get().version
    if query or catalog_version is None:  # None: Redis is away, nothing is cached anyway
        categories = selectors.categories_with_services(search=query)
        return _grid_html(categories, body["cards"]), bool(categories)

    def build() -> str:
        return _grid_html(selectors.categories_with_services(), body["cards"])

    return cached_read(f"home-grid:{catalog_version}:{body['etag']}", build), True


def _grid_html(categories: list[Any], cards: dict[str, dict[str, str]]) -> str:
    quiet = render_to_string("detection/_card_status.html", {"level": "ok"})
    for category in categories:
        for service in category.matching:
            card = cards.get(service.slug)
            service.level = card["level"] if card else "ok"
            # Rendered by detection.views from its template, escaped there.
            service.card_status = mark_safe(card["html"] if card else quiet)
    return render_to_string("reports/_catalog_grid.html", {"categories": categories})


def _region_dropped(form: ReportForm) -> str:
    country = country_name(form.cleaned_data["country"])
    return (
        f"We did not recognise “{form.region_dropped}” as a region of {country}, so your "
        "report was saved without a region."
    )


SUBSCRIBE_TEMPLATE = "alerts/_subscribe_form.html"


def _subscribe_template() -> str | None:
    """The subscription form, once the alerts app provides it."""
    try:
        return select_template([SUBSCRIBE_TEMPLATE]).template.name
    except TemplateDoesNotExist:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # The process's catalog copy (reports.cache), as report ingestion reads it: the page
    # asked the database for the service and its problem types on every view.
    entry = catalog_service(slug.lower())
    if entry is None:
        raise Http404("No such service.")
    service = entry.service

    status = 200
    retry_after = None
    if request.method == "POST":
        form = ReportForm(request.POST, service=service)
        # Validated before the allowance is counted: a mistake sends nothing, and must not use
        # up the reporter's minute.
        valid = form.is_valid()
        limit = ClientRateLimit("reports")
        if valid and not limit.check(request):
            messages.error(
                request, "You are sending reports too fast. Please wait a minute.", AT_REPORT
            )
            status = 429
            retry_after = str(max(1, math.ceil(limit.wait() or 60)))
        elif valid:
            try:
                created = services.report_create(
                    **form.cleaned_data,
                    service=service,
                    source=Report.Source.WEB,
                    address=client_address(request),
                    countable=not throttle_unchecked(request),
                )
            except services.CatalogChanged:  # the service was retired as we wrote
                raise Http404("No such service.") from None
            level = messages.SUCCESS if created.counted else messages.INFO
            messages.add_message(request, level, created.message, AT_REPORT)
            if form.region_dropped:
                messages.info(request, _region_dropped(form), AT_REPORT)
            sent = redirect(f"{service.get_absolute_url()}#report")
            sent.set_cookie(
                COUNTRY_COOKIE,
                form.cleaned_data["country"],
                max_age=365 * 86400,
                samesite="Lax",
                # Only the server reads it; over HTTPS it must never travel in clear text.
                httponly=True,
                secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
            )
            return sent
        else:
            messages.error(request, "Your report was not sent: please check below.", AT_REPORT)
            status = 400
    else:
        form = ReportForm(service=service, initial={"country": country_guess(request)})
    notice = live.pipeline_notice()
    read = live.service_live(service=service)
    context = {
        "service": service,
        "form": form,
        "problems": list(entry.problems.values()),
        "subscribe_template": _subscribe_template(),
        **live_views.service_context(read),
        **live_views.page_live(live_views.service_body(service, notice=notice, read=read)),
        "pipeline_notice": notice,
    }
    response = render(request, "reports/service_detail.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = retry_after
    return response
