from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.http import conditional_page
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outagewatch.api.pagination import NewestFirstCursorPagination
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
# Reads carry ETags (README): here a hash of the answer, and 304 on If-None-Match, as for
# the detection reads (which also cache the answer in Redis between ticks).
@method_decorator(conditional_page, name="dispatch")
class ServiceListView(generics.ListAPIView):
    serializer_class = ServiceSerializer
    throttle_scope = "reads"

    def get_queryset(self):
        query = ServiceQuerySerializer(data=self.request.query_params)
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
@method_decorator(conditional_page, name="dispatch")
class CommentListView(generics.ListAPIView):
    serializer_class = CommentSerializer
    pagination_class = CommentCursorPagination
    throttle_scope = "reads"

    def get_queryset(self):
        try:
            service = selectors.service_get(slug=self.kwargs["slug"])
        except Service.DoesNotExist:
            raise NotFound("No such service.") from None
        return selectors.comment_list(service=service)
