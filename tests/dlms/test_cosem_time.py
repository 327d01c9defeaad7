"""COSEM date, time and date-time: exact bytes, not-specified markers, special values, deviation sign."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.cosem_time import (
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DataValueError,
    datetime_from_bytes,
)
from meterlink.errors import LocalProtocolError, MalformedDataError

H = bytes.fromhex
CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))


def test_clock_status_bits() -> None:
    assert int(ClockStatus.INVALID) == 0x01
    assert int(ClockStatus.DOUBTFUL) == 0x02
    assert int(ClockStatus.DIFFERENT_CLOCK_BASE) == 0x04
    assert int(ClockStatus.INVALID_CLOCK_STATUS) == 0x08
    assert int(ClockStatus.DAYLIGHT_SAVING_ACTIVE) == 0x80


def test_cet_vector_from_the_field() -> None:
    # 2024-03-31 (Sunday) 14:30:00, hundredths not specified, deviation -60 (CET), status 00
    raw = H("07e8031f07 0e1e00ff ffc4 00")
    value = CosemDateTime.from_bytes(raw)
    assert (value.year, value.month, value.day, value.day_of_week) == (2024, 3, 31, 7)
    assert (value.hour, value.minute, value.second, value.hundredths) == (14, 30, 0, None)
    assert value.deviation == -60
    assert value.clock_status == ClockStatus(0)
    assert type(value.clock_status) is ClockStatus
    assert value.to_bytes() == raw
    assert value.to_datetime() == dt.datetime(2024, 3, 31, 14, 30, tzinfo=CET)
    assert value.to_datetime().utcoffset() == dt.timedelta(hours=1)
    assert value.date == CosemDate(2024, 3, 31, 7)
    assert value.time == CosemTime(14, 30, 0, None)


def test_cest_with_dst_flag() -> None:
    raw = H("07e8070f01 0c000000 ff88 80")
    value = CosemDateTime.from_bytes(raw)
    assert value.deviation == -120
    assert value.clock_status is not None
    assert ClockStatus.DAYLIGHT_SAVING_ACTIVE in value.clock_status
    # the DST bit is informative: the deviation already carries the shift
    assert value.to_datetime() == dt.datetime(2024, 7, 15, 12, tzinfo=CEST)
    assert value.to_bytes() == raw


def test_opposite_deviation_convention() -> None:
    value = CosemDateTime.from_bytes(H("07e8010101 00000000 003c 00"))
    assert value.to_datetime(deviation_sign="local-minus-utc").utcoffset() == dt.timedelta(hours=1)
    assert value.to_datetime().utcoffset() == dt.timedelta(hours=-1)
    with pytest.raises(DataValueError):
        value.to_datetime(deviation_sign="sideways")  # type: ignore[arg-type]
    assert datetime_from_bytes(value.to_bytes(), deviation_sign="local-minus-utc") == dt.datetime(
        2024, 1, 1, tzinfo=CET
    )


def test_deviation_zero_is_utc_not_naive() -> None:
    value = CosemDateTime.from_bytes(H("07e8010101 00000000 0000 00"))
    assert value.to_datetime().tzinfo is dt.UTC


def test_all_not_specified() -> None:
    raw = H("ffffffffff ffffffff 8000 ff")
    value = CosemDateTime.from_bytes(raw)
    assert value == CosemDateTime()
    assert all(getattr(value, f) is None for f in CosemDateTime.__dataclass_fields__)
    assert value.to_bytes() == raw
    assert not value.is_specified
    with pytest.raises(DataValueError) as info:
        value.to_datetime()
    assert isinstance(info.value, LocalProtocolError)
    assert isinstance(info.value, ValueError)
    assert datetime_from_bytes(raw) is None


def test_naive_when_deviation_not_specified() -> None:
    raw = H("07e8031f07 0e1e0032 8000 ff")
    value = CosemDateTime.from_bytes(raw)
    assert value.deviation is None
    assert value.clock_status is None
    assert value.to_datetime() == dt.datetime(2024, 3, 31, 14, 30, 0, 500000)
    assert datetime_from_bytes(raw) == dt.datetime(2024, 3, 31, 14, 30, 0, 500000)


@pytest.mark.parametrize(
    ("wire", "field", "kept"),
    [
        ("ffff fd ff ff", "month", 0xFD),  # DST end
        ("ffff fe ff ff", "month", 0xFE),  # DST begin
        ("07e8 03 fd ff", "day", 0xFD),  # second-last day
        ("07e8 03 fe 07", "day", 0xFE),  # last day
        ("07e8 ff ff ff", "month", None),
    ],
)
def test_special_date_values_are_kept(wire: str, field: str, kept: int | None) -> None:
    raw = H(wire)
    date = CosemDate.from_bytes(raw)
    assert getattr(date, field) == kept
    assert date.to_bytes() == raw
    with pytest.raises(DataValueError):
        date.to_date()
    full = H(wire) + H("00000000 ffc4 00")
    value = CosemDateTime.from_bytes(full)
    assert value.to_bytes() == full
    with pytest.raises(DataValueError):
        value.to_datetime()
    assert datetime_from_bytes(full) is None


def test_pattern_times() -> None:
    raw = H("ff00ffff")
    value = CosemTime.from_bytes(raw)
    assert value == CosemTime(None, 0, None, None)
    assert value.to_bytes() == raw
    with pytest.raises(DataValueError):
        value.to_time()
    assert CosemTime(1, 2, 3, None).to_time() == dt.time(1, 2, 3)
    assert CosemTime.from_time(dt.time(1, 2, 3, 456789)) == CosemTime(1, 2, 3, 45)
    assert CosemTime(1, 2, 3, 4).is_specified


def test_date_conversions() -> None:
    assert CosemDate.from_date(dt.date(2024, 2, 29)) == CosemDate(2024, 2, 29, 4)
    assert CosemDate(2024, 2, 29, None).to_date() == dt.date(2024, 2, 29)
    with pytest.raises(DataValueError):
        CosemDate(2023, 2, 29, None).to_date()
    assert CosemDate(2024, 2, 29, 4).is_specified
    assert not CosemDate(2024, 2, 29, None).is_specified


def test_from_datetime() -> None:
    aware = dt.datetime(2024, 3, 31, 14, 30, 5, 120000, tzinfo=CET)
    value = CosemDateTime.from_datetime(aware, clock_status=ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    assert value.to_bytes() == H("07e8031f07 0e1e050c ffc4 80")
    assert value.to_datetime() == aware
    assert CosemDateTime.from_datetime(aware, deviation_sign="local-minus-utc").deviation == 60
    naive = CosemDateTime.from_datetime(dt.datetime(2024, 1, 1))
    assert naive.deviation is None
    assert naive.clock_status is None
    assert naive.to_bytes() == H("07e8010101 00000000 8000 ff")
    odd = dt.timezone(dt.timedelta(seconds=30))
    with pytest.raises(DataValueError):
        CosemDateTime.from_datetime(dt.datetime(2024, 1, 1, tzinfo=odd))
    assert CosemDateTime.from_datetime(dt.datetime(2024, 1, 1), clock_status=5).clock_status == ClockStatus(5)


def test_constructor_checks() -> None:
    for bad in (
        {"month": 0xFF},
        {"month": 256},
        {"year": 0xFFFF},
        {"hour": -1},
        {"deviation": -0x8000},
        {"deviation": 0x8000},
        {"clock_status": 0xFF},
        {"clock_status": True},
        {"second": "1"},
    ):
        with pytest.raises(DataValueError):
            CosemDateTime(**bad)
    with pytest.raises(DataValueError):
        CosemDate(day=300)
    with pytest.raises(DataValueError):
        CosemTime(hundredths=0xFF)


def test_reserved_status_bits_survive() -> None:
    raw = H("07e8010101 00000000 ffc4 31")
    value = CosemDateTime.from_bytes(raw)
    assert int(value.clock_status or 0) == 0x31
    assert ClockStatus.INVALID in (value.clock_status or ClockStatus(0))
    assert value.to_bytes() == raw


def test_truncated_and_offsets() -> None:
    with pytest.raises(MalformedDataError) as info:
        CosemDateTime.from_bytes(H("07e8010101"))
    assert info.value.offset == 0
    with pytest.raises(MalformedDataError) as info:
        CosemDateTime.from_bytes(H("00" * 12), 3)
    assert info.value.offset == 3
    with pytest.raises(MalformedDataError):
        CosemDate.from_bytes(b"\x07", 0)
    with pytest.raises(MalformedDataError):
        CosemTime.from_bytes(b"", 0)
    with pytest.raises(MalformedDataError):
        CosemTime.from_bytes(b"\x00" * 8, -1)
    raw = H("aabb 07e8010101 00000000 8000 ff")
    assert CosemDateTime.from_bytes(memoryview(raw), 2) == CosemDateTime(2024, 1, 1, 1, 0, 0, 0, 0)
    assert CosemDate.from_bytes(bytearray(raw), 2) == CosemDate(2024, 1, 1, 1)


def test_datetime_from_bytes_edges() -> None:
    assert datetime_from_bytes(H("07e8010101 00000000 8000")) is None  # 11 bytes
    assert datetime_from_bytes(H("07e7021e01 00000000 8000 ff")) is None  # 30 February
    assert datetime_from_bytes(H("07e8010101 18000000 8000 ff")) is None  # hour 24
    assert datetime_from_bytes(H("07e8010101 00000064 8000 ff")) is None  # hundredths 100
    assert datetime_from_bytes(H("07e8010101 00000000 7fff ff")) is None  # deviation beyond a day
    assert datetime_from_bytes(H("0000010101 00000000 8000 ff")) is None  # year 0
    assert datetime_from_bytes(H("07e8010101 00000000 ffc4 00")) == dt.datetime(2024, 1, 1, tzinfo=CET)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=12, max_size=12))
def test_fast_path_agrees_with_the_object(raw: bytes) -> None:
    value = CosemDateTime.from_bytes(raw)
    assert value.to_bytes() == raw
    assert CosemDateTime(*(getattr(value, f) for f in CosemDateTime.__dataclass_fields__)) == value
    try:
        expected: dt.datetime | None = value.to_datetime()
    except DataValueError:
        expected = None
    got = datetime_from_bytes(raw)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == (expected.utcoffset() if expected else None)
        assert CosemDateTime.from_datetime(got).to_datetime() == got


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), timezones=st.sampled_from([None, dt.UTC, CET, CEST])),
)
def test_datetimes_round_trip(value: dt.datetime) -> None:
    value = value.replace(microsecond=value.microsecond // 10000 * 10000)
    cosem = CosemDateTime.from_datetime(value)
    back = cosem.to_datetime()
    assert back == value
    assert back.utcoffset() == value.utcoffset()
    assert CosemDateTime.from_bytes(cosem.to_bytes()) == cosem
