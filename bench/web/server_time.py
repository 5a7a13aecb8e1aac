"""What a page view costs the server: the time to answer one GET, servers and pages in turn.

    .venv/bin/python bench/web/server_time.py --base before=http://127.0.0.1:8396 \\
        --base after=http://127.0.0.1:8398 --path / --path /services/chatgpt/ --rounds 200

One connection per server (keep-alive), one request at a time, so the figure is the
server's time per view plus one local round trip, not a queue. Each round visits every
page on every server in turn (alternated, so the machine's noise falls on all alike),
after a warm-up that fills the caches every visitor shares. The table gives the median and
90th percentile per page and server and the ratio of medians to the first server, from the
same run: compare ratios, not milliseconds across runs. Figures in bench/web/README.md.

`--poll`: each request sends the ETag of the server's previous answer for its page, as an
open page's poll of its live.json does (an unchanged answer is a 304).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import requests

HEADERS = {"X-Forwarded-Proto": "https"}


def _parse_base(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not url.startswith("http"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=http://host:port")
    return name, url.rstrip("/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=_parse_base, action="append", required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--host", default="", help="Host header, when ALLOWED_HOSTS needs one")
    parser.add_argument("--poll", action="store_true", help="send each answer's ETag back")
    args = parser.parse_args(argv)

    headers = {**HEADERS, **({"Host": args.host} if args.host else {})}
    sessions = {name: requests.Session() for name, _ in args.base}
    etags: dict[tuple[str, str], str] = {}
    times: dict[tuple[str, str], list[float]] = {
        (path, name): [] for path in args.path for name, _ in args.base
    }
    for round_ in range(args.warmup + args.rounds):
        for path in args.path:
            for name, url in args.base:
                asked = dict(headers)
                if args.poll and (path, name) in etags:
                    asked["If-None-Match"] = etags[(path, name)]
                start = time.perf_counter()
                answer = sessions[name].get(url + path, headers=asked, timeout=30)
                took = time.perf_counter() - start
                etags[(path, name)] = answer.headers.get("ETag", "")
                if answer.status_code not in (200, 304):
                    print(f"{name} {path}: HTTP {answer.status_code}", file=sys.stderr)
                    return 1
                if round_ >= args.warmup:
                    times[(path, name)].append(took * 1000)

    print("| page | server | median ms | p90 ms | ratio to first |")
    print("|---|---|---|---|---|")
    for path in args.path:
        first = statistics.median(times[(path, args.base[0][0])])
        for name, _ in args.base:
            taken = sorted(times[(path, name)])
            median = statistics.median(taken)
            p90 = taken[int(0.9 * (len(taken) - 1))]
            print(f"| {path} | {name} | {median:.2f} | {p90:.2f} | {median / first:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
