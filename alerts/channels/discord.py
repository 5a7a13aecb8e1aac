"""Discord webhook: ``content`` plus one rich ``embeds`` entry
(https://discord.com/developers/docs/resources/webhook#execute-webhook)."""

from __future__ import annotations

import json
from typing import Any

from alerts.channels import http
from alerts.channels.base import Notice
from detection.presentation import rate_phrase

# Embed colours: red for problems, green once resolved.
_RED, _GREEN = 0xB42318, 0x067647


def payload(notice: Notice) -> dict[str, Any]:
    where = ", ".join(notice.country_names) or "All regions"
    fields = [
        {"name": "Countries", "value": where[:1024], "inline": True},
        {
            "name": "Reports (peak)",
            "value": (
                notice.figures.rate
                if notice.figures
                else rate_phrase(notice.observed, notice.expected)
            ),
            "inline": True,
        },
    ]
    if notice.outage is None:  # an upstream outage: the services affected instead
        names = ", ".join(name for name, _ in notice.extra["outages"])
        fields = [{"name": "Affected", "value": names[:1024], "inline": False}]
    if notice.problems:
        top = ", ".join(f"{p['name']} ({p['count']})" for p in notice.problems[:3])
        fields.append({"name": "Top problems", "value": top[:1024], "inline": False})
    return {
        "content": notice.title[:2000],
        # No pings: a subscriber's channel, not ours to @everyone.
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": notice.title[:256],
                "description": notice.summary[:4096],
                "url": notice.outage_url,
                "color": _GREEN if notice.event == "resolved" else _RED,
                "fields": fields,
                "timestamp": notice.at.isoformat(),
                "footer": {"text": f"OutageWatch · {notice.subscription.service.name}"},
            }
        ],
    }


class DiscordTransport:
    def send(self, notice: Notice) -> None:
        body = json.dumps(payload(notice)).encode()
        http.post(notice.subscription.url, body=body, headers={})
