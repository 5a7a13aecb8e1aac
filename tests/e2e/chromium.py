"""How the browser tests and bench/web launch Debian's Chromium: one place, no test imports."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# No sandbox: CI runs as root in a container. The rest keeps the browser from calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A phone's viewport in CSS pixels (an iPhone 12 to 15's).
PHONE = {"width": 390, "height": 844}
