"""What text from people and from the catalog may hold: every character a page, an Atom
feed (XML 1.0), an email header and a chat message can carry as it is.

Refused: control characters, the bidirectional overrides and isolates that make text read
differently on the page from what was stored ("Trojan source"), and what XML 1.0 cannot hold
(U+FFFE, U+FFFF, lone surrogates): one such service name made the site-wide feed a 500, and a
line break in one left its confirmation emails unsendable (text tester, forty-sixth session).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_DIRECTION = "\u202a-\u202e\u2066-\u2069"
_NOT_XML = "\ud800-\udfff\ufffe\uffff"
# Text of several lines (a comment): tab and line breaks allowed.
LINES_REFUSED = re.compile(f"[{_CONTROL}{_DIRECTION}{_NOT_XML}]")
# A name: one line.
NAME_REFUSED = re.compile(f"[\t\n\r{_CONTROL}{_DIRECTION}{_NOT_XML}]")


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """The text without what XML 1.0 cannot hold, for the feeds: rows stored before names
    were checked (or by other means) must not make a feed a 500 or invalid XML."""
    return _XML_UNSAFE.sub("", text)


def visible(text: str) -> bool:
    """Whether the text shows anything: not only spaces and invisible formatting characters
    (a zero-width space, a byte-order mark, a Hangul filler)."""
    return any(
        not ch.isspace()
        and unicodedata.category(ch) not in ("Cf", "Zs", "Mn")
        and ch not in "\u115f\u1160\u3164\uffa0\u2800"
        for ch in text
    )


def one_line_validate(value: str) -> None:
    """A model field validator for one line shown everywhere (a problem's description)."""
    if NAME_REFUSED.search(value):
        raise ValidationError(
            "Must not contain control characters, line breaks or text-direction overrides.",
            code="invalid_text",
        )


def name_validate(value: str) -> None:
    """A model field validator for names shown everywhere (services, categories, problems):
    one line, and something to see."""
    one_line_validate(value)
    if not visible(value):
        raise ValidationError("Must show at least one letter, digit or sign.", code="blank_name")
