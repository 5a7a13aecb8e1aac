"""Refuse to start a production process on unsafe settings."""

from __future__ import annotations

import ipaddress
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MISSING = (
    "SECRET_KEY must be set when DEBUG is off, and not to the development key. Production: "
    "set SECRET_KEY (50+ random characters); development: set DEBUG=1 (`make run` and the "
    "tests do)."
)


# Reporters' networks are stored as hashes keyed by SECRET_KEY: a guessable key lets anyone
# holding the database try all 16.7 million IPv4 /24s and read them back (red-team tester).
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_WEAK = (
    f"SECRET_KEY is too weak to keep reporters' networks private (fewer than "
    f"{SECRET_KEY_MIN_LENGTH} characters, or fewer than 5 different ones): set 50+ random "
    "characters, e.g. from python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
)


def secret_key_problem() -> str | None:
    if settings.SECRET_KEY_MISSING:
        return SECRET_KEY_MISSING
    key = settings.SECRET_KEY
    if not settings.DEBUG and (len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < 5):
        return SECRET_KEY_WEAK
    return None


def production_warnings() -> list[tuple[int, str]]:
    """Development defaults that production falls back to without a word, numbered: what
    `check --deploy` warns about (an operator who set README's list got emails written to
    disk)."""
    if settings.DEBUG:
        return []
    found = []
    if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        found.append(
            (
                1,
                f"Emails are not delivered: EMAIL_BACKEND is {settings.EMAIL_BACKEND} (set "
                "EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587).",
            )
        )
    host = urlsplit(settings.SITE_URL).hostname or ""
    if host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost"):
        found.append(
            (
                2,
                f"SITE_URL is {settings.SITE_URL}: links in emails and feeds would point there "
                "(set SITE_URL to the site's public address).",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        found.append(
            (
                3,
                "The database is SQLite, the zero-setup default: production runs on PostgreSQL "
                "(set DATABASE_URL).",
            )
        )
    if settings.REDIS_URL_DEFAULTED:
        found.append(
            (
                4,
                f"REDIS_URL is not set: the broker and cache default to {settings.REDIS_URL}, "
                "the development Redis (set REDIS_URL, even to that address).",
            )
        )
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower()
    if sender in {"localhost", ""} or sender.endswith(".localhost"):
        found.append(
            (
                5,
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL}: relays refuse or junk mail "
                "from localhost (set DEFAULT_FROM_EMAIL to an address of your domain).",
            )
        )
    for network in _open_proxies(settings.TRUSTED_PROXIES):
        found.append(
            (
                6,
                f"TRUSTED_PROXIES names {network}: any client there may name its own address "
                "in X-Forwarded-For, and so the network its reports count from (name the "
                "proxies' own addresses).",
            )
        )
    password = getattr(settings, "EMAIL_HOST_PASSWORD", "")
    secured = getattr(settings, "EMAIL_USE_TLS", False) or getattr(settings, "EMAIL_USE_SSL", False)
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and password and not secured:
        found.append(
            (
                7,
                "The mail relay's password goes in clear: EMAIL_URL has neither TLS nor SSL "
                "(use smtp+tls:// or smtp+ssl://).",
            )
        )
    return found


# A trusted network this large that holds public addresses is no list of proxies: 0.0.0.0/0
# lets every client choose its network (the largest range of a CDN's proxies is a /12).
_PROXY_NETWORK_MAX = 2**24


def _open_proxies(networks: list[str]) -> list[str]:
    found = []
    for text in networks:
        network = ipaddress.ip_network(text, strict=False)
        size = network.num_addresses >> (0 if network.version == 4 else 96)
        if size > _PROXY_NETWORK_MAX and not network.is_private:
            found.append(text)
    return found


def require_safe_settings() -> None:
    """Called by the WSGI/ASGI application and the Celery app before they serve anything."""
    problem = secret_key_problem()
    if problem:
        raise ImproperlyConfigured(problem)
