"""The MongoDB value encoding round-trips any JSON and produces only BSON-storable values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import bson
from hypothesis import given
from hypothesis import strategies as st

from flowql.storage.mongo.codec import decode, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def _safe_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(
            "." not in key and not key.startswith("$") and "\x00" not in key and _safe_keys(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return all(_safe_keys(item) for item in value)
    return True


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_any_json_round_trips_through_bson(value: dict[str, Any]) -> None:
    encoded = encode(value)
    assert _safe_keys(encoded)
    stored = bson.decode(bson.encode({"v": encoded}))["v"]
    assert decode(stored) == value


def test_times_are_stored_as_utc_milliseconds_and_read_back_aware() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-7)))
    stored = bson.decode(bson.encode({"t": encode(moment)}))["t"]  # naive UTC: a client without tz_aware
    assert decode(stored) == datetime(2026, 1, 2, 10, 4, 5, 678000, tzinfo=UTC)
    assert decode(stored).tzinfo is UTC
