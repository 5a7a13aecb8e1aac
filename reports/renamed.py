"""The addresses of a renamed service keep working under its former slugs.

Links in old emails, bookmarks, search results and API clients name the slug a service had
when they were made; the catalog's ``renamed_from`` (reports.catalog_renames) must not break
them.

- GET and HEAD answer 301 to the same address under the current slug, pages and API alike.
  For the API a redirect rather than the same answer under the old address: one resource
  keeps one URL (its ETag, the caches in front of it), every HTTP client follows a 301 on a
  GET by default, and the Location tells an integration what to update, as the JSON body
  says in words. Answering under both would let old slugs live on in clients forever.
- Any other method (a report or a comment flag sent from a page loaded before the rename) is
  answered as the renamed service's. A 301 or 302 turns a browser's POST into a GET, and a
  308 relies on the client to send the body again: a report must not be lost on the way.
  The report form's own redirect after the POST then leads to the new address.

A slug in another case (``/services/ChatGPT/``) is the same service at a second address, so
it is followed the same way: 301 to the lower-case slug for GET and HEAD, any other method
answered as the service's. Slugs are lower case (docs/catalog.md); the views would find the
service in any case, and answered 200 at both addresses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import reverse

from reports.cache import catalog_renamed, catalog_service

View = Callable[..., HttpResponse]


def renamed_followed(view: View, *, api: bool = False) -> View:
    """`view`, for a URL with a `slug`, also under the service's former slugs."""

    @wraps(view)
    def followed(request: HttpRequest, *args: Any, slug: str, **kwargs: Any) -> HttpResponse:
        lowered = slug.lower()
        current = catalog_renamed(lowered)
        if current is None and lowered != slug and catalog_service(lowered) is not None:
            current = lowered
        if current is None:  # the current slug itself, or no service (the view's 404)
            return view(request, *args, slug=slug, **kwargs)
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, slug=current, **kwargs)
        return _moved(request, slug=slug, current=current, api=api)

    return followed


def _moved(request: HttpRequest, *, slug: str, current: str, api: bool) -> HttpResponse:
    match = request.resolver_match
    assert match is not None  # only ever called from a resolved URL
    location = reverse(match.view_name, kwargs={**match.kwargs, "slug": current})
    if query := request.META.get("QUERY_STRING", ""):
        location = f"{location}?{query}"
    response = HttpResponsePermanentRedirect(location)
    if api:
        # The API's one error format ({"detail", "code"}), for a client that does not follow.
        response["Content-Type"] = "application/json"
        if slug.lower() == current:
            detail = f"Service slugs are lower case: use {location}."
            code = "slug_case"
        else:
            detail = f"This service was renamed from “{slug}” to “{current}”: use {location}."
            code = "renamed"
        response.content = json.dumps({"detail": detail, "code": code})
    return response
