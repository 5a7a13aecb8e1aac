"""Alert channels, one module each behind one interface (base.Transport), and the registry
that maps a subscription's channel to its transport.

Adding a channel touches, besides its module here and TRANSPORTS below:
- alerts/models.py, Subscription.Channel (a migration: the field's choices);
- alerts/presentation.py, _CHANNEL_NOUNS ("your Slack channel" in emails and pages);
- alerts/validation.py, _CHAT_HOSTS and _CHAT_EXAMPLES for a chat service's webhook URLs;
- templates/alerts/_subscribe_form.html, its radio button;
- the words that name the channels ("Slack, Discord or a webhook") in the forms, API help,
  emails, README.md and docs/configuration.md (grep for "Discord").
tests/alerts/test_channel_registry.py fails while the lists above disagree.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from alerts.channels.base import Notice, Transport, TransportError
from alerts.channels.discord import DiscordTransport
from alerts.channels.email import EmailTransport, connection_kept
from alerts.channels.slack import SlackTransport
from alerts.channels.webhook import WebhookTransport

TRANSPORTS: dict[str, Transport] = {
    "email": EmailTransport(),
    "webhook": WebhookTransport(),
    "slack": SlackTransport(),
    "discord": DiscordTransport(),
}


def transport_for(channel: str) -> Transport:
    return TRANSPORTS[channel]


def connections_kept() -> AbstractContextManager[None]:
    """Messages sent within share what their channel can share: emails one connection to
    the relay (webhooks, Slack and Discord each go to their own receiver)."""
    return connection_kept()


__all__ = [
    "TRANSPORTS",
    "Notice",
    "Transport",
    "TransportError",
    "connections_kept",
    "transport_for",
]
