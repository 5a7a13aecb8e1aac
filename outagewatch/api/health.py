"""GET /api/v1/health/: the stack's health for a monitor or load balancer (200 or 503)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outagewatch.api.schema import errors
from outagewatch.health import system_health, web_alive


class HealthCheckSerializer(serializers.Serializer):
    """One check's answer; its figures only where that check has them."""

    ok = serializers.BooleanField()
    detail = serializers.CharField(help_text="In plain words.")
    behind_minutes = serializers.IntegerField(
        required=False,
        help_text="bucketing, detection, worker: minutes behind the clock; beat: whole minutes "
        "since its last heartbeat.",
    )
    as_of = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="bucketing: the first minute not counted yet; detection: the newest minute "
        "judged; worker: its last sweep; beat: its last heartbeat; alerts: when the oldest "
        "overdue message was due; mail: since when the oldest stuck email has failed.",
    )
    overdue = serializers.IntegerField(
        required=False,
        help_text="alerts: messages due more than HEALTH_MAX_LAG_MINUTES ago and not taken by "
        "a worker.",
    )
    failing = serializers.IntegerField(
        required=False,
        help_text="mail: emails that failed every attempt on the mail relay for a quarter of "
        "an hour with none sent meanwhile.",
    )


# What outagewatch.health.system_health checks, in its order. Without a database only these
# three are answered: the others read it.
CHECKS = ("database", "bucketing", "detection", "worker", "alerts", "mail", "redis", "beat")
ALWAYS = ("database", "redis", "beat")

_HEALTH = inline_serializer(
    "Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        # A field each: one serializer instance shared by every name is bound once, and the
        # schema listed only the last name, titled with the first (docs tester, 47th session).
        "checks": inline_serializer(
            "HealthChecks",
            fields={name: HealthCheckSerializer(required=name in ALWAYS) for name in CHECKS},
        ),
    },
)


class HealthView(APIView):
    throttle_scope = "reads"  # a monitor's poll every few seconds is far within it

    @extend_schema(
        operation_id="health",
        summary="Whether the stack keeps up",
        description=(
            "The database and Redis answer, reports are counted and judged and the worker "
            "sweeps within `HEALTH_MAX_LAG_MINUTES` (3) of the clock, and no message (alert or "
            "confirmation email, webhook) has been due longer than that without a worker "
            "taking it. 200 when all hold, 503 when one does not (a stopped worker or "
            "detector shows here first: the pages keep the last verdict)."
        ),
        responses={200: _HEALTH, 503: _HEALTH, **errors(429)},
    )
    def get(self, request: Request) -> Response:
        health = system_health(now=timezone.now())
        checks = {
            name: {"ok": check.ok, "detail": check.detail, **check.figures}
            for name, check in health.checks.items()
        }
        return _answer({"status": "ok" if health.ok else "degraded", "checks": checks}, health.ok)


def _answer(body: dict, ok: bool) -> Response:
    """200 or 503, never cached; a 503 says when to ask again, as every 503 of the API does
    (the schema's rule)."""
    response = Response(body, status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    if not ok:
        response["Retry-After"] = "60"
    return response


_LIVE = inline_serializer(
    "Liveness",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "down"]),
        "detail": serializers.CharField(help_text="In plain words."),
    },
)


class LiveView(APIView):
    """For a load balancer: whether to send this web server requests.

    Not throttled: one `SELECT 1`, and a probe that shared its address's read allowance was
    answered 429 past 300 reads a minute from that address, and took the server out
    (API tester F8, forty-fourth session)."""

    throttle_classes = ()

    @extend_schema(
        operation_id="health_live",
        summary="Whether this web server can take requests",
        description=(
            "200 while this web server and its database answer, else 503. For a load "
            "balancer's health check: unlike `/api/v1/health/` it does not fail when the "
            "worker or the detector falls behind, which is no reason to stop serving pages "
            "and taking reports."
        ),
        responses={200: _LIVE, 503: _LIVE},
    )
    def get(self, request: Request) -> Response:
        check = web_alive()
        return _answer({"status": "ok" if check.ok else "down", "detail": check.detail}, check.ok)
