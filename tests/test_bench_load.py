"""bench/load: its URLconf adds the bare yardsticks to the product's URLs (no wrk needed here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench_urls(settings, db):
    from bench.load import settings as bench_settings
    from bench.load.views import bare_table_create

    settings.ROOT_URLCONF = bench_settings.ROOT_URLCONF
    bare_table_create()


def test_bare_insert_answers_201_with_the_stored_row(bench_urls, api_client):
    from django.db import connection

    from bench.load.views import BARE_TABLE

    body = {"service": "acme", "problem": "login", "country": "DE"}
    response = api_client.post(
        "/api/bench/reports/", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT service, country FROM {BARE_TABLE} WHERE id = %s", [response.json()["id"]]
        )
        assert cursor.fetchone() == ("acme", "DE")
    assert (
        api_client.post(
            "/api/bench/reports/", data="{}", content_type="application/json"
        ).status_code
        == 400
    )


def test_bare_constant_and_the_product_urls_answer(bench_urls, api_client, service):
    assert api_client.get("/api/bench/constant/").json() == {
        "status": "ok",
        "count": 0,
        "results": [],
    }
    assert api_client.get("/api/v1/status/").status_code == 200
    assert api_client.get(f"/api/v1/services/{service.slug}/").status_code == 200


def test_bare_views_are_not_in_the_products_urls():
    with pytest.raises(NoReverseMatch):
        reverse("bench-bare-report")
    with pytest.raises(NoReverseMatch):
        reverse("bench-bare-constant")


def test_load_script_starts():
    done = subprocess.run(
        [sys.executable, "bench/load/run.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--duration" in done.stdout and "--no-kill" in done.stdout
