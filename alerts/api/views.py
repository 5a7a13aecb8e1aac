"""POST /api/v1/subscriptions/: start a double opt-in for outage alerts."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import presentation, services, validation
from alerts.api.webhooks import OUTAGE_EVENT_CALLBACK
from alerts.models import Subscription
from outagewatch.api.schema import WRITE_ERRORS
from reports.api.fields import (
    ChoiceField,
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
CHANNEL_MESSAGE = (
    "If this address can receive email, a link to confirm and manage the {channel} is on its "
    "way. Nothing is posted to it until you follow the link."
)


def message_for(channel: str) -> str:
    if channel == Subscription.Channel.EMAIL:
        return MESSAGE
    # Inside a sentence: "the webhook", not the select's label "Webhook".
    return CHANNEL_MESSAGE.format(channel=presentation.channel_noun(channel))


class ConfirmationsWaiting(exceptions.APIException):
    """429 for a mailbox whose confirmation lists are full: the client may be well-behaved
    (its own throttle is fine), but this address takes no more requests for now."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "confirmations_waiting"

    def __init__(self, refused: services.ConfirmationsWaitingFull) -> None:
        now = timezone.now()
        super().__init__(
            presentation.confirmations_waiting_refusal(
                limit=refused.limit, retry_at=refused.retry_at, now=now
            )
        )
        # DRF turns it into the Retry-After header.
        self.wait = max(int((refused.retry_at - now).total_seconds()), 1)


class SubscriptionCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A request for outage alerts: your address, the service, and where alerts go."""

    email = StrictCharField(
        max_length=validation.EMAIL_MAX_LENGTH,
        help_text="Your address: where alerts go, or for another channel where its "
        "confirmation and management link go.",
    )
    service = StrictCharField(help_text="Service slug, e.g. `chatgpt`.")
    countries = serializers.ListField(
        child=StrictCharField(),
        required=False,
        default=list,
        max_length=validation.MAX_COUNTRIES,
        help_text="ISO 3166-1 alpha-2 codes; empty or missing: all countries.",
    )
    channel = ChoiceField(
        choices=Subscription.Channel.choices,
        default=Subscription.Channel.EMAIL,
        help_text="Where alerts go: `email` (default), a generic `webhook` (signed JSON, "
        "see the `outageEvent` callback), or a `slack` or `discord` incoming webhook.",
    )
    url = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=validation.URL_MAX_LENGTH,
        help_text=f"For {presentation.posted_channel_values()}: the URL to post to.",
    )
    timezone = StrictCharField(
        required=False,
        default="",
        # "" is its default and what a sign-up without one answers: sending it back is no
        # error (API tester F2, forty-fourth session).
        allow_blank=True,
        max_length=64,
        help_text="IANA time zone the messages show times in, e.g. `Europe/Berlin`. Left out: "
        "the subscription's zone is kept (UTC for a new one).",
    )
    notify_acknowledged = serializers.BooleanField(
        required=False,
        default=None,
        allow_null=True,
        help_text="Also tell (once per outage, in its thread) when the service's official "
        "status page acknowledges it: the `acknowledged` event. Left out: the subscription's "
        "choice is kept (false for a new one).",
    )

    def validate_notify_acknowledged(self, value: Any) -> bool:
        # JSON true or false only: "yes" or 1 would be a guess about what the client meant.
        given = self.initial_data.get("notify_acknowledged", False)
        if given is not None and not isinstance(given, bool):
            raise serializers.ValidationError("Must be true or false.")
        return value

    def validate_email(self, value: str) -> str:
        return drf_validated(validation.email_clean, value)

    def validate_service(self, value: str) -> Service:
        return service_from_slug(value)

    def validate_countries(self, value: list[str]) -> list[str]:
        return drf_validated(validation.countries_clean, value)

    def validate_timezone(self, value: str) -> str:
        return drf_validated(validation.timezone_clean, value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["channel"] == Subscription.Channel.EMAIL:
            if attrs.get("url"):
                raise serializers.ValidationError(
                    {"url": [f"Only for {presentation.posted_channel_values()}."]}
                )
            return attrs
        try:
            attrs["url"] = drf_validated(
                validation.channel_url_clean, attrs["channel"], attrs.get("url", "")
            )
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"url": exc.detail}) from None
        return attrs


class SubscriptionRequestedSerializer(serializers.Serializer):
    email = serializers.CharField()
    service = serializers.CharField()
    countries = serializers.ListField(child=serializers.CharField())
    channel = serializers.CharField()
    url = serializers.CharField()
    timezone = serializers.CharField(help_text="As given; empty: the subscription's is kept.")
    notify_acknowledged = serializers.BooleanField(
        allow_null=True, help_text="As given; null: the subscription's choice is kept."
    )
    message = serializers.CharField()


class SubscriptionCreateView(APIView):
    throttle_scope = "subscriptions"
    _subscription_valid = False  # set by post() (a view instance serves one request)

    def check_throttles(self, request: Request) -> None:
        """Sign-ups are counted once valid, as on the website: a client fixing a typo in its
        request must not use up its allowance (DRF checks before the handler runs)."""
        if self._subscription_valid:
            super().check_throttles(request)

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionRequestedSerializer, **WRITE_ERRORS},
        callbacks=[OUTAGE_EVENT_CALLBACK],
        examples=[
            OpenApiExample(
                "Alerts for ChatGPT in Germany",
                value={
                    "email": "me@example.com",
                    "service": "chatgpt",
                    "countries": ["DE"],
                    "timezone": "Europe/Berlin",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A signed webhook",
                value={
                    "email": "ops@example.com",
                    "service": "chatgpt",
                    "channel": "webhook",
                    "url": "https://ops.example.com/hooks/outagewatch",
                },
                request_only=True,
            ),
        ],
        summary="Subscribe to a service's outage alerts by email, webhook, Slack or Discord",
        description=(
            "Sends a confirmation email (double opt-in); alerts start once its link is "
            "followed. For a webhook, Slack or Discord channel the email goes to its owner and "
            "carries a management link: confirm, the webhook's signing secret (shown once), "
            "a test message, recent deliveries, delete. The answer is the same whether or not "
            "the address is already subscribed, and confirmation emails per address are "
            "rate-limited: past the daily cap the links are gathered in one email a day (at "
            "most `SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS` each, 20). When two such emails' "
            "worth already wait for the address, the request is refused with 429 (code "
            "`confirmations_waiting`, Retry-After) and changes nothing."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self._subscription_valid = True
        self.check_throttles(request)
        data: dict[str, Any] = serializer.validated_data
        try:
            services.subscription_request(
                email=data["email"],
                service=data["service"],
                countries=data["countries"],
                channel=data["channel"],
                url=data["url"],
                timezone_name=data["timezone"],
                notify_acknowledged=data["notify_acknowledged"],
            )
        except services.ConfirmationsWaitingFull as refused:
            raise ConfirmationsWaiting(refused) from None
        body = {
            "email": data["email"],
            "service": data["service"].slug,
            "countries": data["countries"],
            "channel": data["channel"],
            "url": data["url"],
            "timezone": data["timezone"],
            "notify_acknowledged": data["notify_acknowledged"],
            "message": message_for(data["channel"]),
        }
        return Response(SubscriptionRequestedSerializer(body).data, status=status.HTTP_201_CREATED)
