from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowql.engine.clock import from_iso, parse_duration, parse_time, to_iso, truncate
from flowql.engine.errors import FlowqlError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("1h30m", 5400), ("1.5h", 5400), ("300ms", 0.3), ("2m3s", 123), ("0", 0)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "-1s", "1d", "s", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(FlowqlError):
        parse_duration(text)


def test_rfc3339_needs_an_offset() -> None:
    assert parse_time("2030-01-01T00:00:00+02:00") == datetime(2029, 12, 31, 22, tzinfo=UTC)
    with pytest.raises(FlowqlError):
        parse_time("2030-01-01T00:00:00")


def test_iso_strings_round_trip_at_millisecond_precision_and_sort() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert to_iso(moment) == "2026-01-02T03:04:05.678Z"
    assert from_iso(to_iso(moment)) == truncate(moment)
    later = moment + timedelta(milliseconds=1)
    assert to_iso(moment) < to_iso(later)


@pytest.mark.parametrize("text", ["99999999999999999999h", "900000000h", "36526d", "876601h"])
def test_durations_beyond_100_years_are_refused(text: str) -> None:
    with pytest.raises(FlowqlError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_times_out_of_range_are_validation_errors(text: str) -> None:
    with pytest.raises(FlowqlError):
        parse_time(text)


def test_lowercase_t_and_z_are_rfc3339() -> None:
    assert parse_time("2030-01-01t00:00:00z") == datetime(2030, 1, 1, tzinfo=UTC)
