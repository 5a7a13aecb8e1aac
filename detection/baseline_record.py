"""How a fitted baseline (Baseline.to_dict(), "the record") is laid out in a SeriesBaseline row.

The profile (672 numbers) is stored once, as bytes (PROFILE_DTYPE), and the JSON column holds
the rest of the record. Stored twice, as it was until migration 0016, the JSON was 90 % profile:
PostgreSQL decompressed about 6 kB of it per row to pick out the few scalars the tick reads
(reading 100k baselines: 7.1 s before, 5.6 s after, medians; bench/scale/README.md). A row
written around save() (bulk_create, update) may still carry the profile in its JSON and no
bytes; readers take the bytes where they exist, the JSON's profile otherwise.

No model import: the model's save() and the readers both use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

# SeriesBaseline.profile's layout: the core's PROFILE_FLOAT and SLOTS_PER_WEEK, big-endian
# (what PostgreSQL's float4send writes). Restated rather than imported, so that loading the
# models does not load the core (1.4 s of SciPy and scikit-learn); a test holds them equal.
PROFILE_DTYPE = np.dtype(">f4")
PROFILE_SLOTS = 672
# Rows written before profiles were single precision hold big-endian float64; they are read
# as they are until the next fit rewrites them (nightly), so no migration rewrites 100k rows.
EARLIER_PROFILE_DTYPE = np.dtype(">f8")
_LAYOUTS = {PROFILE_SLOTS * d.itemsize: d for d in (PROFILE_DTYPE, EARLIER_PROFILE_DTYPE)}


def profile_bytes(record: dict[str, Any]) -> bytes:
    """The record's profile as SeriesBaseline.profile holds it."""
    return np.asarray(record["profile"], dtype=PROFILE_DTYPE).tobytes()


def profile_layout(size: int) -> np.dtype:
    """The dtype of a stored profile of `size` bytes (this layout or the earlier one)."""
    try:
        return _LAYOUTS[size]
    except KeyError:
        raise ValueError(f"a stored profile of {size} bytes") from None


def params_digest(record: dict[str, Any]) -> str:
    """What SeriesBaseline.digest holds: a hash of the whole record (profile included), equal
    for equal records whatever wrote them and however the row splits them."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def record_joined(params: dict[str, Any], profile: bytes | memoryview | None) -> dict[str, Any]:
    """The whole record of a row: its JSON, and the profile from its bytes when it has them."""
    if profile is None:
        if "profile" not in params:
            raise ValueError("a stored baseline without a profile")
        return params
    raw = bytes(profile)
    return {**params, "profile": np.frombuffer(raw, profile_layout(len(raw))).tolist()}


def record_split(record: dict[str, Any]) -> tuple[dict[str, Any], str, bytes]:
    """A row's JSON (the record without its profile), digest and profile bytes."""
    params = {k: v for k, v in record.items() if k != "profile"}
    return params, params_digest(record), profile_bytes(record)
