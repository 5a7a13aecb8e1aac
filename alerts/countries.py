"""Countries as people type them in the subscribe form: "Turkey", "the Netherlands",
"Deutschland", "Great Britain", "U.K.", as well as codes and the names in the catalog.

reports.geo knows the ISO names and codes (and a few aliases for the report form); people
also type the English names that ISO does not use (Turkey, Burma, Swaziland, Macedonia) and
their own country's name in its language (Deutschland, España). A small table, folded like
the input (no case, accents, dots or a leading "the"), rather than a dependency for it.
"""

from __future__ import annotations

import re
import unicodedata

from reports.geo import country_lookup

# Folded spelling -> ISO 3166-1 alpha-2. Only names that point to one country.
_ALIASES = {
    # English names that ISO does not use (or no longer uses).
    "turkey": "TR",
    "britain": "GB",
    "great britain": "GB",
    "northern ireland": "GB",
    "netherlands": "NL",
    "burma": "MM",
    "swaziland": "SZ",
    "macedonia": "MK",
    "cape verde": "CV",
    "east timor": "TL",
    "vatican": "VA",
    "vatican city": "VA",
    "palestine": "PS",
    "macau": "MO",
    "north korea": "KP",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of congo": "CD",
    "democratic republic of the congo": "CD",
    "republic of ireland": "IE",
    "slovak republic": "SK",
    "uae": "AE",
    "emirates": "AE",
    "micronesia": "FM",
    "brunei": "BN",
    # Names in the country's own language (Latin script).
    "deutschland": "DE",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "espana": "ES",
    "italia": "IT",
    "nederland": "NL",
    "belgie": "BE",
    "belgique": "BE",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "eire": "IE",
    "cesko": "CZ",
    "ceska republika": "CZ",
    "magyarorszag": "HU",
    "hellas": "GR",
    "ellada": "GR",
    "hrvatska": "HR",
    "brasil": "BR",
    "nippon": "JP",
    "nihon": "JP",
    "turkiye": "TR",
}


def _fold(text: str) -> str:
    """ "The Netherlands" -> "netherlands", "Österreich" -> "osterreich", "U.S.A." -> "usa"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace(".", "")
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def country_from_text(text: str) -> str | None:
    """The ISO code of a country as typed (name, native name, alias or code); None if none."""
    code = country_lookup(text)
    if code is not None:
        return code
    folded = _fold(text or "")
    if not folded:
        return None
    return _ALIASES.get(folded) or country_lookup(folded)
