"""The detection core is pure Python, numpy and scikit-learn, so it can be tested, benchmarked
and reused alone (README, DESIGN.md): nothing held it to that but a grep (developer docs
review, forty-sixth session)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_core_module_loads_no_django():
    modules = sorted(f"detection.core.{p.stem}" for p in (ROOT / "detection" / "core").glob("*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'django')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"detection.core loaded Django: {result.stdout}"
