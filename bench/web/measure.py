"""What the public pages cost a visitor, in bytes and requests: deterministic, no browser.

    .venv/bin/python bench/web/measure.py --base http://127.0.0.1:8000 [--service chatgpt]

For each page (home, a service page, an outage page, the outages list, the status API, the
feed): the HTML's bytes as the app sends them and gzipped (level 6, what a proxy in front
sends; the app itself compresses only static files), the inline SVG in it, every resource
it loads (stylesheets, scripts, icon, the map) with its bytes on the wire, its
Cache-Control and whether its name is hashed, the render-blocking ones, and for the live
pages one poll of live.json, first in full, then with the ETag the page holds.
bench/web/README.md has the figures and what they mean.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Page:
    stylesheets: list[str] = field(default_factory=list)
    scripts: list[tuple[str, bool]] = field(default_factory=list)  # (src, blocks rendering)
    icons: list[str] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)
    live_url: str = ""
    live_etag: str = ""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("media", "all") != "print":
            self.page.stylesheets.append(a["href"])
        elif tag == "link" and "icon" in a.get("rel", ""):
            self.page.icons.append(a["href"])
        elif tag == "script" and a.get("src"):
            deferred = "defer" in a or "async" in a or a.get("type") == "module"
            self.page.scripts.append((a["src"], self.in_head and not deferred))
        elif tag == "use" and a.get("href", "").split("#")[0]:
            self.page.uses.add(a["href"].split("#")[0])
        if "data-live-url" in a:
            self.page.live_url = a["data-live-url"]
            self.page.live_etag = a.get("data-live-etag", "")


def gz(body: bytes) -> int:
    return len(gzip.compress(body, 6))


def inline_svg(html: str) -> int:
    return sum(len(s.encode()) for s in re.findall(r"<svg\b.*?</svg>", html, re.S))


def resource(session: requests.Session, base: str, src: str) -> dict:
    url = urljoin(base, src)
    r = session.get(url, headers={**HEADERS, "Accept-Encoding": "gzip, br"}, stream=True)
    wire = len(r.raw.read(decode_content=False))
    return {
        "src": src,
        "status": r.status_code,
        "wire": wire,
        "encoding": r.headers.get("Content-Encoding", "-"),
        "cache": r.headers.get("Cache-Control", "-"),
        "hashed": bool(HASHED.search(src.split("?")[0])),
    }


def measure(session: requests.Session, base: str, name: str, path: str) -> dict:
    r = session.get(urljoin(base, path), headers={**HEADERS, "Accept-Encoding": "gzip, br"})
    r.raise_for_status()
    body = r.content
    out: dict = {
        "page": name,
        "path": path,
        "bytes": len(body),
        "gzip": gz(body),
        "app_encoding": r.headers.get("Content-Encoding", "-"),
        "cache": r.headers.get("Cache-Control", "-"),
    }
    if "html" not in r.headers.get("Content-Type", ""):
        return out
    html = body.decode()
    parser = _Links()
    parser.feed(html)
    page = parser.page
    out["svg"] = inline_svg(html)
    out["svg_gzip"] = gz("".join(re.findall(r"<svg\b.*?</svg>", html, re.S)).encode())
    srcs = page.stylesheets + [s for s, _ in page.scripts] + page.icons + sorted(page.uses)
    out["resources"] = [resource(session, base, s) for s in srcs]
    out["requests"] = 1 + len(out["resources"])
    out["blocking"] = page.stylesheets + [s for s, b in page.scripts if b]
    out["total_wire"] = out["gzip"] + sum(x["wire"] for x in out["resources"])
    if page.live_url:
        live = session.get(urljoin(base, page.live_url), headers=HEADERS)
        poll = session.get(
            urljoin(base, page.live_url),
            headers={**HEADERS, "If-None-Match": f'"{page.live_etag}"'},
        )
        out["live"] = {
            "full": len(live.content),
            "full_gzip": gz(live.content),
            "revalidated_status": poll.status_code,
            "revalidated_bytes": len(poll.content),
        }
    return out


def pages(session: requests.Session, base: str, service: str) -> list[tuple[str, str]]:
    outages = session.get(urljoin(base, "/api/v1/outages/"), headers=HEADERS).json()
    rows = outages.get("results", outages)
    open_ = [o for o in rows if o.get("service") == service and not o.get("ended_at")]
    mine = open_ or [o for o in rows if o.get("service") == service] or rows
    found = [
        ("home", "/"),
        ("service", f"/services/{service}/"),
        ("outages", "/outages/"),
        ("feed", "/outages/feed/"),
        ("status API", "/api/v1/status/"),
    ]
    if mine:
        found.insert(2, ("outage", f"/outages/{mine[0]['id']}/"))
    return found


def report(rows: list[dict]) -> str:
    lines = [
        "| page | HTML | HTML gzip | inline SVG (gzip) | requests | render-blocking |"
        " static on the wire | total on the wire | live.json full (gzip) | poll, unchanged |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        res = r.get("resources", [])
        live = r.get("live")
        lines.append(
            f"| {r['page']} | {r['bytes']:,} | {r['gzip']:,} | "
            + (f"{r['svg']:,} ({r['svg_gzip']:,})" if "svg" in r else "-")
            + f" | {r.get('requests', 1)} | {len(r.get('blocking', []))} | "
            f"{sum(x['wire'] for x in res):,} | {r.get('total_wire', r['gzip']):,} | "
            + (
                f"{live['full']:,} ({live['full_gzip']:,}) | "
                f"{live['revalidated_status']}, {live['revalidated_bytes']} B"
                if live
                else "- | -"
            )
            + " |"
        )
    statics = {x["src"]: x for r in rows for x in r.get("resources", [])}
    lines += ["", "| static file | on the wire | encoding | hashed name | Cache-Control |"]
    lines += ["|---|---|---|---|---|"]
    for x in statics.values():
        lines.append(
            f"| {x['src']} | {x['wire']:,} | {x['encoding']} | {x['hashed']} | {x['cache']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--service", default="chatgpt", help="a service with an open outage")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args(argv)
    session = requests.Session()
    rows = [measure(session, args.base, n, p) for n, p in pages(session, args.base, args.service)]
    print(json.dumps(rows, indent=1) if args.json else report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
