"""Pages tester findings on colours, checked on the stylesheet: text and focus rings meet WCAG
contrast, computed from site.css."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "site.css").read_text()

# --- a small reader of site.css: the rules outside @media, and the custom properties ---------


def _top_level(css: str) -> str:
    """The stylesheet without comments and @media blocks (the desktop rules)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, depth, i = [], 0, 0
    while i < len(css):
        if depth == 0 and css.startswith("@media", i):
            j = css.index("{", i)
            depth, i = 1, j + 1
            continue
        char = css[i]
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
        else:
            out.append(char)
        i += 1
    return "".join(out)


RULES = [
    ([s.strip() for s in selectors.split(",")], body)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", _top_level(CSS))
]


def _declarations(selector: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for selectors, body in RULES:
        if selector in selectors:
            for declaration in body.split(";"):
                name, _, value = declaration.partition(":")
                if value:
                    found[name.strip()] = value.strip()
    assert found, f"no rule for {selector}"
    return found


PROPERTIES = {
    name: value.strip() for name, value in re.findall(r"(--[\w-]+):\s*([^;]+);", _top_level(CSS))
}


def colour(value: str) -> str:
    """The colour in a declaration ("3px solid var(--focus)" -> "#1d1f23")."""
    for token in reversed(value.split()):
        while token.startswith("var("):
            token = PROPERTIES[token[4:-1]]
        if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", token):
            return token
    raise AssertionError(f"no colour in {value!r}")


def ratio(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two #rgb / #rrggbb colours."""

    def luminance(hex_colour: str) -> float:
        digits = hex_colour[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_the_testers_figures():
    assert round(ratio("#2b8a3e", "#ebfbee"), 2) == 4.07
    assert round(ratio("#fff", "#d9480f"), 2) == 4.30
    assert round(ratio("#000", "#fff"), 0) == 21


# --- F1, F2: text ----------------------------------------------------------------------------


@pytest.mark.parametrize("badge", [".badge-ok", ".badge-possible", ".badge-problems"])
def test_badge_text_meets_aa(badge):
    rule = _declarations(badge)
    assert ratio(colour(rule["color"]), colour(rule["background"])) >= 4.5


def test_primary_buttons_white_text_meets_aa_resting_hovered_and_pressed():
    text = colour(_declarations("button")["color"])
    backgrounds = [
        colour(_declarations("button")["background"]),
        colour(_declarations("button:hover")["background"]),
        colour(_declarations("button:active")["background"]),
    ]
    for background in backgrounds:
        assert ratio(text, background) >= 4.5, background
    assert len(set(backgrounds)) == 3  # hovering and pressing still show
    hovered = _declarations(".problem-buttons button:hover")
    assert ratio(colour(hovered["color"]), colour(hovered["background"])) >= 4.5


# --- F3: the focus ring ------------------------------------------------------------------------


def test_focus_ring_stands_out_on_the_page_cards_and_tinted_boxes():
    ring = colour(_declarations("a:focus-visible")["outline"])
    for selector in ("button:focus-visible", "select:focus-visible", "summary:focus-visible"):
        assert colour(_declarations(selector)["outline"]) == ring
    page = colour(_declarations("body")["background"])
    card = colour(_declarations(".card")["background"])
    tinted = [
        colour(_declarations(s)["background"]) for s in (".message-warning", ".upstream-note")
    ]
    for background in (page, card, *tinted):
        assert ratio(ring, background) >= 3, background


def test_focus_ring_stands_out_in_the_dark_header():
    header = colour(_declarations(".site-header")["background"])
    ring = colour(_declarations(".site-header :focus-visible")["outline-color"])
    assert ratio(ring, header) >= 3
