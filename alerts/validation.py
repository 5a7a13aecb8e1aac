"""Validation shared by the subscribe form and the subscriptions API."""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail.message import sanitize_address
from django.core.validators import validate_email

from alerts.channels.http import address_allowed
from outagewatch.idn import host_ascii, host_unicode
from outagewatch.outbound import request_target
from outagewatch.quoting import quoted
from reports.validation import country_clean

MAX_COUNTRIES = 50
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit


def email_clean(value: str) -> str:
    address = (value or "").strip()
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError("Enter a valid email address.", code="invalid_email")
    validate_email(address)
    if '"' in address or "\\" in address:
        # A quoted local part ("ann"@, "a\nn"@) names the same mailbox as ann@ when mail is
        # sent, yet is another address to the per-mailbox cap; it can also carry control
        # characters into RCPT TO. No mailbox people use needs one.
        raise ValidationError(
            "Enter the address without quotes or backslashes.", code="invalid_email"
        )
    if "=?" in address:
        # An encoded word (=?utf-8?q?v=69ctim?=@) is decoded when mail is sent: victim@ under
        # endless spellings, each another address to the per-mailbox cap on confirmations
        # (security tester F1), and it can decode to characters refused above (a line break).
        raise ValidationError(
            "Enter the address as people write it, not as an encoded mail header (=?...?=).",
            code="invalid_email",
        )
    if address.endswith("]"):
        # A domain literal (ann@[192.0.2.25]) reaches the mailbox at that server's name by
        # another address, and each of its addresses was one more per-mailbox cap on
        # confirmations a stranger can spend (red-team tester F6). No one's mail needs one.
        raise ValidationError(
            "Enter an address at a domain name, not at a server's IP address.",
            code="invalid_email",
        )
    return _sendable(_domain_canonical(address).lower())


def _sendable(address: str) -> str:
    """The address, if mail can be sent to it as it is: one that sending refuses (a domain
    that ends in a dot, as "example.com。" typed in a Chinese or Japanese input method
    becomes) was taken with a 201, then its confirmation failed with a traceback and never
    came (security tester F4)."""
    try:
        sanitize_address(address, "utf-8")
    except (ValueError, UnicodeError):
        raise ValidationError("Enter a valid email address.", code="invalid_email") from None
    return address


def _domain_canonical(address: str) -> str:
    """The address with its domain as mail reaches it (IDNA 2008, outagewatch.idn: fullwidth
    letters folded, soft hyphens dropped, as sending does to the domain; a zero-width joiner
    where no script needs one is refused).

    Left as typed, `victim@examplｅ.com` or `victim@exa<soft hyphen>mple.com` reached
    victim@example.com yet were other addresses to the per-mailbox cap on confirmations:
    unlimited variants, so the subscribe form could mail-bomb anyone.
    """
    local, _, domain = address.rpartition("@")
    try:
        domain = host_unicode(domain)
    except UnicodeError:
        raise ValidationError("Enter a valid email address.", code="invalid_email") from None
    return f"{local}@{domain}"


def countries_clean(values: list[str]) -> list[str]:
    """ISO codes, deduplicated and sorted; every bad code is named at once."""
    # Counted once each: "DE" typed twice is one country of the MAX_COUNTRIES.
    if len({value.strip().upper() for value in values}) > MAX_COUNTRIES:
        raise ValidationError(
            f"At most {MAX_COUNTRIES} countries; leave empty for all.", code="too_many"
        )
    codes: set[str] = set()
    errors: list[ValidationError] = []
    for value in values:
        try:
            codes.add(country_clean(value))
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    return sorted(codes)


# Files of the zone database that name no place's time: the server's own zone, and a zone
# whose abbreviation is "-00" (tzdata's placeholder for "not set").
_NOT_ZONES = {"localtime", "Factory", "posixrules"}


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


def timezone_clean(value: str | None) -> str:
    """An IANA time zone name as the browser reports it ("Europe/Berlin"); empty stays empty,
    which the subscription services read as "unchanged" (UTC for a new one)."""
    name = (value or "").strip()
    if not name:
        return ""
    if name not in _zones():
        raise ValidationError(
            f"Unknown time zone {quoted(name)}: use an IANA name such as Europe/Berlin.",
            code="invalid_timezone",
        )
    return name


