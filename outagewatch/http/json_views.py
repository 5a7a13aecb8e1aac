"""The JSON addresses outside /api/ (a page's live.json, the report form's regions): read-only,
and their errors in the API's one format ``{"detail", "code"}``, not as HTML pages.

A script polling one of them, or a client that found it in docs/catalog.md, reads the body as
JSON whatever the status; an HTML 404 page or Django's CSRF 403 page is not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from outagewatch.http.errors import api_error

View = Callable[..., HttpResponse]
READ_METHODS = ("GET", "HEAD")


def json_read(view: View) -> View:
    """`view` for GET and HEAD; any other method a JSON 405 with Allow, Http404 a JSON 404.

    Exempt from the CSRF check: it would refuse a POST with its HTML 403 before the 405, and
    a view that only reads has nothing to protect.
    """

    @wraps(view)
    def read(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in READ_METHODS:
            response = api_error(
                405, f"Method “{request.method}” not allowed.", "method_not_allowed"
            )
            response["Allow"] = ", ".join(READ_METHODS)
            return response
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:  # with DEBUG, Django would answer its HTML debug page
            return api_error(404, str(exc) or "Not found.", "not_found")

    return csrf_exempt(read)
