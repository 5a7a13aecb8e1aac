"""Alert channels, one module each behind one interface (base.Transport), and the registry
that maps a subscription's channel to its transport."""

from __future__ import annotations

from alerts.channels.base import Notice, Transport, TransportError
from alerts.channels.discord import DiscordTransport
from alerts.channels.email import EmailTransport
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


__all__ = ["TRANSPORTS", "Notice", "Transport", "TransportError", "transport_for"]
