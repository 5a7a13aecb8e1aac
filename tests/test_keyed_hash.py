"""Keyed hashes: salted_hmac's values, the key derived once per salt and secret."""

from __future__ import annotations

import pytest
from django.utils.crypto import salted_hmac

from outagewatch.keyed_hash import keyed_hash


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_keyed_hash_is_salted_hmac(algorithm):
    # Stored hashes and throttle keys made before the key was cached stay valid.
    for value in ("203.0.113.0/24", "2001:db8::/56", "éàü"):
        expected = salted_hmac("some.salt", value, algorithm=algorithm).hexdigest()
        assert keyed_hash("some.salt", value, algorithm) == expected


def test_keyed_hash_follows_the_secret_and_the_salt(settings):
    before = keyed_hash("some.salt", "203.0.113.0/24")
    assert keyed_hash("other.salt", "203.0.113.0/24") != before
    settings.SECRET_KEY = "another-secret-" + "z" * 40
    after = keyed_hash("some.salt", "203.0.113.0/24")
    assert after != before
    assert after == salted_hmac("some.salt", "203.0.113.0/24", algorithm="sha256").hexdigest()
