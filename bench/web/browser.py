"""First contentful paint and load of the public pages on an emulated slow phone, in Chromium.

    .venv/bin/python bench/web/browser.py --base before=http://127.0.0.1:8101 \
        --base after=http://127.0.0.1:8102 --path / --path /services/chatgpt/ --rounds 5

Every visit is a first visit (a fresh browser context: empty cache, no cookies) on a phone
viewport over Chrome's network emulation (CDP Network.emulateNetworkConditions: 400 kbit/s
down and up, 400 ms round trip, by default) with the CPU slowed 4x (Emulation.
setCPUThrottlingRate). The bases and pages are visited in turn, round after round, so that
every figure of one run shares the machine's state; the table gives medians and each one's
ratio to the first base's figure for the same page. Times vary between machines and runs:
compare the ratios of one run, never figures of different runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

# The repository's root, for the launch settings the browser tests use.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.e2e.chromium import CHROMIUM, CHROMIUM_ARGS, PHONE

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const bytes = performance.getEntriesByType("resource")
    .reduce((sum, r) => sum + r.transferSize, nav.transferSize);
  return {fcp: fcp ? fcp.startTime : null, load: nav.loadEventEnd,
          bytes: bytes, requests: performance.getEntriesByType("resource").length + 1};
}"""


def visit(browser, url: str, *, kbit: int, rtt: int, cpu: float) -> dict:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        extra_http_headers={"X-Forwarded-Proto": "https"},
    )
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": rtt,
                "downloadThroughput": kbit * 1000 / 8,
                "uploadThroughput": kbit * 1000 / 8,
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
        page.goto(url, wait_until="load", timeout=120_000)
        return page.evaluate(TIMINGS)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", action="append", required=True, help="label=url")
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kbit", type=int, default=400)
    parser.add_argument("--rtt", type=int, default=400)
    parser.add_argument("--cpu", type=float, default=4.0)
    args = parser.parse_args(argv)
    bases = [b.split("=", 1) for b in args.base]
    from playwright.sync_api import sync_playwright

    results: dict[tuple[str, str], list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(args.rounds):
                for path in args.path:
                    for label, base in bases:
                        results.setdefault((label, path), []).append(
                            visit(browser, base + path, kbit=args.kbit, rtt=args.rtt, cpu=args.cpu)
                        )
        finally:
            browser.close()

    print(
        f"{args.kbit} kbit/s, {args.rtt} ms RTT, CPU /{args.cpu:g}, {args.rounds} rounds,"
        " medians (ratio to the first base)"
    )
    print("| page | base | FCP ms | load ms | bytes transferred | requests |")
    print("|---|---|---|---|---|---|")
    for path in args.path:
        first: dict[str, float] = {}
        for label, _ in bases:
            runs = results[(label, path)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("fcp", "load", "bytes")}
            first = first or med
            print(
                f"| {path} | {label} | {med['fcp']:.0f} ({med['fcp'] / first['fcp']:.2f}) | "
                f"{med['load']:.0f} ({med['load'] / first['load']:.2f}) | "
                f"{med['bytes']:,.0f} ({med['bytes'] / first['bytes']:.2f}) | "
                f"{runs[0]['requests']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
