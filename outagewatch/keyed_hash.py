"""Keyed hashes of what identifies a reporter (an address, a network): stored and used as keys
instead of the thing itself.

The value is Django's salted_hmac(salt, value, algorithm=...).hexdigest(), with the key derived
once per salt and secret instead of on every call: the report path makes three a request.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=16)
def _key(salt: str, secret: str, algorithm: str) -> bytes:
    return hashlib.new(algorithm, (salt + secret).encode()).digest()


def keyed_hash(salt: str, value: str, algorithm: str = "sha256") -> str:
    """salted_hmac(salt, value, algorithm=algorithm).hexdigest() under the current SECRET_KEY."""
    key = _key(salt, settings.SECRET_KEY, algorithm)
    return hmac.new(key, value.encode(), algorithm).hexdigest()
