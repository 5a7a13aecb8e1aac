from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAcceptable

from outagewatch.api.health import HealthView, LiveView
from outagewatch.api.index import ApiRootView, ApiV1IndexView
from outagewatch.api.schema import SchemaView
from outagewatch.http.errors import api_error


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Pages link the SVG icon; tools that ask for the conventional address get it too (the
    hashed name is looked up per request: the manifest exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


api_v1: list[URLPattern | URLResolver] = [
    path("", ApiV1IndexView.as_view(), name="api-v1-index"),
    path("health/", HealthView.as_view(), name="health"),
    path("health/live/", LiveView.as_view(), name="health-live"),
    path("", include("reports.api.urls")),
    path("", include("detection.api.urls")),
    path("", include("alerts.api.urls")),
]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, for GET and HEAD only: its one renderer is an HTML template, which DRF's
    OPTIONS answer has none of, so OPTIONS was a 500 with a traceback (API tester F3)."""

    http_method_names = ["get", "head"]
    template_name = "api/docs.html"

    # The overrides answer a plain HttpResponse where DRF's stubs say Response: APIView's
    # dispatch takes any HttpResponseBase (finalize_response asserts no more).
    def http_method_not_allowed(  # type: ignore[override]
        self, request: Any, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        # As JSON, as every error under /api/ (its renderer would make an HTML page).
        response = api_error(405, f"Method “{request.method}” not allowed.", "method_not_allowed")
        response["Allow"] = "GET, HEAD"
        return response

    def handle_exception(self, exc: Exception) -> HttpResponse:  # type: ignore[override]
        # A client that accepts no HTML (Accept: application/json) got an HTML "406 Not
        # Acceptable" (API tester, forty-fourth session): every error under /api/ is JSON.
        if isinstance(exc, NotAcceptable):
            return api_error(
                406, "This page is HTML: read the schema at /api/schema/.", exc.default_code
            )
        return super().handle_exception(exc)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a script file, not inline, so the
    # Content-Security-Policy needs no 'unsafe-inline' for scripts.
    path("api/docs/", DocsView.as_view(url_name="schema"), name="api-docs"),
    path("favicon.ico", favicon),
    path("", include("reports.urls")),
    path("", include("detection.urls")),
    path("", include("alerts.urls")),
]

# JSON under /api/, the site's pages elsewhere.
handler400 = "outagewatch.http.errors.bad_request"
handler404 = "outagewatch.http.errors.page_not_found"
handler500 = "outagewatch.http.errors.server_error"
