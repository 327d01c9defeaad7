"""Typed conversions of readout text: exact decimals, integers, the date/time zoo of section 1.11."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlink.errors import LocalProtocolError, MalformedDataError
from meterlink.iec62056_21.values import (
    MeterDate,
    MeterDateTime,
    Season,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_time,
)

# -- decimals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("001234.567", "1234.567"),
        ("0", "0"),
        ("+12.5", "12.5"),
        ("-0.001", "-0.001"),
        (" 20000", "20000"),  # 0.0.0( 20000)
        ("  -7,25  ", "-7.25"),  # decimal comma, padding
        ("12.", "12"),
        (".5", "0.5"),
        ("- 3", "-3"),
        ("\x00\x0012.5\x00", "12.5"),
        ("0000000", "0"),
    ],
)
def test_parse_decimal_accepts_meter_spellings(text: str, expected: str) -> None:
    assert parse_decimal(text) == Decimal(expected)


def test_parse_decimal_is_exact_not_float() -> None:
    value = parse_decimal("000123.4500")
    assert isinstance(value, Decimal)
    assert str(value) == "123.4500"  # trailing zeros (the meter's resolution) survive
    assert parse_decimal("0.1") + parse_decimal("0.2") == Decimal("0.3")


@pytest.mark.parametrize(
    "text",
    ["", "   ", ".", "-", "abc", "1e5", "NaN", "Infinity", "1_000", "1.2.3", "12 kWh", "??", "١٢", "1,2,3"],
)
def test_parse_decimal_rejects_non_numbers(text: str) -> None:
    with pytest.raises(MalformedDataError) as info:
        parse_decimal(text)
    assert info.value.data == text.encode("latin-1", "replace")


def test_parse_decimal_error_offset_points_past_padding() -> None:
    with pytest.raises(MalformedDataError) as info:
        parse_decimal("   x1")
    assert info.value.offset == 3


def test_parse_decimal_rejects_non_text() -> None:
    with pytest.raises(LocalProtocolError):
        parse_decimal(12)  # type: ignore[arg-type]


# -- integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [("FDF5", 16, 0xFDF5), ("00000080", 16, 0x80), ("-12", 10, -12), (" 42 ", 10, 42), ("101", 2, 5)],
)
def test_parse_int(text: str, base: int, expected: int) -> None:
    assert parse_int(text, base) == expected


@pytest.mark.parametrize(("text", "base"), [("FDF5", 10), ("", 16), ("1_0", 10), ("12.5", 10), ("٣", 10)])
def test_parse_int_rejects(text: str, base: int) -> None:
    with pytest.raises(MalformedDataError):
        parse_int(text, base)


@pytest.mark.parametrize("base", [0, 1, 37, True])
def test_parse_int_rejects_bad_base(base: int) -> None:
    with pytest.raises(LocalProtocolError):
        parse_int("1", base)


# -- date and time ----------------------------------------------------------------------------

D = dt.datetime


@pytest.mark.parametrize(
    ("text", "expected", "season"),
    [
        ("1703100930", D(2017, 3, 10, 9, 30), None),  # YYMMDDhhmm (1.6.0 max demand stamp)
        ("11904300000", D(2019, 4, 30, 0, 0), Season.SUMMER),  # sYYMMDDhhmm
        ("01904300000", D(2019, 4, 30, 0, 0), Season.NORMAL),
        ("121015061841", D(2012, 10, 15, 6, 18, 41), None),  # YYMMDDhhmmss (EMH P.01)
        ("1220823161500", D(2022, 8, 23, 16, 15), Season.SUMMER),  # sYYMMDDhhmmss (VDEW P.01)
        ("1250625171500", D(2025, 6, 25, 17, 15), Season.SUMMER),  # 1YYMMDDhhmmss (AUX)
        ("20200409123000", D(2020, 4, 9, 12, 30), None),  # YYYYMMDDhhmmss
        ("230101120000W", D(2023, 1, 1, 12, 0), Season.NORMAL),  # DSMR
        ("230701120000S", D(2023, 7, 1, 12, 0), Season.SUMMER),
        ("19-05-10,10:01", D(2019, 5, 10, 10, 1), None),  # YY-MM-DD,hh:mm (TEDAS)
        ("19-05-10 10:01", D(2019, 5, 10, 10, 1), None),  # YY-MM-DD hh:mm (Annex C)
        ("2017-01-18 01:36:47", D(2017, 1, 18, 1, 36, 47), None),
        ("2017-01-18,01:36:47", D(2017, 1, 18, 1, 36, 47), None),  # LIS-200
        ("2017-01-18&01:36:47", D(2017, 1, 18, 1, 36, 47), None),
        ("2017-01-18T01:36", D(2017, 1, 18, 1, 36), None),
        (" 1703100930 ", D(2017, 3, 10, 9, 30), None),
        ("17-03-10 24:00", D(2017, 3, 11, 0, 0), None),  # end-of-day midnight
    ],
)
def test_parse_datetime_formats(text: str, expected: dt.datetime, season: Season | None) -> None:
    stamp = parse_datetime(text)
    assert stamp == MeterDateTime(expected, season)
    assert stamp.datetime.tzinfo is None


def test_season_flag_reads_as_summer() -> None:
    assert parse_datetime("1220823161500").summer is True
    assert parse_datetime("0221223161500").summer is False
    assert parse_datetime("2221223161500").season is Season.UTC
    assert parse_datetime("1703100930").summer is None


def test_parse_datetime_century() -> None:
    assert parse_datetime("9912312359", century=1900).datetime == D(1999, 12, 31, 23, 59)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "170310093",  # 9 digits
        "170310093000000",  # 15 digits
        "31703100930",  # season digit 3
        "1713100930",  # month 13
        "1702300930",  # 30 February
        "1703102530",  # hour 25
        "17-03-10 24:01",
        "17-03-10",  # a date alone is not a timestamp
        "17/03/10 09:30",
        "230101120000X",
        "2301011200W0",
        "??????????",
        "0000000000",
    ],
)
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(MalformedDataError):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("130103", MeterDate(dt.date(2013, 1, 3))),  # YYMMDD (0.9.2)
        ("0170318", MeterDate(dt.date(2017, 3, 18), Season.NORMAL)),  # Iskra sYYMMDD
        ("1250901", MeterDate(dt.date(2025, 9, 1), Season.SUMMER)),
        ("20200409", MeterDate(dt.date(2020, 4, 9))),
        ("19-05-10", MeterDate(dt.date(2019, 5, 10))),
        ("2019-05-10", MeterDate(dt.date(2019, 5, 10))),
    ],
)
def test_parse_date_formats(text: str, expected: MeterDate) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "1301", "130132", "3170318", "13-01-32", "130103093000", "abcdef"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(MalformedDataError):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("101415", dt.time(10, 14, 15)),  # hhmmss (0.9.1)
        ("1014", dt.time(10, 14)),
        ("10:14:15", dt.time(10, 14, 15)),
        ("10:14", dt.time(10, 14)),
        (" 23:59:59", dt.time(23, 59, 59)),
    ],
)
def test_parse_time_formats(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "246000", "10:60", "1:2:3", "10141", "10-14-15"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(MalformedDataError):
        parse_time(text)


# -- nothing but meterlink errors -------------------------------------------------------------


@given(st.text(max_size=24))
def test_conversions_raise_only_malformed_data(text: str) -> None:
    for convert in (parse_decimal, parse_datetime, parse_date, parse_time, parse_int):
        with contextlib.suppress(MalformedDataError):
            convert(text)


@given(st.text(alphabet="0123456789-:, WS", max_size=20))
def test_date_like_text_raises_only_malformed_data(text: str) -> None:
    for convert in (parse_datetime, parse_date, parse_time):
        with contextlib.suppress(MalformedDataError):
            convert(text)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimal_round_trip(number: Decimal) -> None:
    assert parse_decimal(f"{number:f}") == number


# -- the plain-spelling fast path of parse_decimal ----------------------------------------------


class _Text(str):
    """A str subclass: parse_decimal takes its general path for it (the fast path wants str)."""

    __slots__ = ()


def _decimal_outcome(text: str) -> tuple[object, ...]:
    try:
        number = parse_decimal(text)
    except MalformedDataError as exc:
        return ("error", str(exc), exc.data, exc.offset)
    return ("ok", number.as_tuple())  # digits, exponent and the sign of zero, not just the value


@given(st.text(alphabet="0123456789.,+- \t\x00e", max_size=12))
def test_parse_decimal_fast_path_agrees_with_the_general_path(text: str) -> None:
    assert _decimal_outcome(text) == _decimal_outcome(_Text(text))


@pytest.mark.parametrize("text", ["0", "-0", "+5", "5.", "-.5", "007.250", "1" * 60 + ".5"])
def test_parse_decimal_plain_spellings_keep_digits_and_exponent(text: str) -> None:
    assert _decimal_outcome(text) == _decimal_outcome(_Text(text))
    assert parse_decimal(text).as_tuple() == parse_decimal(f" {text} ").as_tuple()
