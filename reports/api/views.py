from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outagewatch.api.conditional import ConditionalListMixin
from outagewatch.api.pagination import NewestFirstCursorPagination
from outagewatch.api.query import KnownQueryParameters
from outagewatch.api.schema import READ_ERRORS, WRITE_ERRORS
from outagewatch.api.throttling import throttle_unchecked
from outagewatch.clients import client_address
from reports import selectors, services
from reports.api.serializers import (
    CommentSerializer,
    ReportCreatedSerializer,
    ReportCreateSerializer,
    ServiceQuerySerializer,
    ServiceSerializer,
    report_created_data,
)
from reports.models import Report, Service

# What an integrator must know before sending reports; the settings named are in
# docs/configuration.md, the rules in README.md ("Reporting a problem through the API").
REPORT_DESCRIPTION = """\
Stores one report and answers `201` with it. Every stored report is kept, but only some
count as evidence (`counted`; `message` says why one did not):

- one network (IPv4 /24, IPv6 /56; an IPv6 /48 as a whole) counts once per service within
  `REPORT_DEDUP_WINDOW_MINUTES` (default 15): its further reports are stored with
  `"counted": false`, whatever User-Agent or cookie they carry;
- one block (IPv4 /16, IPv6 /32) adds at most `REPORT_BLOCK_MAX_COUNTED` (4) counted reports
  per service within any `REPORT_BLOCK_WINDOW_MINUTES` (60), a sliding window estimated
  from the block's own phased windows (no eighth of it counts more than the cap);
- while the rate limit cannot be checked (its store is down), reports are stored uncounted.

Limits: `THROTTLE_REPORTS` (default 10 a minute) per client (an IPv4 address or an IPv6 /64,
shared with the website's form); every POST counts against it, refused ones (400, 415)
included, while OPTIONS and HEAD do not. Over it: `429` with `Retry-After`. A body over
`API_MAX_BODY_BYTES` (default 16384 bytes) is a `413`, refused before it is read and before
the limit is checked, so it does not count. This endpoint sends no CORS headers:
browsers refuse to send a report from a page of another origin. Settings: docs/configuration.md.
"""


class ReportCreateView(APIView):
    throttle_scope = "reports"

    @extend_schema(
        request=ReportCreateSerializer,
        responses={201: ReportCreatedSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Login problem in Berlin",
                value={
                    "service": "chatgpt",
                    "problem": "login",
                    "country": "DE",
                    "subdivision": "DE-BE",
                    "comment": "Login page spins forever",
                },
                request_only=True,
            )
        ],
        summary="Report a problem with a service",
        description=REPORT_DESCRIPTION,
    )
    def post(self, request: Request) -> Response:
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            created = services.report_create(
                **serializer.validated_data,
                source=Report.Source.API,
                address=client_address(request),
                countable=not throttle_unchecked(request),
            )
        except services.CatalogChanged:
            raise ValidationError({"service": ["This service no longer exists."]}) from None
        body = report_created_data(created.report, created.message)
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[ServiceQuerySerializer],
    responses={200: ServiceSerializer(many=True), **READ_ERRORS},
    summary="List the service catalog",
)
# Reads carry ETags (README), the same as the detection reads, which also cache the answer
# in Redis between ticks: the catalog and comments change on their own clock.
class ServiceListView(KnownQueryParameters, ConditionalListMixin, generics.ListAPIView):
    serializer_class = ServiceSerializer
    throttle_scope = "reads"
    query_serializer_class = ServiceQuerySerializer
    paginated = True

    def get_queryset(self):
        query = self.query_serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.service_list(**query.validated_data)


class CommentCursorPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema(
    responses={200: CommentSerializer(many=True), **READ_ERRORS},
    summary="Comments people wrote with their reports, newest first",
    description=(
        "Comments of counted reports that moderation has not hidden; cursor-paginated "
        "(follow `next`). Plain text: show it as text, never as markup."
    ),
)
class CommentListView(KnownQueryParameters, ConditionalListMixin, generics.ListAPIView):
    serializer_class = CommentSerializer
    pagination_class = CommentCursorPagination
    paginated = True
    throttle_scope = "reads"

    def get_queryset(self):
        try:
            service = selectors.service_get(slug=self.kwargs["slug"])
        except Service.DoesNotExist:
            raise NotFound("No such service.") from None
        return selectors.comment_list(service=service)
