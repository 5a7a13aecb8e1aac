"""Generic webhook: a signed JSON POST (body documented in the OpenAPI schema as the
``outageEvent`` callback of POST /api/v1/subscriptions/).

Signature: ``X-OutageWatch-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
with ``X-OutageWatch-Timestamp`` (Unix seconds) sent alongside. Signing the timestamp with
the body lets a receiver refuse old or replayed requests (README: "Verifying webhooks").
For a while after the secret is rotated the header lists one value per secret, the new one
first: ``v1=<new>,v1=<old>`` (Stripe's shape), so a receiver still holding the old secret
verifies, and one given the new secret verifies too.
``X-OutageWatch-Delivery`` is the same for every attempt at one message: receivers that
remember it see each event once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alerts.channels import http
from alerts.channels.base import Notice
from outagewatch.rounding import for_readers

if TYPE_CHECKING:
    from alerts.models import Subscription

SIGNATURE_HEADER = "X-OutageWatch-Signature"
TIMESTAMP_HEADER = "X-OutageWatch-Timestamp"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def signatures(*, subscription: Subscription, timestamp: int, body: bytes, at: datetime) -> str:
    """The header's value at `at`: the current secret's signature, then the replaced
    secret's while its overlap lasts. Outside an overlap it is the one value it always was."""
    signing = [subscription.secret]
    if subscription.secret_overlap_until(at) and subscription.secret_previous:
        signing.append(subscription.secret_previous)
    return ",".join(signature(secret=s, timestamp=timestamp, body=body) for s in signing)


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _envelope(notice: Notice, service, key: str) -> dict[str, Any]:
    """What every event says: which event, which message, when, and about which service.
    ``key`` is the header's delivery key: a receiver that drops repeats by the body's number
    dropped every test but the first (all 0) and mixed upstream numbers with outage ones."""
    return {
        "event": notice.event,
        "delivery": key,
        "delivery_id": notice.delivery_id,
        "sent_at": _iso(notice.at),
        "title": notice.title,
        "summary": notice.summary,
        "service": {"slug": service.slug, "name": service.name, "url": notice.service_url},
    }


def payload(notice: Notice, *, key: str | None = None) -> dict[str, Any]:
    """The body; ``key`` the delivery key its headers carry (delivery_key, made once)."""
    key = key or delivery_key(notice)
    if notice.outage is None:
        return _upstream_payload(notice, key)
    outage = notice.outage
    return {
        **_envelope(notice, outage.service, key),
        "outage": {
            "id": outage.pk,
            "url": notice.outage_url,
            "status": outage.status,
            "episode": notice.episode,
            "started_at": _iso(outage.started_at),
            "detected_at": _iso(outage.detected_at),
            "resolved_at": _iso(outage.resolved_at),
            # The outage as the read API gives it, whichever run the message is about: a
            # relapse's countries and problems beside the first run's peak and onset made one
            # object of two (cross-surface tester, forty-seventh session).
            "countries": list(outage.countries or []),
            # Rounded as the read API rounds them (peak_observed, peak_expected, score).
            "observed": for_readers(notice.observed),
            "expected": for_readers(notice.expected),
            "score": for_readers(outage.score, 3),
            "top_problems": _problems(notice.outage_problems),
            "explanation": notice.explanation,
        },
        "relapse": _relapse(notice),
        "official": notice.official,
        "official_incident": _official(notice.official_incident),
        # A "resolved" whose "opened" never got through: the receiver's first word of it
        # (regression tester F3, forty-fifth session: said only in the summary's words).
        **({"missed_opened": notice.unreached} if notice.event == "resolved" else {}),
    }


def _problems(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"problem": p["slug"], "name": p["name"], "count": p["count"]} for p in problems]


def _relapse(notice: Notice) -> dict[str, Any] | None:
    """What a message about a relapse ("problems again") quotes of it; None otherwise."""
    if not notice.relapse:
        return None
    quoted = notice.figures
    return {
        "episode": notice.episode,
        "since": _iso(quoted.since),
        "detected_at": _iso(quoted.detected_at),
        "countries": notice.countries,
        "top_problems": _problems(notice.problems),
    }


def _upstream_payload(notice: Notice, key: str) -> dict[str, Any]:
    """An upstream outage to a follower of its provider (alerts.presentation)."""
    view = notice.extra["upstream"]
    return {
        **_envelope(notice, notice.subscription.service, key),
        "outage": None,
        "relapse": None,
        "upstream": {
            "id": view.id,
            "provider": view.provider,
            "provider_name": view.provider_name,
            "since": _iso(view.started_at),
            "services": [
                {
                    "service": member.service,
                    "service_name": member.service_name,
                    "outage_id": member.outage_id,
                    "url": url,
                }
                for member, (_, url) in zip(view.affected, notice.extra["outages"], strict=True)
            ],
        },
        "official": "",
        "official_incident": None,
    }


def delivery_key(notice: Notice) -> str:
    """X-OutageWatch-Delivery: upstream alerts are rows of their own table, so their ids get
    a prefix that keeps them apart from the outage alerts' ids. A test message has no row:
    each gets a key of its own, or a receiver that drops repeats would drop every test but
    the first while we said "accepted"."""
    if notice.event == "test":
        return f"test-{uuid.uuid4().hex}"
    return f"upstream-{notice.delivery_id}" if notice.outage is None else str(notice.delivery_id)


def _official(incident: dict[str, Any] | None) -> dict[str, Any] | None:
    if incident is None:
        return None
    return {**incident, "acknowledged_at": _iso(incident["acknowledged_at"])}


class WebhookTransport:
    def send(self, notice: Notice) -> None:
        subscription = notice.subscription
        key = delivery_key(notice)
        body = json.dumps(payload(notice, key=key), separators=(",", ":")).encode()
        timestamp = int(notice.at.timestamp())
        http.post(
            subscription.url,
            body=body,
            headers={
                "X-OutageWatch-Event": notice.event,
                "X-OutageWatch-Delivery": key,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signatures(
                    subscription=subscription, timestamp=timestamp, body=body, at=notice.at
                ),
            },
        )
