from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outagewatch.api.throttling import throttle_unchecked
from outagewatch.clients import client_address
from reports import selectors, services
from reports.api.serializers import (
    ReportCreatedSerializer,
    ReportCreateSerializer,
    ServiceQuerySerializer,
    ServiceSerializer,
)
from reports.models import Report


class ReportCreateView(APIView):
    throttle_scope = "reports"

    @extend_schema(
        request=ReportCreateSerializer,
        responses={201: ReportCreatedSerializer},
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
        created = services.report_create(
            **serializer.validated_data,
            source=Report.Source.API,
            address=client_address(request),
            countable=not throttle_unchecked(request),
        )
        report = created.report
        report.message = created.message
        return Response(ReportCreatedSerializer(report).data, status=status.HTTP_201_CREATED)


_SERVICE_FILTERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="Part of the service name."),
    OpenApiParameter("category", OpenApiTypes.STR, description="Category slug."),
]


@extend_schema(parameters=_SERVICE_FILTERS, summary="List the service catalog")
class ServiceListView(generics.ListAPIView):
    serializer_class = ServiceSerializer
    throttle_scope = "reads"

    def get_queryset(self):
        query = ServiceQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.service_list(**query.validated_data)
