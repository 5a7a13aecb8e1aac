"""Finding services the way people type them: typos, other names, and category words.

"gogle" finds Google's services, "instagramm" Instagram, "ms teams" Microsoft Teams,
"google mail" Gmail (aliases in reports/data/search.json), "bank" every bank (keywords per
category), "chat gpt" ChatGPT (spaces inside a name), "chatgpt.com" ChatGPT (the service's
website), "is chatgpt down" ChatGPT (the words around a name that people type into a search
engine). An exact name, alias or website ranks first ("x" -> X (Twitter)). The index is
built from the in-process catalog (reports.cache), once per catalog copy: a search costs no
query and a few hundred string comparisons.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reports.cache import Catalog, catalog_get

SEARCH_DATA_PATH = Path(__file__).resolve().parent / "data" / "search.json"
QUERY_MAX_LENGTH = 100
# Below this many letters a typo allowance matches too much ("ing" ~ "ig", "bt" ~ "x").
_FUZZY_MIN_LENGTH = 4
_TYPO_SCORE = 4.0
# Letters and digits of every script are words: "Сбербанк" or "微信" dropped to nothing and
# listed the whole catalog as their answer (text tester, forty-sixth session).
_NON_WORD = re.compile(r"[\W_]+")
# Words around a name that ask whether it works, not which service: "is chatgpt down",
# "why is x not working", "gmail outage today". Only taken off the ends of a query, and the
# query as typed is tried too: "now tv down" is still Now TV.
# A pasted address starts with "https www" once normalized.
_FILLER_BEFORE = frozenset(
    {"is", "are", "why", "the", "can", "t", "cant", "i", "it", "just", "me", "https", "http", "www"}
)
_FILLER_AFTER = frozenset(
    {"is", "are", "down", "not", "working", "work", "broken", "status", "outage", "outages",
     "problem", "problems", "issues", "today", "right", "now", "again", "for", "me", "everyone",
     "doesn", "t", "isn", "it", "or", "just"}
)  # fmt: skip


def normalize(text: str) -> str:
    """Case-folded, no accents or other marks, words of letters and digits (any script)
    separated by single spaces ("Pokémon GO" -> "pokemon go", "Straße" -> "strasse").
    static/js/filter.js does the same in the browser."""
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and ").casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return _NON_WORD.sub(" ", plain).strip()


def without_filler(query: str) -> str:
    """A normalized query without the filler words at its ends ("is chatgpt down" ->
    "chatgpt"); one word is always kept."""
    words = query.split()
    while len(words) > 1 and words[0] in _FILLER_BEFORE:
        words.pop(0)
    while len(words) > 1 and words[-1] in _FILLER_AFTER:
        words.pop()
    return " ".join(words)


def website_term(website: str) -> str:
    """A service's website as people type it, normalized: "https://www.chatgpt.com/" ->
    "chatgpt com" (matched whole only: "com" alone must not find every service)."""
    host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/")[0]
    return normalize(host.removeprefix("www."))


@dataclass(frozen=True)
class SearchWords:
    aliases: dict[str, tuple[str, ...]]  # service slug as in the file -> normalized other names
    keywords: dict[str, tuple[str, ...]]  # category slug -> normalized words


@cache
def search_words(path: Path = SEARCH_DATA_PATH) -> SearchWords:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return SearchWords(
        aliases={slug: tuple(map(normalize, names)) for slug, names in data["aliases"].items()},
        keywords={slug: tuple(map(normalize, words)) for slug, words in data["keywords"].items()},
    )


_aliases_resolved: tuple[Catalog, dict[str, tuple[str, ...]]] | None = None


def _aliases(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """search.json's aliases by the current slug of each service of `catalog`.

    A key left under a former slug (the service renamed in catalog.json, search.json not yet)
    still gives the renamed service its aliases, rather than losing them without a word; a key
    under the current slug wins. Worked out once per catalog copy.
    """
    global _aliases_resolved
    current = _aliases_resolved
    if current is not None and current[0] is catalog:
        return current[1]
    aliases = search_words().aliases
    resolved: dict[str, tuple[str, ...]] = {}
    for old, names in aliases.items():
        if (slug := catalog.renamed.get(old)) and slug not in aliases:
            resolved[slug] = (*resolved.get(slug, ()), *names)  # renamed twice: both keys
    resolved |= aliases
    _aliases_resolved = (catalog, resolved)
    return resolved


@dataclass(frozen=True)
class _Entry:
    slug: str
    name: str  # normalized
    terms: tuple[str, ...]  # normalized name, aliases and slug words
    squeezed: tuple[str, ...]  # the terms without spaces: "chat gpt" finds "chatgpt"
    website: str  # website_term
    words: frozenset[str]  # every word of the terms, and each term without spaces
    category: str
    category_words: tuple[str, ...]  # the category's name and keywords


def service_terms(*, slug: str, name: str, category_slug: str, category_name: str) -> list[str]:
    """Every normalized text a service is found by (the live filter gets the same list)."""
    words = search_words()
    terms = [normalize(name), *_aliases(catalog_get()).get(slug, ()), normalize(slug)]
    terms += [normalize(category_name), *words.keywords.get(category_slug, ())]
    return list(dict.fromkeys(term for term in terms if term))


def _entry(
    catalog: Catalog, slug: str, name: str, category_slug: str, category_name: str, website: str
) -> _Entry:
    words = search_words()
    terms = (normalize(name), *_aliases(catalog).get(slug, ()), normalize(slug))
    split = {word for term in terms for word in term.split()}
    squeezed = tuple(term.replace(" ", "") for term in terms)
    return _Entry(
        slug=slug,
        name=terms[0],
        terms=terms,
        squeezed=squeezed,
        website=website_term(website),
        words=frozenset(split | set(squeezed)),
        category=category_slug,
        category_words=(normalize(category_name), *words.keywords.get(category_slug, ())),
    )


_index_lock = threading.Lock()
_index: tuple[Catalog, tuple[_Entry, ...]] | None = None
# Answers of this catalog copy by needle: the home page asked twice per search (its list, then
# its ranking), and a popular search ("chatgpt" on the day it breaks) is asked by everyone.
# Dropped with the copy; bounded, since queries are anyone's text.
_answers: dict[str, list[str]] = {}
ANSWERS_KEPT = 2048


def _entries() -> tuple[_Entry, ...]:
    global _index
    catalog = catalog_get()
    current = _index
    if current is not None and current[0] is catalog:
        return current[1]
    with _index_lock:
        _answers.clear()
        entries = tuple(
            _entry(
                catalog,
                s.service.slug,
                s.service.name,
                s.service.category.slug,
                s.service.category.name,
                s.service.website,
            )
            for s in catalog.services.values()
        )
        _index = (catalog, entries)
    return entries


def _typos_allowed(word: str) -> int:
    if len(word) < _FUZZY_MIN_LENGTH:
        return 0
    return 1 if len(word) < 8 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _score(entry: _Entry, query: str) -> float | None:
    """Lower is better; None: no match."""
    squeezed = query.replace(" ", "")
    if query in entry.terms or squeezed in entry.squeezed or query == entry.website:
        return 0.0
    if any(term.startswith(squeezed) for term in entry.squeezed):
        return 1.0
    if any(query in term for term in entry.terms):
        return 2.0
    if squeezed != query and any(squeezed in term for term in entry.squeezed):
        return 2.0
    if query in entry.category_words:
        return 3.0
    # Every word of the query is one of the service's words, give or take a typo or two.
    score = _TYPO_SCORE
    for word in query.split():
        allowed = _typos_allowed(word)
        if word in entry.words:
            continue
        best = min((edit_distance(word, own, allowed) for own in entry.words), default=99)
        if best > allowed:
            return None
        score += best
    return score


def _found(needle: str) -> list[tuple[float, str, str]]:
    found = []
    for entry in _entries():
        score = _score(entry, needle)
        if score is not None:
            found.append((score, entry.name, entry.slug))
    # A typo allowance is for when nothing matches as typed: "slack" is not "stack overflow".
    if found and min(found)[0] < _TYPO_SCORE:
        found = [item for item in found if item[0] < _TYPO_SCORE]
    return sorted(found)


def service_search(query: str) -> list[str]:
    """Slugs of the active services matching ``query``, best first (then by name)."""
    needle = normalize(query[:QUERY_MAX_LENGTH])
    if not needle:
        return [entry.slug for entry in sorted(_entries(), key=lambda e: e.name)]
    index = _entries()  # first: a new catalog copy drops the answers of the old one
    answer = _answers.get(needle)
    if answer is not None and _index is not None and _index[1] is index:
        return list(answer)
    found = _found(needle)
    if (shorter := without_filler(needle)) != needle:
        # The query as typed wins unless the filler-free one matches better.
        other = _found(shorter)
        if other and (not found or other[0][0] < found[0][0]):
            found = other
    answer = [slug for _, _, slug in found]
    with _index_lock:
        if _index is not None and _index[1] is index:  # not an answer of a replaced copy
            if len(_answers) >= ANSWERS_KEPT:
                _answers.clear()
            _answers[needle] = answer
    return list(answer)
