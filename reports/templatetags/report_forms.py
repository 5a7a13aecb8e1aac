"""Template helpers for the report form, the comments and the confirmations shown at a form."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.contrib.messages.storage.base import Message
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


@register.simple_tag
def select_options(choices: Iterable[tuple[str, str]], chosen: Any) -> SafeString:
    """A select's options with `chosen` selected. A template loop over the 250 countries was
    a fifth of a service page's cost (bench/web/README.md); the options are the same for
    every visitor but the one selected, so they are formatted once per choice list."""
    chosen = "" if chosen is None else str(chosen)
    return mark_safe(
        "".join(
            selected if value == chosen else plain
            for value, plain, selected in _formatted_options(tuple(choices))
        )
    )


_options_formatted: dict[tuple[tuple[str, str], ...], list[tuple[str, str, str]]] = {}


def _formatted_options(choices: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str]]:
    """Each choice's value and its option, plain and selected."""
    # Keyed by the choices themselves: a form built with other choices gets its own entry,
    # and a process holds a handful (the report form's countries), never one per visitor.
    formatted = _options_formatted.get(choices)
    if formatted is None:
        formatted = [
            (
                str(value),
                format_html('<option value="{}">{}</option>', value, name),
                format_html('<option value="{}" selected>{}</option>', value, name),
            )
            for value, name in choices
        ]
        _options_formatted[choices] = formatted
    return formatted