def countries_split(text: str) -> list[str]:
    """The form's free text: "DE, AT fr" -> ["DE", "AT", "fr"]."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


URL_MAX_LENGTH = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Where Slack and Discord serve their incoming webhooks (their documentation).
# Checked in full; the error's example uses the host people's URLs have (discord.com, not
# the first in alphabetical order, canary.discord.com).
_CHAT_EXAMPLES = {"slack": "https://hooks.slack.com/services/...",
                  "discord": "https://discord.com/api/webhooks/..."}  # fmt: skip
_CHAT_HOSTS = {
    "slack": ({"hooks.slack.com"}, "/services/"),
    "discord": ({"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"},
                "/api/webhooks/"),
}  # fmt: skip


# A host name: dot-separated labels of letters, digits, hyphens (not at a label's ends) and
# underscores, an optional final dot. Names in other scripts arrive as typed and are encoded
# (IDNA) before this check.
_HOSTNAME = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?",
    re.ASCII,
)


def _hostname_valid(host: str) -> bool:
    try:
        ascii_host = host_ascii(host)
    except UnicodeError:  # an empty or over-long label, or not encodable
        return False
    return len(ascii_host) <= 253 and _HOSTNAME.fullmatch(ascii_host) is not None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names literally, in any form a resolver takes: besides the
    usual ones, the short and numeric IPv4 forms ("127.1", "2130706433", "0x7f000001",
    "0177.0.0.1") that connect to the same place. None for a host name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # Read as a resolver reads it: fullwidth or circled digits ("１２７.０.０.１") are digits
    # once the name is encoded, and a final dot ("127.0.0.1.") names the same address. Both
    # passed as host names (security tester F2).
    try:
        name = host_ascii(host).removesuffix(".")
    except UnicodeError:
        return None
    if re.fullmatch(r"[0-9a-fx.]+", name, re.ASCII):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def channel_url_clean(channel: str, value: str) -> str:
    """The URL a webhook, Slack or Discord channel posts to.

    Only what can be told from the text: http(s), a host name or a public address, and
    for Slack and Discord their own webhook hosts. Where a name points is checked again at
    every send (alerts.channels.http), since it can change.
    """
    url = (value or "").strip()
    if not url:
        raise ValidationError("Enter the URL to post alerts to.", code="required")
    if _CONTROL.search(url):
        # urlsplit drops tabs and line breaks, so the URL stored would not be the one used.
        raise ValidationError(
            "Enter a valid URL: it has a control character (a tab, a line break).",
            code="invalid_url",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid_url") from None
    # Stored as it is sent: a path or query in other scripts (or with a space) percent-encoded,
    # so the same receiver typed either way is one channel.
    path, _, query = request_target(url).partition("?")
    url = parts._replace(path=path if parts.path else "", query=query).geturl()
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(f"At most {URL_MAX_LENGTH} characters.", code="too_long")
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError("Enter an http:// or https:// URL.", code="invalid_url")
    if parts.username or parts.password:
        # It would be stored and shown on the manage page; a receiver checks the signature.
        raise ValidationError(
            "A user name or password in the URL is not supported: put a secret in its path or "
            "query, or check the signature each request carries.",
            code="invalid_url",
        )
    if channel in _CHAT_HOSTS:
        hosts, prefix = _CHAT_HOSTS[channel]
        if parts.scheme != "https" or host not in hosts or not parts.path.startswith(prefix):
            raise ValidationError(
                f"Enter the incoming webhook URL {channel.title()} gave you "
                f"({_CHAT_EXAMPLES[channel]}).",
                code="invalid_url",
            )
        return url
    address = _address(host)
    if address is None:
        if not _hostname_valid(host):
            raise ValidationError("Enter a valid URL.", code="invalid_url")
        name = host.rstrip(".")  # "localhost." is localhost
        local = name == "localhost" or name.endswith((".localhost", ".local", ".internal"))
        if local and not settings.ALERT_HTTP_ALLOW_LOOPBACK:
            raise ValidationError("Alerts are sent to public addresses only.", code="private_url")
        return url
    if not address_allowed(address):
        raise ValidationError("Alerts are sent to public addresses only.", code="private_url")
    return url
