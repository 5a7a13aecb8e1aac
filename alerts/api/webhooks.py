"""The webhook body, described for the OpenAPI schema (alerts.channels.webhook builds it)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiCallback, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

EVENTS = ["opened", "reopened", "resolved", "acknowledged", "upstream", "test"]


class WebhookServiceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField(help_text="The service's status page.")


class WebhookProblemSerializer(serializers.Serializer):
    problem = serializers.CharField(help_text="Problem type slug.")
    name = serializers.CharField(help_text="Its name, as the pages and the API say it.")
    count = serializers.IntegerField()


class WebhookOutageSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The same for every event of one outage.")
    url = serializers.URLField()
    status = serializers.ChoiceField(choices=["active", "resolved"])
    episode = serializers.IntegerField(help_text="How many times the outage was reopened.")
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    countries = serializers.ListField(
        child=serializers.CharField(),
        help_text="Where the outage's problems are, ISO codes, most reports first; empty: "
        "all (as the outage API's). A relapse's own are in `relapse`.",
    )
    observed = serializers.FloatField(
        help_text="Counted reports a minute at the whole outage's peak (in a relapse's "
        "messages too: `summary` quotes the relapse's own peak)."
    )
    expected = serializers.FloatField(help_text="Reports a minute expected at that peak.")
    score = serializers.FloatField()
    top_problems = WebhookProblemSerializer(
        many=True,
        help_text="The outage's problems (as the outage API's); a relapse's own are in `relapse`.",
    )
    explanation = serializers.CharField(
        help_text="What happened, in plain words (as the outage API's), times in the "
        "subscription's zone."
    )


class WebhookRelapseSerializer(serializers.Serializer):
    episode = serializers.IntegerField(help_text="Which reopening (1 for the first).")
    since = serializers.DateTimeField(help_text="When the problems came back.")
    detected_at = serializers.DateTimeField(allow_null=True)
    countries = serializers.ListField(
        child=serializers.CharField(),
        help_text="Where the relapse's problems are, ISO codes, most reports first; empty: all.",
    )
    top_problems = WebhookProblemSerializer(many=True, help_text="The relapse's problems.")


class WebhookOfficialIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The provider's page of the incident, or empty.")
    status = serializers.CharField(help_text="The provider's word: investigating, resolved...")
    acknowledged_at = serializers.DateTimeField(help_text="When the provider published it.")


class WebhookUpstreamServiceSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="Service slug.")
    service_name = serializers.CharField()
    outage_id = serializers.IntegerField()
    url = serializers.URLField(help_text="The outage page.")


class WebhookUpstreamSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The upstream outage (as in the outage API).")
    provider = serializers.CharField(help_text="Provider slug.")
    provider_name = serializers.CharField()
    since = serializers.DateTimeField(help_text="The earliest onset among its outages.")
    services = WebhookUpstreamServiceSerializer(many=True, help_text="The dependents affected.")


class WebhookEventSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=EVENTS)
    delivery = serializers.CharField(
        help_text=(
            "Idempotency key, as the X-OutageWatch-Delivery header: the same for every attempt "
            "at this message and no other's (`upstream-<id>` for `upstream`, `test-<random>` "
            "for each `test`)."
        )
    )
    delivery_id = serializers.IntegerField(
        help_text=(
            "The message's number, the same for every attempt at it: 0 for `test`, and "
            "`upstream` messages are numbered apart. To drop repeats, use `delivery`."
        )
    )
    sent_at = serializers.DateTimeField()
    title = serializers.CharField(help_text="One line for people.")
    summary = serializers.CharField()
    service = WebhookServiceSerializer()
    outage = WebhookOutageSerializer(
        allow_null=True,
        help_text="Null for `upstream`; for `test`, a sample shaped as a real one, with id 0.",
    )
    relapse = WebhookRelapseSerializer(
        allow_null=True,
        help_text="The relapse the message is about (`reopened`, or `opened` to a follower of "
        "a country only the relapse reached; `summary` and `title` quote it), else null.",
    )
    upstream = WebhookUpstreamSerializer(
        required=False, help_text="Only for `upstream`: the provider's dependents that are down."
    )
    official = serializers.CharField(
        help_text="Whether the provider's status page has acknowledged it, in words; empty "
        "when the service has no official status source."
    )
    official_incident = WebhookOfficialIncidentSerializer(
        allow_null=True, help_text="The provider's incident overlapping the outage, or null."
    )
    missed_opened = serializers.BooleanField(
        required=False,
        help_text="On `resolved`: true when this receiver never got the outage's `opened` (it "
        "failed until the outage was over), so this is the first it hears of the outage.",
    )


def _header(name: str, kind: Any, description: str, **kwargs: Any) -> OpenApiParameter:
    return OpenApiParameter(
        name, kind, OpenApiParameter.HEADER, required=True, description=description, **kwargs
    )


# As parameters, so a receiver generated from the schema reads and checks them (they were
# only in the description: API integrator tester F6).
_HEADERS = [
    _header("X-OutageWatch-Event", OpenApiTypes.STR, "The body's `event`.", enum=EVENTS),
    _header(
        "X-OutageWatch-Delivery",
        OpenApiTypes.STR,
        "The body's `delivery`: the same for every attempt at this message; drop repeats by it.",
    ),
    _header(
        "X-OutageWatch-Timestamp",
        OpenApiTypes.INT,
        "Unix seconds when this attempt was signed (each retry anew); refuse one more than 5 "
        "minutes off (replays).",
    ),
    _header(
        "X-OutageWatch-Signature",
        OpenApiTypes.STR,
        "`v1=` and the hex HMAC-SHA256, keyed with the subscription's secret, of the "
        "timestamp, `.` and the raw body.",
        pattern="^v1=[0-9a-f]{64}$",
    ),
]

OUTAGE_EVENT_CALLBACK = OpenApiCallback(
    name="outageEvent",
    path="{$request.body#/url}",
    decorator=extend_schema(
        summary="An outage event, posted to a webhook subscription's URL",
        description=(
            "Sent for `opened`, `reopened` (problems again within the reopen window), "
            "`resolved`, `acknowledged` (the provider's status page published an incident "
            "overlapping the outage; only to subscriptions that asked for it, once per "
            "outage), `upstream` (to followers of a provider such as Fastly: several services "
            "that run on it are down together; `outage` is null and `upstream` lists them; "
            "once per upstream outage) and `test` (the management page's button). Headers: "
            "`X-OutageWatch-Event`, `X-OutageWatch-Delivery` (the same for every attempt; "
            "`upstream-<delivery_id>` for `upstream`, whose ids are counted apart), "
            "`X-OutageWatch-Timestamp` (Unix seconds) and `X-OutageWatch-Signature: "
            "v1=<hex HMAC-SHA256(secret, timestamp + '.' + raw body)>` (for a while after the "
            "secret is rotated, one value per secret, comma-separated, the new one first: "
            "`v1=<new>,v1=<old>`; accept any that matches); refuse timestamps "
            "more than 5 minutes off (replays). Answer 2xx within 10 seconds; 5xx, 408, 429 "
            "and timeouts are retried with backoff, other answers (redirects included) are "
            "not. Slack and Discord subscriptions get their own message formats instead."
        ),
        parameters=_HEADERS,
        request=WebhookEventSerializer,
        responses={"2XX": OpenApiResponse(description="Received: any 2xx within 10 seconds.")},
    ),
)
