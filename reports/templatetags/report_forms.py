"""Template helpers for the report form, the comments and the confirmations shown at a form."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.contrib.messages.storage.base import Message

from reports import selectors
from reports.forms import PLACED, placed_tag
from reports.models import Report, Service

register = template.Library()

COMMENTS_SHOWN = 20


@register.filter
def placed(messages: Iterable[Message], form: str) -> list[Message]:
    """The messages meant for this form (views add them with placed_tag(form))."""
    tag = placed_tag(form)
    return [m for m in messages or () if tag in (m.extra_tags or "").split()]


@register.filter
def unplaced(messages: Iterable[Message]) -> list[Message]:
    """The messages no form shows: the page shows them at its top."""
    return [
        m for m in messages if not any(t.startswith(PLACED) for t in (m.extra_tags or "").split())
    ]


@register.simple_tag
def comments_for(service: Service, outage: Any = None) -> list[Report]:
    """The newest comments about the service; on an outage page, those written during it."""
    if not outage:  # the service page: no outage in its context
        return list(selectors.comment_list(service=service)[:COMMENTS_SHOWN])
    return list(
        selectors.comment_list(service=service, since=outage.started_at, until=outage.resolved_at)[
            :COMMENTS_SHOWN
        ]
    )
