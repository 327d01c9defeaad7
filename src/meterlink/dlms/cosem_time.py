"""COSEM date, time and date-time (IEC 62056-6-2 4.1.6.1): every field kept exactly as the meter sent it.

Wire layout (big-endian)::

    date       year(2) month day day-of-week                                   5 bytes
    time       hour minute second hundredths                                   4 bytes
    date-time  date time deviation(int16, minutes) clock-status               12 bytes

A field the meter leaves "not specified" (0xFF, year 0xFFFF, deviation 0x8000, clock status 0xFF) is
``None`` here - never silently 0 or "now" - because wildcards are meaningful (schedules, DST rules,
HAN meters that send no zone). Special values are kept as the integers sent: month 0xFD/0xFE (DST end/
begin), day 0xFD/0xFE (second-last/last day of the month), so ``to_bytes()`` always gives back the
exact bytes. Field ranges are only checked against their byte width when decoding; whether the fields
make a real point in time is decided by :meth:`CosemDateTime.to_datetime`.

Deviation sign. The Blue Book defines the deviation as *local time minus UTC*, but the meters in our
notes (ISKRA, Kaifa, EVN, Kamstrup...) and the Green Book examples send **UTC minus local**: a meter on
CET (UTC+1) sends -60 (``FF C4``), on CEST -120 (``FF 88``). That is the default here
(``deviation_sign="utc-minus-local"``): -60 becomes ``tzinfo`` UTC+01:00. Meters that follow the other
reading (+60 for CET, seen in older examples; Gurux calls it ``UseUtc2NormalTime``) are handled with
``deviation_sign="local-minus-utc"``. The daylight-saving bit of the clock status is informative only:
the deviation already includes the DST shift, so it never changes the converted instant.
"""

from __future__ import annotations

import datetime as _dt
import enum
import struct
from dataclasses import dataclass
from typing import Final, Literal

from meterlink.errors import LocalProtocolError, MalformedDataError

__all__ = [
    "ClockStatus",
    "CosemDate",
    "CosemDateTime",
    "CosemTime",
    "DataValueError",
    "DeviationSign",
    "datetime_from_bytes",
]


class DataValueError(LocalProtocolError, ValueError):
    """A value handed in by the caller that cannot be encoded or converted.

    Also exported as :class:`meterlink.dlms.axdr.DataValueError` (the same class).
    """


DeviationSign = Literal["utc-minus-local", "local-minus-utc"]


class ClockStatus(enum.IntFlag):
    """Clock status byte of a date-time. Reserved bits (0x10-0x40) are kept as sent."""

    INVALID = 0x01
    DOUBTFUL = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


_DATE = struct.Struct(">HBBB")
_TIME = struct.Struct(">BBBB")
_DATETIME = struct.Struct(">HBBBBBBBhB")

_NS: Final = 0xFF
_NS_YEAR: Final = 0xFFFF
_NS_DEVIATION: Final = -0x8000
# Byte value -> field value: 0xFF reads as None. Indexing a tuple beats a conditional per field.
_BYTE: Final[tuple[int | None, ...]] = (*range(0xFF), None)
_STATUS: Final[tuple[ClockStatus | None, ...]] = (*(ClockStatus(i) for i in range(0xFF)), None)

# Month/day values that name a rule rather than a calendar day.
DST_END: Final = 0xFD
DST_BEGIN: Final = 0xFE
SECOND_LAST_DAY: Final = 0xFD
LAST_DAY: Final = 0xFE

_new = object.__new__
_set = object.__setattr__


def _check_byte(name: str, value: int | None) -> None:
    if value is not None and (type(value) is not int or not 0 <= value < 0xFF):
        raise DataValueError(f"{name} must be None (not specified) or an int 0..254, got {value!r}")


def _check_date(year: int | None, month: int | None, day: int | None, dow: int | None) -> None:
    if year is not None and (type(year) is not int or not 0 <= year < _NS_YEAR):
        raise DataValueError(f"year must be None (not specified) or an int 0..65534, got {year!r}")
    _check_byte("month", month)
    _check_byte("day", day)
    _check_byte("day of week", dow)


