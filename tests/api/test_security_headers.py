"""Browser-side protections: CSP, Permissions-Policy, cookie flags, admin login limit."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from reports.geo import COUNTRY_COOKIE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/services/acme/", "/api/v1/services/", "/api/v1/nope/"])
def test_every_answer_has_csp_and_permissions_policy(client, service, url):
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for feature in ("geolocation", "camera", "microphone"):
        assert f"{feature}=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("url", ["/", "/services/acme/", "/outages/"])
def test_pages_have_no_inline_scripts_or_styles(client, service, url):
    html = client.get(url).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_api_docs_load_their_script_from_a_file_under_their_own_policy(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1]
    assert "style-src 'self' 'unsafe-inline'" in csp and "img-src 'self' data:" in csp
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    script = re.search(r'<script src="([^"]*swagger-ui[^"]*\.js[^"]*)"', html)
    assert script and script.group(1).startswith("/")


def _report(client, **extra):
    return client.post("/services/acme/", {"problem": "login", "country": "DE"}, **extra)


def test_country_cookie_is_httponly_lax_and_secure_over_https(service, settings):
    settings.SECURE_SSL_REDIRECT = False
    response = _report(Client(), secure=True)
    assert response.status_code == 302
    cookie = response.cookies[COUNTRY_COOKIE]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_country_cookie_is_secure_when_session_cookies_are(service, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = _report(Client())
    assert response.cookies[COUNTRY_COOKIE]["secure"]


def test_admin_sign_in_waits_while_its_limit_cannot_be_checked(redis_down):
    # Reports are stored while Redis is down; password guesses must not go unlimited.
    client = Client()
    credentials = {"username": "admin", "password": "guess", "next": "/admin/"}
    refused = client.post("/admin/login/", credentials)
    assert refused.status_code == 503 and refused["Retry-After"] == "60"
    assert b"Signing in is paused" in refused.content
    assert client.get("/admin/login/").status_code == 200


def test_admin_logins_are_limited_per_client(throttle_rate):
    throttle_rate("admin-login", "3/hour")
    client = Client()
    credentials = {"username": "admin", "password": "guess", "next": "/admin/"}
    answers = [client.post("/admin/login/", credentials).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.post("/admin/login/", credentials)
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert b"Too many sign-in attempts" in client.post("/admin/login/", credentials).content
    # Another address is not affected, and the login page itself still shows.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post("/admin/login/", credentials).status_code == 200
    assert client.get("/admin/login/").status_code == 200
