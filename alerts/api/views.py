"""POST /api/v1/subscriptions/: start a double opt-in for outage alerts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import services, validation
from outagewatch.api.schema import WRITE_ERRORS
from reports.api.fields import (
    RejectUnknownFieldsMixin,
    StrictCharField,
    drf_validated,
    service_from_slug,
)
from reports.models import Service

MESSAGE = (
    "If this address can receive email, a confirmation link is on its way. "
    "Nothing else is sent until you follow it."
)


class SubscriptionCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    email = StrictCharField(max_length=validation.EMAIL_MAX_LENGTH, help_text="Your address.")
    service = StrictCharField(help_text="Service slug, e.g. `chatgpt`.")
    countries = serializers.ListField(
        child=StrictCharField(),
        required=False,
        default=list,
        max_length=validation.MAX_COUNTRIES,
        help_text="ISO 3166-1 alpha-2 codes; empty or missing: all countries.",
    )

    def validate_email(self, value: str) -> str:
        return drf_validated(validation.email_clean, value)

    def validate_service(self, value: str) -> Service:
        return service_from_slug(value)

    def validate_countries(self, value: list[str]) -> list[str]:
        return drf_validated(validation.countries_clean, value)


class SubscriptionRequestedSerializer(serializers.Serializer):
    email = serializers.CharField()
    service = serializers.CharField()
    countries = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()


class SubscriptionCreateView(APIView):
    throttle_scope = "subscriptions"

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionRequestedSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Alerts for ChatGPT in Germany",
                value={"email": "me@example.com", "service": "chatgpt", "countries": ["DE"]},
                request_only=True,
            )
        ],
        summary="Subscribe an email address to a service's outage alerts",
        description=(
            "Sends a confirmation email (double opt-in); alerts start once its link is "
            "followed. The answer is the same whether or not the address is already "
            "subscribed, and confirmation emails per address are rate-limited."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        services.subscription_request(
            email=data["email"], service=data["service"], countries=data["countries"]
        )
        body = {
            "email": data["email"],
            "service": data["service"].slug,
            "countries": data["countries"],
            "message": MESSAGE,
        }
        return Response(SubscriptionRequestedSerializer(body).data, status=status.HTTP_201_CREATED)
