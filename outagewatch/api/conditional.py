"""Conditional GETs for the read API: one ETag, one Cache-Control and one 304 rule for every
read, whether its answer is cached between detection ticks (detection.api.views) or computed
on each request (the catalog, comments).

Two mechanisms (Django's strong ETag on the rendered bytes for some reads, a weak one on the
JSON for others) made a client's `If-None-Match: "<hash>"` a 304 on some endpoints and a 200
on others, and left caches without a max-age for half of them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.http import parse_etags
from rest_framework.request import Request
from rest_framework.response import Response

# Browsers and proxies may reuse an answer this long without asking; detection ticks every
# minute, and revalidation after that is a cheap 304.
MAX_AGE_SECONDS = 15
CACHE_CONTROL = f"public, max-age={MAX_AGE_SECONDS}"


def content_etag(body: Any) -> str:
    """A weak ETag from the JSON body itself: equal only when the answer is. Weak because
    the bytes may differ (key order, spacing) where the data does not."""
    return tagged(body)[0]


def tagged(body: Any) -> tuple[str, int]:
    """The body's weak ETag and the length of its JSON: what a cache of answers weighs them
    by."""
    encoded = json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return f'W/"{hashlib.sha256(encoded.encode()).hexdigest()[:32]}"', len(encoded)


def not_modified(request: Request, etag: str) -> bool:
    """If-None-Match holds this ETag (weak comparison, RFC 9110 13.1.2: with or without
    the W/ a client may have dropped) or is `*`."""
    tags = parse_etags(request.headers.get("If-None-Match", ""))
    bare = etag.removeprefix("W/")
    return "*" in tags or any(tag.removeprefix("W/") == bare for tag in tags)


def conditional_response(
    request: Request, body: Any, etag: str | None = None, extra: dict[str, str] | None = None
) -> Response:
    """The 200 answer with its ETag and Cache-Control, or a 304 without a body when the
    client holds it already. Only for a resource that exists: `If-None-Match: *` must never
    hide a 404.

    `extra` headers go on both, outside the ETag: a 304 updates the headers a cache stored
    with the body (RFC 9111 4.3.4), so one that moves on every read (the outage list's
    X-Updated-Until) does not turn every revalidation into a 200."""
    etag = etag or content_etag(body)
    headers = {**(extra or {}), "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag):
        return Response(status=304, headers=headers)
    return Response(body, headers=headers)


class ConditionalRead:
    """A read answered through conditional_response. The OpenAPI schema documents
    If-None-Match, the 304 and the ETag and Cache-Control headers of every view that is one
    (outagewatch.api.openapi.ApiSchema), so no view lists them itself; `response_headers`
    (OpenAPI header objects by name) are the view's own, on its 200 and 304 alike."""

    response_headers: ClassVar[dict[str, dict[str, Any]]] = {}


class ConditionalListMixin(ConditionalRead):
    """For DRF's generic views, computed on each request: their 200 answer made
    conditional. Errors pass untouched (not tagged, not cached)."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code != 200:
            return response
        return conditional_response(request, response.data)
