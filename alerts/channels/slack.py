"""Slack incoming webhook: ``text`` (the notification and fallback) plus Block Kit ``blocks``
(https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit)."""

from __future__ import annotations

import json
from typing import Any

from alerts.channels import http
from alerts.channels.base import Notice
from detection.presentation import rate_phrase

# Block Kit limits: section text 3000 characters, at most 10 fields of 2000 each.
_TEXT_MAX = 3000


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(notice: Notice) -> dict[str, Any]:
    where = ", ".join(notice.country_names) or "All regions"
    peak = notice.figures.rate if notice.figures else rate_phrase(notice.observed, notice.expected)
    fields = [
        {"type": "mrkdwn", "text": f"*Countries*\n{_escape(where)}"},
        {"type": "mrkdwn", "text": f"*Reports (peak)*\n{peak}"},
    ]
    if notice.outage is None:  # an upstream outage: the services affected instead
        names = ", ".join(name for name, _ in notice.extra["outages"])
        fields = [{"type": "mrkdwn", "text": f"*Affected*\n{_escape(names)}"}]
    if notice.problems:
        top = ", ".join(f"{p['name']} ({p['count']})" for p in notice.problems[:3])
        fields.append({"type": "mrkdwn", "text": f"*Top problems*\n{_escape(top)}"})
    service = _escape(notice.subscription.service.name)
    return {
        # mrkdwn too (the notification): a "<!channel>" in a name must not ping everyone.
        "text": _escape(notice.title),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _escape(notice.summary)[:_TEXT_MAX]},
                "fields": fields,
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{notice.outage_url}|The outage> · "
                        f"<{notice.service_url}|{service} status>",
                    }
                ],
            },
        ],
    }


class SlackTransport:
    def send(self, notice: Notice) -> None:
        body = json.dumps(payload(notice)).encode()
        http.post(notice.subscription.url, body=body, headers={})
