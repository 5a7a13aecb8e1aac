"""Host names in other scripts as DNS holds them (outagewatch.idn): IDNA 2008, not Python's
IDNA 2003 codec, which folds "ß" to "ss" (text tester, forty-sixth session)."""

from __future__ import annotations

import socket

import pytest

from outagewatch import outbound
from outagewatch.idn import host_ascii, host_unicode, mail_address_ascii


def test_names_keep_the_letters_idna_2003_folded():
    assert host_ascii("straße.de") == "xn--strae-oqa.de"
    assert host_ascii("σόλος.gr") == "xn--wxaijb9b.gr"
    assert host_ascii("my_host.example") == "my_host.example"  # ASCII left to its caller
    assert host_unicode("xn--strae-oqa.de") == host_unicode("STRAẞE.de") == "straße.de"
    assert mail_address_ascii("ann@straße.de") == "ann@xn--strae-oqa.de"
    with pytest.raises(UnicodeError):
        host_ascii("exa\u200dmple.com")  # a joiner where no script needs one


def test_a_webhook_at_a_name_in_another_script_is_looked_up_by_its_own_name(monkeypatch):
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(outbound.OutboundError):
        outbound.request(
            "POST",
            "https://straße.example/hook",
            body=b"{}",
            headers={},
            timeout=5,
            max_bytes=1000,
            allow_loopback=False,
        )
    assert asked == ["xn--strae-oqa.example"]
