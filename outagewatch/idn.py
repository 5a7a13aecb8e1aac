"""Internationalised host names, as DNS and mail systems hold them today: IDNA 2008 with
UTS 46's mapping, non-transitional (what registries, browsers and mail servers use).

Python's "idna" codec, which socket, http.client and Django's mail use on a name in another
script, is IDNA 2003: it maps "ß" to "ss" and a final sigma to a sigma, so a subscriber at
straße.de was mailed at strasse.de, someone else's domain (text tester, forty-sixth session).
Names are therefore encoded here before those libraries see them.
"""

from __future__ import annotations

import idna


def _encoded(host: str) -> str:
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:  # an invalid name; UnicodeError as the codec raises
        raise UnicodeError(str(exc)) from exc


def host_ascii(host: str) -> str:
    """The name as DNS holds it ("straße.de" -> "xn--strae-oqa.de"). An ASCII name is left as
    it is (the callers check its form themselves). Raises UnicodeError for an invalid name."""
    return host if host.isascii() else _encoded(host)


def host_unicode(host: str) -> str:
    """The name as people read it, one form for every way of writing it ("ＳＴＲＡßE.de",
    "xn--strae-oqa.de" -> "straße.de"). Raises UnicodeError for an invalid name."""
    if host.isascii() and "xn--" not in host.lower():
        return host
    try:
        return idna.decode(_encoded(host))
    except idna.IDNAError as exc:
        raise UnicodeError(str(exc)) from exc


def mail_address_ascii(address: str) -> str:
    """An address with its domain as DNS holds it, for the envelope and the To header."""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{host_ascii(domain)}" if at else address
