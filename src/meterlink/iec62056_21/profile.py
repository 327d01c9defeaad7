"""VDEW load profiles (``P.01``, ``P.02``) and logbooks (``P.98``, ``P.99``) from readout data sets.

A VDEW meter answers ``R5 P.01(from;to)`` with a header line and one bare row per interval::

    P.01(sYYMMDDhhmm[ss])(status)(period-min)(n)(code1)(unit1)...(coden)(unitn)
    (v1)...(vn)
    (v1)...(vn)

and re-emits the header whenever the status word changes (power failure, clock set, season
switch); rows continue from the newest header's timestamp. Logbooks use the same header with an
empty period; the event's values usually follow on the header line itself (Metcom), sometimes on
bare rows below it.

The readout parser delivers exactly that shape: headers are data sets with address ``P.nn``,
rows are data sets with the empty address ``""`` (see :mod:`.readout`), so these functions take
either data sets (a :class:`~.readout.Readout` is iterable) or the block's bytes/text.

Timestamps are naive wall-clock time with the header's season flag (see :mod:`.values`). Profile
values are exact :class:`~decimal.Decimal`; an empty or non-numeric entry (``()``, ``????``) is
``None``, because it means "no valid value for this interval", not zero.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from meterlink.errors import LocalProtocolError, MalformedDataError
from meterlink.obis import Obis

from .readout import DataSet, Value, parse_data_block, parse_readout
from .values import MeterDateTime

__all__ = [
    "Channel",
    "LoadProfile",
    "LogEntry",
    "Logbook",
    "ProfileRow",
    "parse_load_profile",
    "parse_logbook",
    "status_bits",
]

_HEADER_RE: Final = re.compile(r"(?:[0-9]{1,3}-[0-9]{1,3}:)?P\.[0-9]{1,3}(?:\*[0-9]{1,3})?")


@dataclass(frozen=True, slots=True)
class Channel:
    """One column of a profile: the code as printed in the header and its unit."""

    code: str
    """As printed: ``1.5``, ``1-0:1.5.0``, ``C.1.9``, ``0-0:C.11.0`` ..."""
    unit: str | None
    """``None`` when the header leaves the unit empty (``(C.1.9)()``)."""

    @property
    def obis(self) -> Obis | None:
        """The code as an OBIS code, ``None`` if it is not one."""
        return Obis.try_parse(self.code)


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One interval: when it was captured, the status word in force, one value per channel."""

    timestamp: MeterDateTime
    status: int
    values: tuple[Decimal | None, ...]


