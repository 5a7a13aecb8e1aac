"""Production's static files: hashed names, cached for good, gzipped (bench/web/README.md).

A visitor of several pages on a slow phone downloads the stylesheet and the scripts once;
a new release changes the names, so no stale copy is ever served. A guard: it held before
the web-performance review and must keep holding through changes to the storage settings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import RequestFactory, override_settings

BASE_DIR = Path(__file__).resolve().parent.parent
HASHED = re.compile(r"^/static/css/site\.[0-9a-f]{12}\.css$")


def test_production_static_files_are_hashed_immutable_and_gzipped(tmp_path):
    root = tmp_path / "static"
    # Production settings (DEBUG off) in a process of their own: the storage is chosen when
    # the settings load.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outagewatch.settings",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "STATIC_ROOT": str(root),
    }
    script = (
        "import django, json; django.setup(); from django.conf import settings;"
        "from django.templatetags.static import static;"
        "print(json.dumps([static('css/site.css'), settings.STORAGES['staticfiles']]))"
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR, env=env, check=True, timeout=120,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, check=True, timeout=60,
        capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    url, production = json.loads(out)
    assert HASHED.match(url), url

    from whitenoise.middleware import WhiteNoiseMiddleware

    # The same storage in this process (its settings are development's), over those files.
    storages = {**settings.STORAGES, "staticfiles": production}
    with override_settings(
        DEBUG=False, STATIC_ROOT=root, WHITENOISE_USE_FINDERS=False, STORAGES=storages
    ):
        serve = WhiteNoiseMiddleware(lambda request: None)
        request = RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip, br")
        response = serve(request)
    assert response is not None and response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", response["Cache-Control"])[1]) >= 365 * 86400
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
