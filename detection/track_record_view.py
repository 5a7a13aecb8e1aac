"""The track-record page: detection.official.track_record in tables, one per span."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from detection import presentation
from detection.official.track_record import track_record_cached


@require_safe
def track_record_page(request: HttpRequest) -> HttpResponse:
    record = track_record_cached()
    spans = [
        {
            "days": days,
            "title": presentation.track_record_span(days),
            "summary": presentation.track_record_summary(record.overall[days], days=days),
            "overall": record.overall[days],
            "services": [(row, row.records[days]) for row in record.services],
        }
        for days in record.spans
    ]
    context = {
        "record": record,
        # Every service with an outage has a row: with no row's status page read, the overall
        # count of outages never acknowledged is not known either, not 0 (newcomer tester).
        "any_source": any(row.has_source for row in record.services),
        "spans": spans,
        "intro": presentation.TRACK_RECORD_INTRO,
        "columns": presentation.TRACK_RECORD_COLUMNS,
    }
    return render(request, "detection/track_record.html", context)