@dataclass(frozen=True, slots=True)
class LoadProfile:
    """A VDEW load profile: one channel list, one capture period, rows in the order sent."""

    profile: str
    """The header address, e.g. ``P.01``."""
    channels: tuple[Channel, ...]
    capture_period: int
    """Seconds between rows."""
    rows: tuple[ProfileRow, ...]

    def __iter__(self) -> Iterator[ProfileRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logbook event: its timestamp, status word, and the values it carries."""

    timestamp: MeterDateTime
    status: int
    channels: tuple[Channel, ...]
    values: tuple[Value, ...]
    """As text (typed on demand): logbook values are event codes and counters, not measurements."""


@dataclass(frozen=True, slots=True)
class Logbook:
    """A VDEW logbook (``P.98`` event log, ``P.99`` ...): entries in the order sent."""

    logbook: str
    entries: tuple[LogEntry, ...]

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True)
class _Header:
    address: str
    start: MeterDateTime
    status: int
    period: int | None  # minutes; None when empty (logbooks)
    channels: tuple[Channel, ...]
    trailing: tuple[Value, ...]  # groups after the channel list on the header line


def _data_sets(data: Iterable[DataSet] | bytes | bytearray | memoryview | str) -> Sequence[DataSet]:
    if isinstance(data, str):
        return parse_data_block(data)
    if isinstance(data, bytes | bytearray | memoryview):
        # A framed programming-mode answer (STX ... ETX BCC) is checked like a readout.
        return parse_readout(data).data_sets if b"\x02" in data else parse_data_block(data)
    try:
        items = list(data)
    except TypeError:
        raise LocalProtocolError(f"expected data sets, bytes or str, got {type(data).__name__}") from None
    if not all(isinstance(item, DataSet) for item in items):
        raise LocalProtocolError("expected an iterable of DataSet")
    return items


def _bad(message: str, data_set: DataSet) -> MalformedDataError:
    return MalformedDataError(message, data=data_set.raw.encode("latin-1", "replace"), offset=0)


def _header(data_set: DataSet) -> _Header:
    """Split ``P.nn(ts)(status)(period)(n)(code)(unit)...`` into its parts."""
    values = data_set.values
    if len(values) < 4:
        raise _bad(f"profile header {data_set.address} needs (time)(status)(period)(n)", data_set)
    count = _int(values[3], data_set, "channel count")
    end = 4 + 2 * count
    if len(values) < end:
        raise _bad(f"profile header announces {count} channels but lists fewer", data_set)
    start = _timestamp(values[0], data_set)
    status = _int(values[1], data_set, "status word", base=16)
    period = None if not values[2].value.strip() else _int(values[2], data_set, "capture period")
    channels = tuple(Channel(values[k].raw, values[k + 1].raw or None) for k in range(4, end, 2))
    return _Header(data_set.address, start, status, period, channels, values[end:])


def _int(value: Value, data_set: DataSet, what: str, *, base: int = 10) -> int:
    try:
        return value.as_int(base)
    except MalformedDataError:
        raise _bad(f"{what} {value.raw!r} of {data_set.address} is not a number", data_set) from None


def _timestamp(value: Value, data_set: DataSet) -> MeterDateTime:
    try:
        return value.timestamp()
    except MalformedDataError:
        raise _bad(
            f"timestamp {value.raw!r} of {data_set.address} is not a date and time", data_set
        ) from None


def _is_header(data_set: DataSet, wanted: str | None) -> bool:
    address = data_set.address
    if data_set.malformed or _HEADER_RE.fullmatch(address) is None:
        return False
    return wanted is None or address == wanted


def parse_load_profile(
    data: Iterable[DataSet] | bytes | bytearray | memoryview | str, *, profile: str | None = None
) -> LoadProfile:
    """Collect a VDEW load profile from its header and row data sets.

    ``profile`` picks the header address (``"P.02"``); by default the first ``P.nn`` header
    found. Data sets before the first header and rows under other headers are skipped. Row *k*
    under a header stamped *t* is stamped *t + k x period* with the header's season flag and
    status word. Raises :class:`~meterlink.errors.MalformedDataError` when there is no header,
    a header is damaged, the channel list or period changes between headers, or a row has
    another number of values than there are channels.
    """
    items = _data_sets(data)
    rows: list[ProfileRow] = []
    first: _Header | None = None
    current: _Header | None = None
    index = 0
    for data_set in items:
        if data_set.malformed:
            if current is not None:
                raise _bad("unreadable text inside a load profile", data_set)
            continue
        if _is_header(data_set, profile if profile is not None else (first.address if first else None)):
            header = _header(data_set)
            if first is None:
                if not header.period:
                    raise _bad(f"{header.address} has no capture period (a logbook?)", data_set)
                first = header
            elif header.channels != first.channels or header.period != first.period:
                raise _bad(f"{header.address} changes its channels or period between headers", data_set)
            current, index = header, 0
            if header.trailing:  # rows on the header line, or rows merged into the header
                index = _add_rows(rows, header, _chunks(header, data_set), index, data_set)
        elif current is not None and data_set.address == "":
            index = _add_rows(rows, current, (data_set.values,), index, data_set)
        elif current is not None and data_set.address != current.address:
            current = None  # another register: rows below it are not ours
    if first is None or first.period is None:
        raise MalformedDataError(f"no load profile header {profile or 'P.nn'} found")
    return LoadProfile(first.address, first.channels, first.period * 60, tuple(rows))


def _chunks(header: _Header, data_set: DataSet) -> list[tuple[Value, ...]]:
    """The groups after a header's channel list, one tuple per row (or event)."""
    width = len(header.channels)
    trailing = header.trailing
    if width == 0 or len(trailing) % width:
        raise _bad(f"{len(trailing)} values after the header do not fill rows of {width}", data_set)
    return [trailing[k : k + width] for k in range(0, len(trailing), width)]


def _add_rows(
    rows: list[ProfileRow],
    header: _Header,
    groups: Iterable[tuple[Value, ...]],
    index: int,
    data_set: DataSet,
) -> int:
    width = len(header.channels)
    step = dt.timedelta(minutes=header.period or 0)
    for values in groups:
        if len(values) != width:
            raise _bad(f"profile row has {len(values)} values for {width} channels", data_set)
        stamp = MeterDateTime(header.start.datetime + index * step, header.start.season)
        rows.append(ProfileRow(stamp, header.status, tuple(value.number() for value in values)))
        index += 1
    return index


def parse_logbook(
    data: Iterable[DataSet] | bytes | bytearray | memoryview | str, *, logbook: str | None = None
) -> Logbook:
    """Collect a VDEW logbook (``P.98``): one entry per header line, plus one per bare row below.

    Each ``P.98(ts)(status)()(n)(code)(unit)...`` line is an entry; the values after the
    channel list on the same line are its values (several entries if they fill several rows of
    *n*). Bare rows below a header are further entries with the header's timestamp and status.
    ``logbook`` picks the address (default: the first ``P.nn`` header found).
    """
    items = _data_sets(data)
    entries: list[LogEntry] = []
    name = logbook
    current: _Header | None = None
    for data_set in items:
        if data_set.malformed:
            if current is not None:
                raise _bad("unreadable text inside a logbook", data_set)
            continue
        if _is_header(data_set, name):
            current = _header(data_set)
            name = current.address
            events = (
                _chunks(current, data_set) if current.channels and current.trailing else [current.trailing]
            )
            entries.extend(LogEntry(current.start, current.status, current.channels, v) for v in events)
        elif current is not None and data_set.address == "":
            entries.append(LogEntry(current.start, current.status, current.channels, data_set.values))
        elif current is not None:
            current = None
    if name is None:
        raise MalformedDataError(f"no logbook header {logbook or 'P.nn'} found")
    return Logbook(name, tuple(entries))


def status_bits(status: int) -> tuple[int, ...]:
    """The set bit numbers of a VDEW status word, lowest first (meaning is meter specific)."""
    return tuple(bit for bit in range(status.bit_length()) if status >> bit & 1)
