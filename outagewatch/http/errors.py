"""Error answers outside DRF's views: JSON under /api/ and at the pages' JSON addresses
(``*.json``: live.json, regions/XX.json), HTML pages for the website.

Django's own handlers answer HTML everywhere; an API client that hits an unknown URL, a
crash or a database outage must still get the one error format ``{"detail", "code"}``.
"""

from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.html import escape
from django.views import defaults

API_PREFIX = "/api/"
JSON_SUFFIX = ".json"
# A database that is restarting or failing over is usually back within this many seconds.
DATABASE_RETRY_AFTER_SECONDS = 30
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Sent with `request` whenever a request is answered 503 for want of a database: what it asked
# for was not done (the reports app counts the report submissions among them, reports.intake).
database_unavailable_answered = Signal()


# Plain HTML, no template: it is answered where rendering may be what failed.
_BAD_REQUEST_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>Bad request · OutageWatch</title>"
    '<link rel="stylesheet" href="/static/css/site.css"></head><body><main class="wrap">'
    '<section class="card"><h1>Bad request</h1><p>%s <a href="/">Back to OutageWatch</a>.</p>'
    "</section></main></body></html>"
)


def bad_request_page(message: str, status: int = 400) -> HttpResponse:
    """A website error with a sentence the visitor can act on (message: plain text)."""
    return HttpResponse(_BAD_REQUEST_PAGE % escape(message), status=status)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def answers_json(request: HttpRequest) -> bool:
    """The API, or a JSON address of the website (its script polls it and reads JSON)."""
    return is_api(request) or request.path.endswith(JSON_SUFFIX)


def api_error(
    status: int, detail: str, code: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    # The field messages are one mapping, not keyword arguments: a field may be called
    # "status" or "code" (a query parameter's name, chosen by the client).
    body: dict = {"detail": detail, "code": code}
    if fields:
        body["fields"] = fields
    return JsonResponse(body, status=status)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the request may well succeed when repeated shortly."""
    database_unavailable_answered.send(sender=None, request=request)
    if answers_json(request):
        response: HttpResponse = api_error(
            503, "The service is temporarily unavailable; try again shortly.", "unavailable"
        )
    else:
        html = loader.render_to_string("503.html", request=None)
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request) and not request.path.endswith("/") and _resolves(f"{request.path}/"):
        return api_error(
            404, f"Not found. Did you mean {request.path}/ (with the final slash)?", "not_found"
        )
    if answers_json(request):
        return api_error(404, "Not found.", "not_found")
    return defaults.page_not_found(request, exception)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while the exception is being handled, so it can still be told apart.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    if answers_json(request):
        return api_error(500, "Server error.", "server_error")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. On the website it is nearly always a form kept open past its token,
    or a browser that blocks our cookie: say what to do, not Django's account of the Referer
    header. ``reason`` (Django's) goes to neither: it helps no visitor."""
    if answers_json(request):
        return api_error(403, "Forbidden: the request's CSRF check failed.", "csrf_failed")
    return HttpResponse(loader.render_to_string("403_csrf.html", request=request), status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if answers_json(request):
        if isinstance(exception, RequestDataTooBig):  # Django's own body limit
            return api_error(413, "Request body is too large.", "payload_too_large")
        return api_error(400, "Bad request.", "bad_request")
    if isinstance(exception, RequestDataTooBig):
        return bad_request_page("What you sent is too large for us to read.", status=413)
    return bad_request_page("We could not read what your browser sent. Please try again.")