def _check_time(hour: int | None, minute: int | None, second: int | None, hundredths: int | None) -> None:
    _check_byte("hour", hour)
    _check_byte("minute", minute)
    _check_byte("second", second)
    _check_byte("hundredths", hundredths)


def _b(value: int | None) -> int:
    return _NS if value is None else value


def _need(data: bytes | bytearray | memoryview, offset: int, size: int, what: str) -> None:
    if offset < 0 or len(data) - offset < size:
        left = max(0, len(data) - max(offset, 0))
        raise MalformedDataError(f"{what} needs {size} bytes, {left} left", data=bytes(data), offset=offset)


_SIGNS: Final = ("utc-minus-local", "local-minus-utc")


def _check_sign(sign: str) -> None:
    if sign not in _SIGNS:
        raise DataValueError(f"deviation_sign must be 'utc-minus-local' or 'local-minus-utc', got {sign!r}")


def _tz(deviation: int, sign: DeviationSign) -> _dt.tzinfo:
    _check_sign(sign)
    minutes = -deviation if sign == "utc-minus-local" else deviation
    if not -1440 < minutes < 1440:
        raise DataValueError(f"deviation {deviation} min is more than a day")
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _TZ_CACHE[minutes] = _dt.UTC if minutes == 0 else _dt.timezone(_dt.timedelta(minutes=minutes))
    return tz


_TZ_CACHE: dict[int, _dt.tzinfo] = {}


def _deviation_of(dt: _dt.datetime | _dt.time, sign: DeviationSign) -> int | None:
    offset = dt.utcoffset()
    if offset is None:
        return None
    seconds = int(offset.total_seconds())
    if seconds % 60 or offset.microseconds:
        raise DataValueError(f"UTC offset {offset} is not a whole number of minutes")
    _check_sign(sign)
    minutes = seconds // 60
    return -minutes if sign == "utc-minus-local" else minutes


def _to_date(year: int | None, month: int | None, day: int | None) -> _dt.date:
    if year is None or month is None or day is None:
        raise DataValueError("date has not-specified fields; it is a pattern, not a calendar day")
    if month > 12 or day > 31:
        raise DataValueError(f"month {month:#x} / day {day:#x} is a special value, not a calendar day")
    try:
        return _dt.date(year, month, day)
    except ValueError as exc:
        raise DataValueError(f"not a calendar day: {exc}") from None


def _to_time(
    hour: int | None, minute: int | None, second: int | None, hundredths: int | None, tz: _dt.tzinfo | None
) -> _dt.time:
    if hour is None or minute is None or second is None:
        raise DataValueError("time has not-specified hour/minute/second fields; it is a pattern")
    hs = 0 if hundredths is None else hundredths
    try:
        return _dt.time(hour, minute, second, hs * 10000, tzinfo=tz)
    except ValueError as exc:
        raise DataValueError(f"not a time of day: {exc}") from None


