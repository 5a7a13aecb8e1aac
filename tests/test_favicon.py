"""The conventional /favicon.ico address (pages link the SVG icon; feed readers, bookmarks
and crawlers ask for this one)."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_favicon_ico_points_at_the_sites_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith(".svg") and "/static/favicon" in response["Location"]
