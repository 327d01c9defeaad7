"""Typed conversions for the text values of IEC 62056-21 readouts: numbers, dates and times.

A readout carries everything as text and meters disagree on how to print it (section 1.11 of
the research notes, items 5-7). The parser therefore keeps the text and converts only on
demand, through the functions here. They share three rules:

* **Exact numbers.** Decimals become :class:`~decimal.Decimal` built from validated digits, never
  a binary float, so ``001234.567`` stays ``1234.567`` to the last digit.
* **Naive timestamps plus the meter's season flag.** Meters print local wall-clock time; which
  zone that is belongs to the installation, not to the telegram. What the telegram *does* say
  (the VDEW season digit ``s`` of ``sYYMMDDhhmm``, the DSMR ``W``/``S`` suffix) is returned next
  to the naive value in a small frozen result, because it is exactly what disambiguates the
  repeated hour in autumn.
* **Only meterlink errors.** Anything that is not a value of the asked kind raises
  :class:`~meterlink.errors.MalformedDataError` carrying the text (as latin-1 bytes) and the
  offset; ``ValueError`` from ``int()``/``datetime()`` or ``InvalidOperation`` never escapes.

Two-digit years are taken as 20YY (``century=2000``); pass another century for archives from
the 1990s.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Final

from meterlink.errors import LocalProtocolError, MalformedDataError

__all__ = [
    "MeterDate",
    "MeterDateTime",
    "Season",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "parse_time",
]


class Season(IntEnum):
    """The season (clock) flag that VDEW and DSMR meters put in front of or behind a timestamp."""

    NORMAL = 0
    """Standard time (winter time): VDEW digit ``0``, DSMR suffix ``W``."""
    SUMMER = 1
    """Daylight saving time: VDEW digit ``1``, DSMR suffix ``S``."""
    UTC = 2
    """VDEW digit ``2``, described for clocks kept in UTC; not in our samples, accepted anyway."""


@dataclass(frozen=True, slots=True)
class MeterDateTime:
    """A naive wall-clock timestamp as printed by a meter, with its season flag if it had one."""

    datetime: dt.datetime
    season: Season | None = None
    """``None`` when the printed format carries no flag (most formats)."""

    @property
    def summer(self) -> bool | None:
        """True in daylight saving time, False outside it, None when the meter did not say."""
        return None if self.season is None else self.season is Season.SUMMER


@dataclass(frozen=True, slots=True)
class MeterDate:
    """A date as printed by a meter, with the VDEW season flag of ``sYYMMDD`` if present."""

    date: dt.date
    season: Season | None = None


_SEASON_DIGITS: Final = {"0": Season.NORMAL, "1": Season.SUMMER, "2": Season.UTC}
_DSMR_SUFFIX: Final = {"W": Season.NORMAL, "S": Season.SUMMER}

# Whitespace and NUL padding around a value is noise (Pafal pads with NULs and spaces).
_PAD: Final = " \t\x00"

_DECIMAL_RE: Final = re.compile(r"([+-]?) *([0-9]*)(?:[.,]([0-9]*))?", re.ASCII)
# The common spelling (no padding, no comma): Decimal() reads it exactly as _DECIMAL_RE's parts do.
_PLAIN_DECIMAL_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?", re.ASCII)
_INT_RE: Final = re.compile(r"([+-]?)([0-9A-Za-z]+)", re.ASCII)

# Digit-only timestamps are told apart by length; separated ones by their punctuation.
_DIGITS_RE: Final = re.compile(r"[0-9]+", re.ASCII)
_SEP_DATE: Final = r"([0-9]{4}|[0-9]{2})-([0-9]{2})-([0-9]{2})"
_SEP_TIME: Final = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?"
_SEP_DATE_RE: Final = re.compile(_SEP_DATE, re.ASCII)
_SEP_TIME_RE: Final = re.compile(_SEP_TIME, re.ASCII)
_SEP_DATETIME_RE: Final = re.compile(rf"{_SEP_DATE}(?: +|[,T&_]){_SEP_TIME}", re.ASCII)


def _error(what: str, text: str, offset: int = 0) -> MalformedDataError:
    return MalformedDataError(
        f"{text!r} is not {what}", data=text.encode("latin-1", "replace"), offset=offset
    )


def _strip(text: str) -> tuple[str, int]:
    """The text without padding, and where it starts in the original (for error offsets)."""
    if not isinstance(text, str):
        raise LocalProtocolError(f"expected text, got {type(text).__name__}")
    stripped = text.lstrip(_PAD)
    return stripped.rstrip(_PAD), len(text) - len(stripped)


# -- numbers ----------------------------------------------------------------------------------


def parse_decimal(text: str) -> Decimal:
    """An exact decimal from meter text: sign, padding and a decimal comma are accepted.

    ``" -001234,50"`` gives ``Decimal('-1234.50')``. Exponents, thousands separators, ``NaN`` and
    anything but ASCII digits are rejected (``Decimal()`` itself would accept some of them).
    """
    if type(text) is str and _PLAIN_DECIMAL_RE.fullmatch(text) is not None:
        return Decimal(text)  # the same string the general path below would build
    core, offset = _strip(text)
    match = _DECIMAL_RE.fullmatch(core)
    if match is None:
        raise _error("a decimal number", text, offset)
    sign, whole, fraction = match.groups()
    if not whole and not fraction:
        raise _error("a decimal number", text, offset)
    if fraction is None:
        return Decimal(sign + whole)
    return Decimal(f"{sign}{whole or '0'}.{fraction}")


def parse_int(text: str, base: int = 10) -> int:
    """An integer in ``base`` (2-36) from meter text, e.g. hex status words with ``base=16``."""
    if isinstance(base, bool) or not isinstance(base, int) or not 2 <= base <= 36:
        raise LocalProtocolError(f"base must be an int in 2..36, got {base!r}")
    core, offset = _strip(text)
    match = _INT_RE.fullmatch(core)
    if match is None:
        raise _error(f"an integer in base {base}", text, offset)
    try:
        number = int(match[2], base)
    except ValueError:
        raise _error(f"an integer in base {base}", text, offset) from None
    return -number if match[1] == "-" else number


# -- dates and times --------------------------------------------------------------------------


def _year(digits: str, century: int) -> int:
    return int(digits) if len(digits) == 4 else century + int(digits)


def _make_datetime(
    text: str, year: int, month: int, day: int, hour: int, minute: int, second: int
) -> dt.datetime:
    # 24:00 ends a day in some billing formats; it is the next day's midnight.
    midnight = hour == 24 and minute == 0 and second == 0
    try:
        stamp = dt.datetime(year, month, day, 0 if midnight else hour, minute, second)
    except ValueError:
        raise _error("a valid date and time", text) from None
    return stamp + dt.timedelta(days=1) if midnight else stamp


def _make_date(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _error("a valid date", text) from None


def _make_time(text: str, hour: int, minute: int, second: int) -> dt.time:
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise _error("a valid time of day", text) from None


def parse_datetime(text: str, *, century: int = 2000) -> MeterDateTime:
    """A timestamp in any format of section 1.11 item 7 that has both date and time.

    Digits only, told apart by length: ``YYMMDDhhmm`` (10), ``sYYMMDDhhmm`` (11),
    ``YYMMDDhhmmss`` (12), ``sYYMMDDhhmmss`` (13, VDEW/P.01 and AUX), ``YYYYMMDDhhmmss`` (14) and
    DSMR ``YYMMDDhhmmssW|S``. Separated: ``YY-MM-DD hh:mm``, ``YY-MM-DD,hh:mm``,
    ``YYYY-MM-DD hh:mm:ss``, ``YYYY-MM-DD,hh:mm:ss`` (LIS-200), also with ``T`` or ``&``
    (``2017-01-18&01:36:47``) between date and time.
    """
    core, offset = _strip(text)
    season: Season | None = None
    if core[-1:] in _DSMR_SUFFIX and len(core) == 13:
        season = _DSMR_SUFFIX[core[-1]]
        core = core[:-1]
        if not _DIGITS_RE.fullmatch(core):
            raise _error("a DSMR timestamp YYMMDDhhmmssW|S", text, offset)
        return MeterDateTime(_digits_datetime(text, core, century), season)
    if _DIGITS_RE.fullmatch(core):
        size = len(core)
        if size in (11, 13):
            season = _SEASON_DIGITS.get(core[0])
            if season is None:
                raise _error("a season-prefixed timestamp (season digit 0, 1 or 2)", text, offset)
            core = core[1:]
        elif size not in (10, 12, 14):
            raise _error("a timestamp (10 to 14 digits)", text, offset)
        return MeterDateTime(_digits_datetime(text, core, century), season)
    match = _SEP_DATETIME_RE.fullmatch(core)
    if match is None:
        raise _error("a date and time", text, offset)
    year, month, day, hour, minute, second = match.groups()
    stamp = _make_datetime(
        text, _year(year, century), int(month), int(day), int(hour), int(minute), int(second or 0)
    )
    return MeterDateTime(stamp, None)


def _digits_datetime(text: str, core: str, century: int) -> dt.datetime:
    """``YYMMDDhhmm[ss]`` or ``YYYYMMDDhhmmss`` (season already removed)."""
    if len(core) == 14:
        year, rest = int(core[:4]), core[4:]
    else:
        year, rest = century + int(core[:2]), core[2:]
    second = int(rest[8:10]) if len(rest) >= 10 else 0
    return _make_datetime(text, year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), second)


def parse_date(text: str, *, century: int = 2000) -> MeterDate:
    """A date: ``YYMMDD``, VDEW ``sYYMMDD``, ``YYYYMMDD``, ``YY-MM-DD`` or ``YYYY-MM-DD``."""
    core, offset = _strip(text)
    season: Season | None = None
    if _DIGITS_RE.fullmatch(core):
        size = len(core)
        if size == 7:
            season = _SEASON_DIGITS.get(core[0])
            if season is None:
                raise _error("a season-prefixed date (season digit 0, 1 or 2)", text, offset)
            core = core[1:]
            size = 6
        if size == 6:
            year = century + int(core[:2])
        elif size == 8:
            year, core = int(core[:4]), core[2:]
        else:
            raise _error("a date (YYMMDD, sYYMMDD or YYYYMMDD)", text, offset)
        return MeterDate(_make_date(text, year, int(core[2:4]), int(core[4:6])), season)
    match = _SEP_DATE_RE.fullmatch(core)
    if match is None:
        raise _error("a date", text, offset)
    year_text, month, day = match.groups()
    return MeterDate(_make_date(text, _year(year_text, century), int(month), int(day)), None)


def parse_time(text: str) -> dt.time:
    """A time of day: ``hhmmss``, ``hhmm``, ``hh:mm:ss`` or ``hh:mm``."""
    core, offset = _strip(text)
    if _DIGITS_RE.fullmatch(core) and len(core) in (4, 6):
        second = int(core[4:6]) if len(core) == 6 else 0
        return _make_time(text, int(core[0:2]), int(core[2:4]), second)
    match = _SEP_TIME_RE.fullmatch(core)
    if match is None:
        raise _error("a time of day", text, offset)
    hour, minute, second_text = match.groups()
    return _make_time(text, int(hour), int(minute), int(second_text or 0))
