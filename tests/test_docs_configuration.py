"""docs/configuration.md lists every environment variable the code reads, and nothing else.

Operators configure OutageWatch from that page alone; a variable added to the settings without
a row there is a setting nobody knows about, and a row for a variable nobody reads is a knob
that does nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
# Where the code reads its environment: the settings, the production server's configuration,
# and the ASGI entry point (which sets the database pooling variables for the web processes).
SOURCES = ("outagewatch/settings.py", "outagewatch/gunicorn_conf.py", "outagewatch/asgi.py")
# Read only to refuse start-up with a message naming its replacement (TRUSTED_PROXIES).
RETIRED = {"NUM_PROXIES"}
_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _callee(node: ast.expr) -> str:
    return ast.unparse(node)


def _reads_environment(callee: str) -> bool:
    return (
        callee.startswith("env.")
        or callee in {"env_bool", "env_rate", "_cidrs", "os.getenv", "_at_least_one"}
        or callee.startswith("os.environ.")
    )


def variables_read() -> set[str]:
    names: set[str] = set()
    for source in SOURCES:
        tree = ast.parse((ROOT / source).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and _reads_environment(_callee(node.func)):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
            elif (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.ops[0], ast.In)
                and _callee(node.comparators[0]) in {"env", "os.environ"}
            ):
                names.add(node.left.value)
            elif (
                isinstance(node, ast.Subscript)
                and _callee(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                names.add(node.slice.value)
    return {name for name in names if _NAME.match(name)} - {"DJANGO_SETTINGS_MODULE"}


def variables_documented() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        first_column = line.split("|")[1]
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_column))
    return names


def test_the_scan_finds_the_variables_it_should() -> None:
    # Guards the scan itself: one of each way the code reads a variable.
    read = variables_read()
    assert {
        "DEBUG",  # env_bool
        "SECRET_KEY",  # env.str
        "ALLOWED_HOSTS",  # env.list over two lines
        "TRUSTED_PROXIES",  # through _cidrs
        "EMAIL_URL",  # "..." in env
        "WEB_CONCURRENCY",  # os.environ.get in the server's configuration
        "CONN_MAX_AGE",  # os.environ[...] in asgi.py
    } <= read
    assert len(variables_documented()) > 50


def test_every_variable_the_code_reads_is_documented() -> None:
    missing = variables_read() - variables_documented() - RETIRED
    assert not missing, f"read by the code, missing from docs/configuration.md: {sorted(missing)}"


def test_every_documented_variable_is_read() -> None:
    unread = variables_documented() - variables_read()
    assert not unread, f"in docs/configuration.md, never read: {sorted(unread)}"
