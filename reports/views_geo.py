"""Website: the regions of a country, for the report form's list (static/js/report_form.js)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control

from outagewatch.http.json_views import json_read
from reports.geo import country_lookup, subdivision_choices


@json_read
@cache_control(public=True, max_age=86400)  # ISO 3166-2 changes with a pycountry upgrade
def regions(request: HttpRequest, country: str) -> JsonResponse:
    code = country_lookup(country)
    if code is None or code != country.upper():
        raise Http404("No such country code.")
    return JsonResponse(
        {"country": code, "regions": [{"code": c, "name": n} for c, n in subdivision_choices(code)]}
    )
