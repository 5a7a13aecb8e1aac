"""Discord webhook: ``content`` plus one rich ``embeds`` entry
(https://discord.com/developers/docs/resources/webhook#execute-webhook)."""

from __future__ import annotations

import json
import re
from typing import Any

from alerts.channels import http
from alerts.channels.base import Notice
from detection.presentation import rate_phrase

_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#])")


def _escape(text: str) -> str:
    """Text shown as it is where Discord reads markdown (content, description, field
    values): "[x](http://evil.example)" in a name was a disguised link (text tester)."""
    return _MARKDOWN.sub(r"\\\1", text)


# Embed colours: red for problems, green once resolved.
_RED, _GREEN = 0xB42318, 0x067647


def payload(notice: Notice) -> dict[str, Any]:
    where = ", ".join(notice.country_names) or "All regions"
    fields = [
        {"name": "Countries", "value": _escape(where)[:1024], "inline": True},
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
        fields = [{"name": "Affected", "value": _escape(names)[:1024], "inline": False}]
    if notice.problems:
        top = ", ".join(f"{p['name']} ({p['count']})" for p in notice.problems[:3])
        fields.append({"name": "Top problems", "value": _escape(top)[:1024], "inline": False})
    return {
        "content": _escape(notice.title)[:2000],
        # No pings: a subscriber's channel, not ours to @everyone.
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": notice.title[:256],
                "description": _escape(notice.summary)[:4096],
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
