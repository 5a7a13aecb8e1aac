"""OpenAPI examples for the outage read API (shown in /api/docs/)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_OUTAGE = {
    "id": 42,
    "service": "chatgpt",
    "service_name": "ChatGPT",
    "status": "active",
    "started_at": "2026-11-27T14:05:00Z",
    "detected_at": "2026-11-27T14:07:00Z",
    "resolved_at": None,
    "countries": ["DE", "FR", "NL"],
    "top_problems": [
        {"problem": "login", "name": "Login", "count": 312},
        {"problem": "website", "name": "Website", "count": 120},
    ],
    "peak_observed": 96.0,
    "peak_expected": 4.2,
    "peak_at": "2026-11-27T14:21:00Z",
    "updated_at": "2026-11-27T14:40:03Z",
    "score": 0.999,
    "rule": "excess",
    "total_reports": 1480,
    "networks": 1102,
    "explanation": "Problems since 27 Nov 14:05 UTC. At the peak: about 96 reports a minute, "
    "where about 4 are normal. 1,480 reports so far, from 1,102 different networks. Most "
    "reports from Germany, France and the Netherlands. Most reported problems: Login (312) "
    "and Website (120). These figures count reports about ChatGPT from every country, not "
    "only from Germany, France and the Netherlands.",
    "url": "https://outagewatch.example/outages/42/",
    "api_url": "https://outagewatch.example/api/v1/outages/42/",
    "upstream": None,
}

_STATE = {
    "level": "problems",
    "level_value": 2,
    "label": "Problems detected",
    "summary": "User reports indicate problems at ChatGPT since 14:05 UTC. Now about 81 "
    "reports a minute, where about 4 are normal. Most reports come from Germany, France, "
    "Netherlands.",
    "reports_falling": False,
    "since": "2026-11-27T14:05:00Z",
    "observed": 81.0,
    "expected": 4.1,
    "cold_start": False,
    "score": 0.999,
    "rule": "excess",
    "countries": ["DE", "FR", "NL"],
    "updated_at": "2026-11-27T14:30:05Z",
}

_OFFICIAL_INCIDENT = {
    "id": 7,
    "title": "Elevated error rates for logins",
    "status": "investigating",
    "url": "https://status.openai.com/incidents/abc123",
    "started_at": "2026-11-27T14:05:00Z",
    "acknowledged_at": "2026-11-27T14:21:00Z",
    "resolved_at": None,
}

# Detection up to date: the newest closed minute judged.
_DETECTION = {"as_of": "2026-11-27T14:29:00Z", "behind_minutes": 0, "current": True}

SERVICE_DETAIL = OpenApiExample(
    "A service with an active outage",
    response_only=True,
    value={
        "slug": "chatgpt",
        "name": "ChatGPT",
        "category": "ai",
        "category_name": "AI assistants",
        "website": "https://chatgpt.com",
        "status_page": "https://status.openai.com",
        "problems": [{"slug": "login", "name": "Login", "description": "Cannot sign in"}],
        "url": "https://outagewatch.example/services/chatgpt/",
        "status": _STATE,
        "active_outage": _OUTAGE,
        "reports": {"last_15m": 1102, "last_1h": 1480, "last_24h": 1790},
        "expected_now": 4.1,
        "official": {
            "indicator": "major",
            "label": "A major outage reported",
            "summary": (
                "The official status page says: A major outage reported (Partial System Outage)."
            ),
            "description": "Partial System Outage",
            "page_url": "https://status.openai.com",
            "open_incidents": [_OFFICIAL_INCIDENT],
            "last_read_at": "2026-11-27T14:30:00Z",
            "stale": False,
            "readable": True,
        },
        "links": {
            "page": "https://outagewatch.example/services/chatgpt/",
            "series": "https://outagewatch.example/api/v1/services/chatgpt/series/",
            "outages": "https://outagewatch.example/api/v1/outages/?service=chatgpt",
            "feed": "https://outagewatch.example/services/chatgpt/outages/feed/",
        },
        "detection": _DETECTION,
    },
)

SERIES = OpenApiExample(
    "Last hour, per minute",
    response_only=True,
    value={
        "service": "chatgpt",
        "country": "",
        "window": "1h",
        "resolution": "1m",
        "start": "2026-11-27T13:31:00Z",
        "end": "2026-11-27T14:31:00Z",
        "baseline": "hgb",
        "band_sigmas": 2.0,
        "points": [
            {
                "at": "2026-11-27T13:31:00Z",
                "minutes": 1,
                "complete": True,
                "observed": 3,
                "expected": 4.05,
                "lower": 0.0,
                "upper": 8.6,
            },
            {
                "at": "2026-11-27T14:30:00Z",
                "minutes": 1,
                "complete": True,
                "observed": 81,
                "expected": 4.1,
                "lower": 0.0,
                "upper": 8.7,
            },
        ],
    },
)

OUTAGE_LIST = OpenApiExample(
    "Newest outages",
    response_only=True,
    # One item: drf-spectacular puts it in a page (next, previous, results) itself.
    value=_OUTAGE,
)

OUTAGE_DETAIL = OpenApiExample(
    "An outage and its timeline",
    response_only=True,
    value={
        **_OUTAGE,
        "timeline": [
            {
                "at": "2026-11-27T14:07:00Z",
                "kind": "opened",
                "label": "Problems detected",
                "text": "About 38 reports a minute, where about 4 are normal.",
                "country": "",
                "observed": 38.0,
                "expected": 4.0,
                "message": "38 reports in one minute, 4.0 expected.",
            },
            {
                "at": "2026-11-27T14:09:00Z",
                "kind": "country",
                "label": "France affected",
                "text": "About 11 reports a minute from France, where less than 1 is normal.",
                "country": "FR",
                "observed": 11.0,
                "expected": 0.6,
                "message": "France affected too.",
            },
        ],
        "timeline_earlier": 0,
        "decision": [
            "We compare the reports of every minute, and of longer windows summed, with what "
            "is normal for this service at this time of day and week, and count each network "
            "once.",
            "It opened on the reports of the last minute, compared with this service's usual "
            "ups and downs (negative binomial) (rule nb_1m).",
            "Highest anomaly score: 1.00 (measured against this service's own history: 0 is an "
            "ordinary minute, 0.5 as rare as the few alarms a month it is allowed, near 1 far "
            "rarer than anything it has shown).",
        ],
        "links": {
            "page": "https://outagewatch.example/outages/42/",
            "timeline": "https://outagewatch.example/api/v1/outages/42/timeline/",
            "service_page": "https://outagewatch.example/services/chatgpt/",
            "service_api": "https://outagewatch.example/api/v1/services/chatgpt/",
            "series": "https://outagewatch.example/api/v1/services/chatgpt/series/",
            "feed": "https://outagewatch.example/services/chatgpt/outages/feed/",
        },
        "official_incident": _OFFICIAL_INCIDENT,
        "official_lead": (
            "OutageWatch detected this 14 minutes before the official status page acknowledged it."
        ),
    },
)

STATUS = OpenApiExample(
    "One service with problems",
    response_only=True,
    value={
        "count": 1,
        "results": [
            {
                **_STATE,
                "service": "chatgpt",
                "service_name": "ChatGPT",
                "url": "https://outagewatch.example/services/chatgpt/",
                "active_outage": _OUTAGE,
            }
        ],
        "detection": _DETECTION,
    },
)
