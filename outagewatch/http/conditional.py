"""Conditional GET and HEAD for pages whose answer is rendered whole (the feeds)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import parse_http_date_safe


def conditional_read(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's conditional_page, for HEAD as well as GET: its middleware skips HEAD (a HEAD
    body may be empty there), so a reader checking a feed with HEAD got no ETag and never a
    304 (API tester). The view renders its whole body on HEAD too, so the tag is the GET's."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if response.streaming:
            return response
        if not response.has_header("ETag"):
            set_response_etag(response)
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
        answered = get_conditional_response(
            request, etag=response["ETag"], last_modified=last_modified, response=response
        )
        return response if answered is None else answered  # None only when given no response

    return wrapped
