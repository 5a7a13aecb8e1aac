"""Middleware: guards every request passes before a view sees it, and headers on every answer.

- RequestGuardMiddleware: NUL bytes in the query string or in website form values
  (PostgreSQL refuses them in text, so any value that reaches a query would crash with
  500; JSON bodies are checked by outagewatch.api.parsers) and API bodies that are too
  large or chunked (no Content-Length: read here, bounded, so the parser sees them).
- DatabaseUnavailableMiddleware: a database that does not answer is a 503 with
  Retry-After, not a 500.
- AdminLoginRateLimitMiddleware: password guessing on /admin/login/ is limited per client.
- SecurityHeadersMiddleware: Content-Security-Policy and Permissions-Policy everywhere.
- DebugApiNotFoundMiddleware: in development mode too, an unknown URL under /api/ (or at a
  ``*.json`` address) is the API's JSON 404.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.shortcuts import render
from django.urls import reverse

from outagewatch.api.throttling import ClientRateLimit, throttle_unchecked
from outagewatch.http.errors import (
    DATABASE_ERRORS,
    answers_json,
    api_error,
    bad_request_page,
    database_unavailable,
    is_api,
    page_not_found,
)

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]
NUL_MESSAGE = "Must not contain NUL (0x00) characters."


class RequestGuardMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._query_with_nul(request)
        if refused is None and request.method not in ("GET", "HEAD"):
            refused = (
                self._body_refused(request) if is_api(request) else self._form_with_nul(request)
            )
        return refused or self.get_response(request)

    @staticmethod
    def _form_with_nul(request: HttpRequest) -> HttpResponse | None:
        """Website forms: Django's CharField refuses NUL, but not every field is one."""
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return None
        if any(
            "\x00" in name or "\x00" in value
            for name, values in request.POST.lists()
            for value in values
        ):
            return bad_request_page("The form contains a character we cannot store.")
        return None

    @staticmethod
    def _query_with_nul(request: HttpRequest) -> HttpResponse | None:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" not in query and "%00" not in query:
            return None
        names = sorted(
            {
                name
                for name, value in parse_qsl(query, keep_blank_values=True)
                if "\x00" in name or "\x00" in value
            }
        )
        if not answers_json(request):
            message = "The address contains a character that cannot be searched for."
            return bad_request_page(message)
        fields = {name.replace("\x00", "") or "query": [NUL_MESSAGE] for name in names}
        return api_error(400, "Invalid input.", "invalid", fields or {"query": [NUL_MESSAGE]})

    @staticmethod
    def _body_refused(request: HttpRequest) -> HttpResponse | None:
        """413 for bodies over API_MAX_BODY_BYTES; chunked bodies read here (bounded).

        Refusing by the declared length first means Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        check (an HTML 400) is never what an API client sees.
        """
        limit = settings.API_MAX_BODY_BYTES

        def too_large() -> HttpResponse:
            return api_error(
                413, f"Request body is larger than {limit} bytes.", "payload_too_large"
            )

        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.strip():
            return too_large() if declared.isdigit() and int(declared) > limit else None
        if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        # No Content-Length: a WSGI server (gunicorn's sync workers) hands the de-chunked
        # body over in wsgi.input, but Django and DRF treat a request without one as empty.
        # Read it now, at most one byte past the limit, and present it as an ordinary body
        # of known length. (Under ASGI, outagewatch.asgi_guard has set the length already;
        # without it, Django's ASGI request holds the whole body in its own stream.)
        wsgi_input = request.META.get("wsgi.input")
        body = (wsgi_input or request).read(limit + 1)
        if len(body) > limit:
            return too_large()
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = io.BytesIO(body)  # where HttpRequest.read() and .body read from
        return None


class DatabaseUnavailableMiddleware:
    """503 + Retry-After when a view cannot reach the database (handler500 covers the rest)."""

    _last_logged = 0.0

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        # One line a minute, not a traceback per request, while the database is away.
        now = time.monotonic()
        if now - DatabaseUnavailableMiddleware._last_logged > 60:
            DatabaseUnavailableMiddleware._last_logged = now
            logger.error("Database unavailable, answering 503: %s", exception)
        return database_unavailable(request)


class AdminLoginRateLimitMiddleware:
    """At most THROTTLE_ADMIN_LOGIN login attempts per client address (scope admin-login)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.login_path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.login_path:
            self.login_path = reverse("admin:login")
        if request.method == "POST" and request.path == self.login_path:
            limit = ClientRateLimit("admin-login")
            allowed = limit.check(request)
            if throttle_unchecked(request):
                # Reports are taken while Redis is down (stored, not counted); passwords are
                # not: unlimited guessing until it is back is worse than a minute's wait.
                response = render(request, "503.html", {"what": "sign-in"}, status=503)
                response["Retry-After"] = "60"
                return response
            if not allowed:
                context = {"what": "sign-in attempts"}
                response = render(request, "429.html", context, status=429)
                response["Retry-After"] = str(max(1, math.ceil(limit.wait() or 60)))
                return response
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    The site loads nothing from elsewhere and has no inline code, so the policy is
    'self' only. The API docs (Swagger UI) need inline styles and data: images.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.docs_path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not self.docs_path:
            self.docs_path = reverse("api-docs")
        docs = request.path.startswith(self.docs_path)
        policy = settings.CSP_API_DOCS if docs else settings.CONTENT_SECURITY_POLICY
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class DebugApiNotFoundMiddleware:
    """With DEBUG on, Django answers an unknown URL with its HTML debug page instead of calling
    handler404; under /api/ a client (and a developer trying the API under `make run`) gets the
    JSON 404 that production gives. The debug page of a crash is left as it is: that one is for
    the developer. Without DEBUG this middleware takes itself out of the chain."""

    def __init__(self, get_response: Handler) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and answers_json(request)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return page_not_found(request, Http404())
        return response


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, without APPEND_SLASH under /api/: its redirect is an HTML 301 that a client
    follows with a GET (a POST to /api/v1/reports became a 405), and with DEBUG a POST there
    raised RuntimeError (a 500). The API answers its JSON 404, naming the path with the slash."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        return not is_api(request) and super().should_redirect_with_slash(request)
