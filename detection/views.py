"""Outage pages: the site-wide outage history and one outage with its timeline."""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from detection import selectors
from detection.models import Outage

# Context drawn around an outage on its chart.
_BEFORE = timedelta(hours=2)
_AFTER = timedelta(hours=1)


def outage_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.outage_list(), 50).get_page(request.GET.get("page"))
    return render(request, "detection/outage_list.html", {"page": page, "outages": page})


def outage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        outage = selectors.outage_get(outage_id=pk)
    except Outage.DoesNotExist:
        raise Http404("No such outage.") from None
    now = timezone.now()
    end = min((outage.resolved_at or now) + _AFTER, now)
    series = selectors.series_between(
        service=outage.service, start=outage.started_at - _BEFORE, end=end
    )
    context = {
        "outage": outage,
        "service": outage.service,
        "events": outage.events.all(),
        "countries": selectors.outage_countries(outage),
        "problems": selectors.outage_problems(outage),
        "series": series,
        "highlight": [(outage.started_at, outage.resolved_at)],
        "state": selectors.service_state_get(service=outage.service),
    }
    return render(request, "detection/outage_detail.html", context)