@dataclass(frozen=True, slots=True)
class CosemDate:
    """A COSEM date (5 bytes); ``None`` fields are "not specified"."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_of_week: int | None = None

    def __post_init__(self) -> None:
        _check_date(self.year, self.month, self.day, self.day_of_week)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> CosemDate:
        """Read 5 bytes at ``offset``."""
        _need(data, offset, 5, "date")
        y, mo, d, w = _DATE.unpack_from(data, offset)
        obj = _new(cls)
        _set(obj, "year", None if y == _NS_YEAR else y)
        _set(obj, "month", _BYTE[mo])
        _set(obj, "day", _BYTE[d])
        _set(obj, "day_of_week", _BYTE[w])
        return obj

    def to_bytes(self) -> bytes:
        year = _NS_YEAR if self.year is None else self.year
        return _DATE.pack(year, _b(self.month), _b(self.day), _b(self.day_of_week))

    def to_date(self) -> _dt.date:
        """The calendar day; raises :class:`DataValueError` for patterns and special values."""
        return _to_date(self.year, self.month, self.day)

    @classmethod
    def from_date(cls, value: _dt.date) -> CosemDate:
        """Also accepts a ``datetime`` (its date part)."""
        return cls(value.year, value.month, value.day, value.isoweekday())

    @property
    def is_specified(self) -> bool:
        """Every field specified (no wildcard)."""
        return None not in (self.year, self.month, self.day, self.day_of_week)


@dataclass(frozen=True, slots=True)
class CosemTime:
    """A COSEM time of day (4 bytes); ``None`` fields are "not specified"."""

    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None

    def __post_init__(self) -> None:
        _check_time(self.hour, self.minute, self.second, self.hundredths)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> CosemTime:
        """Read 4 bytes at ``offset``."""
        _need(data, offset, 4, "time")
        h, mi, s, hs = _TIME.unpack_from(data, offset)
        obj = _new(cls)
        _set(obj, "hour", _BYTE[h])
        _set(obj, "minute", _BYTE[mi])
        _set(obj, "second", _BYTE[s])
        _set(obj, "hundredths", _BYTE[hs])
        return obj

    def to_bytes(self) -> bytes:
        return _TIME.pack(_b(self.hour), _b(self.minute), _b(self.second), _b(self.hundredths))

    def to_time(self) -> _dt.time:
        """Naive ``datetime.time``; not-specified hundredths read as 0, other wildcards raise."""
        return _to_time(self.hour, self.minute, self.second, self.hundredths, None)

    @classmethod
    def from_time(cls, value: _dt.time | _dt.datetime) -> CosemTime:
        """Hundredths are truncated from the microseconds."""
        return cls(value.hour, value.minute, value.second, value.microsecond // 10000)

    @property
    def is_specified(self) -> bool:
        return None not in (self.hour, self.minute, self.second, self.hundredths)


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """A COSEM date-time (12 bytes): date fields, time fields, deviation and clock status.

    ``deviation`` is in minutes with the sign the meter used (see the module docstring); ``None``
    when the meter sent 0x8000. ``clock_status`` is ``None`` for 0xFF.
    """

    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_of_week: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None
    deviation: int | None = None
    clock_status: ClockStatus | None = None

    def __post_init__(self) -> None:
        _check_date(self.year, self.month, self.day, self.day_of_week)
        _check_time(self.hour, self.minute, self.second, self.hundredths)
        dev = self.deviation
        if dev is not None and (type(dev) is not int or not -0x8000 < dev <= 0x7FFF):
            raise DataValueError(f"deviation must be None or an int16 other than -32768, got {dev!r}")
        status = self.clock_status
        if status is not None:
            if not isinstance(status, int) or isinstance(status, bool) or not 0 <= status < 0xFF:
                raise DataValueError(f"clock_status must be None or 0..254, got {status!r}")
            if type(status) is not ClockStatus:
                _set(self, "clock_status", _STATUS[status])

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> CosemDateTime:
        """Read 12 bytes at ``offset`` (one struct unpack, no validation beyond the length)."""
        if offset < 0 or len(data) - offset < 12:
            _need(data, offset, 12, "date-time")
        return _datetime_from_fields(_DATETIME.unpack_from(data, offset))

    @classmethod
    def combine(
        cls,
        date: CosemDate,
        time: CosemTime,
        deviation: int | None = None,
        clock_status: ClockStatus | int | None = None,
    ) -> CosemDateTime:
        return cls(
            date.year,
            date.month,
            date.day,
            date.day_of_week,
            time.hour,
            time.minute,
            time.second,
            time.hundredths,
            deviation,
            clock_status,  # type: ignore[arg-type]  # ints are normalised in __post_init__
        )

    def to_bytes(self) -> bytes:
        return _DATETIME.pack(
            _NS_YEAR if self.year is None else self.year,
            _b(self.month),
            _b(self.day),
            _b(self.day_of_week),
            _b(self.hour),
            _b(self.minute),
            _b(self.second),
            _b(self.hundredths),
            _NS_DEVIATION if self.deviation is None else self.deviation,
            _NS if self.clock_status is None else int(self.clock_status),
        )

    @property
    def date(self) -> CosemDate:
        return CosemDate(self.year, self.month, self.day, self.day_of_week)

    @property
    def time(self) -> CosemTime:
        return CosemTime(self.hour, self.minute, self.second, self.hundredths)

    @property
    def is_specified(self) -> bool:
        """All date and time fields specified (deviation and status may still be ``None``)."""
        return self.date.is_specified and self.time.is_specified

    def to_datetime(self, *, deviation_sign: DeviationSign = "utc-minus-local") -> _dt.datetime:
        """A ``datetime``: aware when the deviation is given, naive otherwise.

        Not-specified hundredths and day of week are tolerated (hundredths read as 0, the day of
        week is not checked against the date); any other wildcard or special value raises
        :class:`DataValueError`.
        """
        tz = None if self.deviation is None else _tz(self.deviation, deviation_sign)
        return _dt.datetime.combine(
            _to_date(self.year, self.month, self.day),
            _to_time(self.hour, self.minute, self.second, self.hundredths, tz),
        )

    @classmethod
    def from_datetime(
        cls,
        dt: _dt.datetime,
        *,
        clock_status: ClockStatus | int | None = None,
        deviation_sign: DeviationSign = "utc-minus-local",
    ) -> CosemDateTime:
        """Aware ``dt`` gives its UTC offset as deviation, naive ``dt`` a not-specified one.

        Microseconds are truncated to hundredths.
        """
        return cls(
            dt.year,
            dt.month,
            dt.day,
            dt.isoweekday(),
            dt.hour,
            dt.minute,
            dt.second,
            dt.microsecond // 10000,
            _deviation_of(dt, deviation_sign),
            clock_status,  # type: ignore[arg-type]  # ints are normalised in __post_init__
        )


def _datetime_from_fields(fields: tuple[int, ...]) -> CosemDateTime:
    y, mo, d, w, h, mi, s, hs, dev, st = fields
    obj = _new(CosemDateTime)
    _set(obj, "year", None if y == _NS_YEAR else y)
    _set(obj, "month", _BYTE[mo])
    _set(obj, "day", _BYTE[d])
    _set(obj, "day_of_week", _BYTE[w])
    _set(obj, "hour", _BYTE[h])
    _set(obj, "minute", _BYTE[mi])
    _set(obj, "second", _BYTE[s])
    _set(obj, "hundredths", _BYTE[hs])
    _set(obj, "deviation", None if dev == _NS_DEVIATION else dev)
    _set(obj, "clock_status", _STATUS[st])
    return obj


def datetime_from_bytes(
    data: bytes | bytearray | memoryview, *, deviation_sign: DeviationSign = "utc-minus-local"
) -> _dt.datetime | None:
    """12 date-time bytes straight to a ``datetime``, or ``None`` when they are not one point in time.

    The profile-buffer fast path: no intermediate object. ``None`` for a wrong length, wildcards
    (hundredths excepted), special values and impossible dates.
    """
    if deviation_sign not in _SIGNS:
        _check_sign(deviation_sign)
    if len(data) != 12:
        return None
    y, mo, d, _, h, mi, s, hs, dev, _ = _DATETIME.unpack(data)
    if y == _NS_YEAR or h > 23 or mi > 59 or s > 59:
        return None
    if hs == _NS:
        hs = 0
    elif hs > 99:
        return None
    try:
        if dev == _NS_DEVIATION:
            return _dt.datetime(y, mo, d, h, mi, s, hs * 10000)
        return _dt.datetime(y, mo, d, h, mi, s, hs * 10000, _tz(dev, deviation_sign))
    except (ValueError, DataValueError):
        return None
