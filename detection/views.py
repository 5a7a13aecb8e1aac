"""Outage pages (the site-wide outage history, one outage with its timeline) and the live
parts of the service, home and outage pages as JSON for static/js/status.js."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from detection import live, presentation, selectors
from detection.cache import cached_read
from detection.models import Outage
from outagewatch.http.json_views import json_read
from reports.cache import catalog_service
from reports.models import Service

# The parts of a service page that refresh together, by the data-live name of their root.
SERVICE_REGIONS = {
    "status": "detection/_live_status.html",
    "official": "detection/_live_official.html",
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
    "outage-official": "detection/_outage_official.html",
    "outage-upstream": "detection/_outage_upstream.html",
}


def outage_list(request: HttpRequest) -> HttpResponse:
    """Every outage, or one service's (``?service=<slug>``: the service page's history
    lists only the newest few and links here for the rest)."""
    slug = request.GET.get("service", "").strip()
    service = None
    if slug:
        entry = catalog_service(slug.lower())
        if entry is None:
            # A page that says what was not found, with the way back, rather than the whole
            # list with the filter silently dropped (which read as this service's history).
            context: dict[str, Any] = {"unknown_service": slug}
            return render(request, "detection/outage_list.html", context, status=404)
        service = entry.service
        if service.slug != slug:
            # A former slug or another case (docs/catalog.md): one list keeps one address.
            return HttpResponsePermanentRedirect(_list_address(service.slug, request))
    outages = selectors.outage_list(service=service)
    page = Paginator(outages, 50).get_page(request.GET.get("page"))
    page.object_list = selectors.outages_cold_marked(list(page.object_list))
    context = {"page": page, "outages": page, "service": service, "show_service": not service}
    return render(request, "detection/outage_list.html", context)


def _list_address(slug: str, request: HttpRequest) -> str:
    query = request.GET.copy()
    query["service"] = slug
    return f"{reverse('detection:outages')}?{query.urlencode()}"


def _outage(pk: int) -> Outage:
    try:
        return selectors.outage_get(outage_id=pk)
    except Outage.DoesNotExist:
        raise Http404("No such outage.") from None


def outage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    outage = _outage(pk)
    notice = live.pipeline_notice()
    read = live.outage_live(outage=outage)
    body = outage_body(outage.pk, notice=notice, read=read)
    context = {
        **outage_context(read),
        **page_live(body),
        # An ongoing outage's page froze at "Ongoing" with a stopped detector, and said nothing.
        "pipeline_notice": notice,
    }
    return render(request, "detection/outage_detail.html", context)


def page_live(body: dict[str, Any]) -> dict[str, Any]:
    """What a live page takes from its live answer: the ETag its first poll sends, and the
    regions as the answer has them (``outage-when`` as ``live_regions.outage_when``).

    The regions are rendered once per data version and shared by every visitor; each page
    view rendered them again (8 of a service page's 28 ms in process, bench/web/README.md).
    They come from render_to_string, escaped there, hence safe.
    """
    regions = {name.replace("-", "_"): mark_safe(html) for name, html in body["regions"].items()}
    return {"live_etag": body["etag"], "live_regions": regions}


def outage_context(read: live.OutageLive) -> dict[str, Any]:
    return {
        "live": read,
        "outage": read.outage,
        "service": read.outage.service,
        "series": read.series,
        "highlight": read.highlight,
        "state": read.state,
        "events": read.timeline.events,
        "timeline_earlier": presentation.timeline_earlier(
            read.timeline.earlier, shown=len(read.timeline.events)
        ),
        "evidence": read.timeline.evidence,
        "countries": read.countries,
        "problems": read.problems,
        "official": read.official,
        "upstream": read.upstream,
        # No history when it was judged: the words claim no "normal" and no "own history"
        # (F22); an outage opened before that was recorded goes by the series' baseline now.
        "cold": read.outage.judged_cold
        if read.outage.judged_cold is not None
        else presentation.cold_start(read.series.baseline_method),
    }


def service_context(read: live.ServiceLive) -> dict[str, Any]:
    """What the live parts of a service page read (the page adds its forms)."""
    return {"live": read, "service": read.state.service, "live_hours": live.LIVE_HOURS}


# An open page polls its answer every 30 s, so on the day a giant service breaks the polls
# outnumber the page views: an unchanged answer (a 304) asks the database nothing. The
# service comes from the process's catalog copy; the outage is looked up when its answer is
# computed, once per tick.


@json_read
def service_live(request: HttpRequest, slug: str) -> HttpResponse:
    entry = catalog_service(slug.lower())
    if entry is None:
        raise Http404("No such service.")
    return _answer(request, service_body(entry.service))


@json_read
def outage_live(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, outage_body(pk))


@json_read
def home_live(request: HttpRequest) -> HttpResponse:
    return _answer(request, home_body())


# The answers, rendered once per data version and shared by every open page. Their "etag"
# (a hash of the content, as the API's ETags are) is also in the page they refresh, so a
# page's first poll changes nothing unless something changed since it was rendered. The
# pipeline notice is added to each answer when it is served: a stopped detector brings no
# next data version, so a page left open kept "No problems" and never got the notice a
# reload showed (ops tester, fifty-fourth session). `notice`: the page's own, read once.


def service_body(
    service: Service, *, notice: str | None = None, read: live.ServiceLive | None = None
) -> dict[str, Any]:
    """`read`: the page's own live read, when it has one. Without a cache (Redis away) the
    read is computed, not fetched, and the page would otherwise compute it twice."""

    def build() -> dict[str, Any]:
        service_read = live.service_live(service=service) if read is None else read
        regions = _render(SERVICE_REGIONS, service_context(service_read))
        return _body(level=service_read.code, regions=regions)

    return _with_pipeline(cached_read(f"live-json:service:{service.pk}", build), notice)


def outage_body(
    pk: int, *, notice: str | None = None, read: live.OutageLive | None = None
) -> dict[str, Any]:
    """`read`: as service_body's. Without it the outage is read only to compute the answer
    (Http404 when there is none: never cached)."""

    def build() -> dict[str, Any]:
        outage_read = live.outage_live(outage=_outage(pk)) if read is None else read
        regions = _render(OUTAGE_REGIONS, outage_context(outage_read))
        return _body(level=outage_read.state.code, regions=regions)

    return _with_pipeline(cached_read(f"live-json:outage:{pk}", build), notice)


def home_body(*, notice: str | None = None) -> dict[str, Any]:
    return _with_pipeline(cached_read("live-json:home", _home_build), notice)


def _with_pipeline(body: dict[str, Any], notice: str | None) -> dict[str, Any]:
    notice = live.pipeline_notice() if notice is None else notice
    html = render_to_string("detection/_pipeline_notice.html", {"pipeline_notice": notice})
    etag = hashlib.sha256(f"{body['etag']}|{html}".encode()).hexdigest()[:20]
    return {**body, "etag": etag, "regions": {**body.get("regions", {}), "pipeline": html}}


def _home_build() -> dict[str, Any]:
    read = live.home_live()
    cards = {
        slug: {
            "level": read.levels.get(pk, "ok"),
            "html": render_to_string(
                "detection/_card_status.html",
                {
                    "level": read.levels.get(pk, "ok"),
                    "state": read.states.get(pk),
                    "line": read.lines.get(pk),
                },
            ),
        }
        for pk, slug in read.slugs.items()
    }
    board = render_to_string(
        "detection/_home_board.html", {"board": read.board, "upstreams": read.upstreams}
    )
    return _body(regions={"board": board}, cards=cards)


def _render(regions: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
    return {name: render_to_string(template, context) for name, template in regions.items()}


def _body(**parts: Any) -> dict[str, Any]:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return {"etag": hashlib.sha256(text.encode()).hexdigest()[:20], **parts}


def _answer(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    etag = f'"{body["etag"]}"'
    response: HttpResponse
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = JsonResponse(body)
    response["ETag"] = etag
    # Polled: never kept by a shared cache, always asked again (a 304 while unchanged).
    response["Cache-Control"] = "no-cache, max-age=0"
    return response
