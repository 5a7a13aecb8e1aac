"""Outage pages (the site-wide outage history, one outage with its timeline) and the live
parts of the service, home and outage pages as JSON for static/js/status.js."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from detection import live, selectors
from detection.cache import cached_read
from detection.models import Outage
from reports import selectors as catalog
from reports.models import Service

# The parts of a service page that refresh together, by the data-live name of their root.
SERVICE_REGIONS = {
    "status": "detection/_live_status.html",
    "chart": "detection/_live_charts.html",
    "problems": "detection/_live_problems.html",
    "where": "detection/_live_where.html",
    "outages": "detection/_live_outages.html",
}
OUTAGE_REGIONS = {
    "outage-when": "detection/_outage_when.html",
    "outage-explanation": "detection/_outage_live_explanation.html",
    "outage-chart": "detection/_outage_chart.html",
    "outage-timeline": "detection/_outage_live_timeline.html",
    "outage-where": "detection/_outage_where.html",
}


def outage_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.outage_list(), 50).get_page(request.GET.get("page"))
    return render(request, "detection/outage_list.html", {"page": page, "outages": page})


def _outage(pk: int) -> Outage:
    try:
        return selectors.outage_get(outage_id=pk)
    except Outage.DoesNotExist:
        raise Http404("No such outage.") from None


def outage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    read = live.outage_live(outage=_outage(pk))
    return render(request, "detection/outage_detail.html", outage_context(read))


def outage_context(read: live.OutageLive) -> dict[str, Any]:
    return {
        "live": read,
        "outage": read.outage,
        "service": read.outage.service,
        "series": read.series,
        "highlight": read.highlight,
        "state": read.state,
        "events": read.events,
        "countries": read.countries,
        "problems": read.problems,
    }


def service_context(read: live.ServiceLive) -> dict[str, Any]:
    """What the live parts of a service page read (the page adds its forms)."""
    return {"live": read, "service": read.state.service, "live_hours": live.LIVE_HOURS}


@require_safe
def service_live(request: HttpRequest, slug: str) -> JsonResponse:
    try:
        service = catalog.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None
    read = live.service_live(service=service)
    return _answer(
        f"service:{service.pk}",
        lambda: {
            "version": read.version,
            "level": read.code,
            "regions": _render(SERVICE_REGIONS, service_context(read)),
        },
    )


@require_safe
def outage_live(request: HttpRequest, pk: int) -> JsonResponse:
    read = live.outage_live(outage=_outage(pk))
    return _answer(
        f"outage:{pk}",
        lambda: {
            "version": read.version,
            "level": read.state.code,
            "regions": _render(OUTAGE_REGIONS, outage_context(read)),
        },
    )


@require_safe
def home_live(request: HttpRequest) -> JsonResponse:
    read = live.home_live()

    def body() -> dict[str, Any]:
        cards = {
            slug: {
                "level": read.levels.get(pk, "ok"),
                "html": render_to_string(
                    "detection/_card_status.html",
                    {"level": read.levels.get(pk, "ok"), "line": read.lines.get(pk)},
                ),
            }
            for pk, slug in read.slugs.items()
        }
        board = render_to_string("detection/_home_board.html", {"board": read.board})
        return {"version": read.version, "regions": {"board": board}, "cards": cards}

    return _answer("home", body)


def _render(regions: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
    return {name: render_to_string(template, context) for name, template in regions.items()}


def _answer(name: str, body: Callable[[], dict[str, Any]]) -> JsonResponse:
    """The rendered parts, cached under the data version like the reads they come from."""
    response = JsonResponse(cached_read(f"live-json:{name}", body))
    # Polled every few seconds: never kept by a shared cache, always asked again.
    response["Cache-Control"] = "no-cache, max-age=0"
    return response
