"""GET /api/ and /api/v1/: where the endpoints are, for a client (or person) that starts
at the root. Both were a plain 404."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Link name -> URL name, in the order a newcomer reads them.
V1_LINKS = {
    "services": "service-list",
    "outages": "outage-list",
    "status": "status",
    "track_record": "track-record",
    "reports": "report-create",
    "subscriptions": "subscription-create",
    "schema": "schema",
    "docs": "api-docs",
}


def _absolute(url_name: str) -> str:
    # As the public site names it (SITE_URL), like every link in API bodies.
    return f"{settings.SITE_URL}{reverse(url_name)}"


# Not in the OpenAPI schema: the schema is itself what these point to.
@extend_schema(exclude=True)
class ApiV1IndexView(APIView):
    throttle_scope = "reads"

    def get(self, request: Request) -> Response:
        return Response(
            {
                "version": "v1",
                "links": {name: _absolute(url_name) for name, url_name in V1_LINKS.items()},
            }
        )


@extend_schema(exclude=True)
class ApiRootView(APIView):
    throttle_scope = "reads"

    def get(self, request: Request) -> Response:
        return Response(
            {
                "current": "v1",
                "versions": {"v1": f"{settings.SITE_URL}{reverse('api-v1-index')}"},
                "docs": _absolute("api-docs"),
            }
        )
