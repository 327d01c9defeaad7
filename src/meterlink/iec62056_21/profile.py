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

Performance is a design goal (a 35,000-row ``P.01`` block parses several times faster than the
PyPI ``iec62056-21`` package merely splits it into data sets). Bytes and text take a fast path:
one C-level regex pass finds the runs of row lines, the lines between them (headers, other
registers) go through the readout parser, and a few ``str`` method calls per run prove that
each row is exactly one ``(..)`` group per channel. Each run then becomes :class:`ProfileRow`
objects in bulk: timestamps ``start + k x period`` by ``itertools.accumulate``, objects filled
slot by slot by C-level ``map`` calls instead of a dataclass ``__init__`` per row. Like the
readout's data sets, such a row keeps its text and types its values on first access of
:attr:`ProfileRow.values` (then keeps them): the same ``tuple[Decimal | None, ...]`` the eager
path builds, but a caller reading one day out of a year pays for one day. Anything the fast path
does not prove clean (continuation lines, a row of the wrong width, stray brackets ...) is
parsed again by the general path, so odd input gives, and damaged input raises, exactly what
it did before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from itertools import accumulate, repeat
from types import MemberDescriptorType
from typing import Any, Final, TypeVar

from meterlink.errors import LocalProtocolError, MalformedDataError
from meterlink.obis import Obis

from .readout import (
    DataSet,
    Value,
    _block_body,
    _block_text,
    _continues,
    _parse_body,
    _ParsedDataSet,
    _ParsedValue,
    _PartitionedDataSet,
    _unframe,
)
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
# A run of consecutive lines starting with '(' (bare rows), as one match.
_ROW_RUN_RE: Final = re.compile(r"^\(.*(?:\n\(.*)*", re.MULTILINE)
# str.translate table keeping only brackets and line breaks: the shape of a run of rows.
_BRACKETS_AND_BREAKS: Final = {code: None for code in range(256) if chr(code) not in "()\n"}


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


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The C-level setter of a slotted (dataclass) field: fills objects without their ``__init__``."""
    slot = vars(cls)[name]
    if not isinstance(slot, MemberDescriptorType):  # pragma: no cover - a slots=True dataclass
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    setter: Callable[[Any, Any], None] = slot.__set__
    return setter


_SET_DATETIME: Final = _slot_setter(MeterDateTime, "datetime")
_SET_SEASON: Final = _slot_setter(MeterDateTime, "season")
_SET_TIMESTAMP: Final = _slot_setter(ProfileRow, "timestamp")
_SET_STATUS: Final = _slot_setter(ProfileRow, "status")
_SET_VALUES: Final = _slot_setter(ProfileRow, "values")
_GET_VALUES: Final[Callable[[ProfileRow], tuple[Decimal | None, ...]]] = vars(ProfileRow)["values"].__get__

# Row text made only of these characters is typed by Decimal() itself (see _numbers).
_PLAIN_ROW: Final = "0123456789.+-()"
# Decimal(text, _STRICT) raises on what is not a number instead of giving NaN, whatever the
# caller's decimal context says; the constructor is exact whatever the precision.
_STRICT: Final = Context(traps=[InvalidOperation])


def _number(raw: str) -> Decimal | None:
    """What :meth:`Value.number` gives for a group's text: the general path's conversion."""
    return _ParsedValue(raw).number()


def _numbers(groups: str) -> tuple[Decimal | None, ...]:
    """The typed values of a row's text ``(v1)(v2)...(vn)``, as the general path types them.

    For text of digits, ``.``, signs and brackets only, ``Decimal(v)`` accepts exactly what
    :func:`~.values.parse_decimal` accepts (``[+-]`` digits with at most one ``.``) and gives
    the same digits and exponent, so a whole row goes through ``map(Decimal, ...)``; an empty or
    otherwise unusual value sends the row through :meth:`Value.number` value by value.
    """
    parts = groups[1:-1].split(")(")
    if not groups.strip(_PLAIN_ROW):
        try:
            return tuple(map(Decimal, parts, repeat(_STRICT)))
        except InvalidOperation:
            pass
    return tuple(map(_number, parts))


class _TextRow(ProfileRow):
    """A :class:`ProfileRow` cut from received text: ``values`` typed on first access, then kept.

    Built by the fast path without ``__init__`` (slots filled by :func:`_fill`), with ``_text``
    set and the ``values`` slot empty. It compares, hashes, prints, copies and pickles as the
    equal :class:`ProfileRow`, and stays frozen.
    """

    __slots__ = ("_text",)

    _text: str | None

    def __init__(self, timestamp: MeterDateTime, status: int, values: tuple[Decimal | None, ...]) -> None:
        # Only reached through dataclasses.replace(); the fast path never calls it.
        _SET_TIMESTAMP(self, timestamp)
        _SET_STATUS(self, status)
        _SET_VALUES(self, values)
        _SET_TEXT(self, None)

    @property
    def values(self) -> tuple[Decimal | None, ...]:
        text = self._text
        if text is None:
            return _GET_VALUES(self)
        values = _numbers(text)
        _SET_VALUES(self, values)
        _SET_TEXT(self, None)
        return values

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProfileRow) and type(other) in _ROW_TYPES:
            return (self.timestamp, self.status, self.values) == (other.timestamp, other.status, other.values)
        return NotImplemented

    __hash__ = ProfileRow.__hash__

    def __repr__(self) -> str:
        return f"ProfileRow(timestamp={self.timestamp!r}, status={self.status!r}, values={self.values!r})"

    def __reduce__(self) -> tuple[type[ProfileRow], tuple[MeterDateTime, int, tuple[Decimal | None, ...]]]:
        return ProfileRow, (self.timestamp, self.status, self.values)


_SET_TEXT: Final = _slot_setter(_TextRow, "_text")
_ROW_TYPES: Final = (ProfileRow, _TextRow)


def _fill(cls: type, count: int, *columns: tuple[Callable[[Any, Any], None], Iterable[Any]]) -> list[Any]:
    """``count`` new ``cls`` objects, each slot set from its column, in C-level loops.

    A frozen dataclass ``__init__`` costs a Python call and an ``object.__setattr__`` per field;
    ``object.__new__`` plus the slots' own setters, driven by ``map``, cost a fraction of that.
    """
    objects: list[Any] = list(map(object.__new__, repeat(cls, count)))
    for setter, values in columns:
        deque(map(setter, objects, values), maxlen=0)
    return objects


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


_Item = DataSet | str
"""What the profile and logbook loops read: a data set, or the text of a run of row lines.

A run is one or more lines starting with ``(``, joined by ``\\n``. Its lines are rows (data
sets with the empty address) if each is exactly ``(..)(..)...(..)``; the loops check that where
they use a run (:func:`_pure_rows`, :func:`_add_run`) and leave it to the general path if not.
"""


_T = TypeVar("_T")


class _Fallback(Exception):
    """The fast path met something it does not handle: parse again with the general path."""


def _data_sets(data: Iterable[DataSet]) -> list[DataSet]:
    try:
        items = list(data)
    except TypeError:
        raise LocalProtocolError(f"expected data sets, bytes or str, got {type(data).__name__}") from None
    if not all(isinstance(item, DataSet) for item in items):
        raise LocalProtocolError("expected an iterable of DataSet")
    return items


def _parse(
    data: Iterable[DataSet] | bytes | bytearray | memoryview | str, collect: Callable[[Iterable[_Item]], _T]
) -> _T:
    """``collect`` over the fast path's items, or over the data sets when that path declines.

    Bytes and text are cut by :func:`_scan`; data sets (a :class:`~.readout.Readout`) have their
    parsed rows joined into runs by :func:`_runs`. :func:`_scan` declines odd text and
    ``collect`` raises :class:`_Fallback` on rows it leaves to the general path; then the data
    sets are read one by one, which decides what odd or damaged input gives (or raises),
    exactly as before the fast path existed.
    """
    data_sets: list[DataSet] | None = None
    if isinstance(data, str):
        body = _block_body(data)
        items = _scan(body)
    elif isinstance(data, bytes | bytearray | memoryview):
        # A framed programming-mode answer (STX ... ETX BCC) is checked like a readout.
        body = _block_body(_unframe(data)[1] if b"\x02" in data else _block_text(data))
        items = _scan(body)
    else:
        data_sets = _data_sets(data)
        items = list(_runs(data_sets))
    if items is not None:
        try:
            return collect(items)
        except _Fallback:
            pass
    return collect(_parse_body(body) if data_sets is None else data_sets)


def _scan(body: str) -> list[_Item] | None:
    """The block's items, each run of bare row lines as one text (``_parse_body`` otherwise).

    ``None`` (take the general path) when there are no rows. One C-level regex pass finds the
    runs of lines starting with ``(``; the lines between them are cut into data sets by the
    readout parser. A run continues the data set above it where the tokenizer would do so
    (below a register that is not a ``P.nn`` header), otherwise it is one item, checked by its
    user: everything before an unclean run is what the tokenizer makes of the text, and the
    loops fall back to the general path as soon as they reach one.
    """
    items: list[_Item] = []
    above: DataSet | None = None  # the last data set so far: what a bare line could continue
    pos = 0
    for match in _ROW_RUN_RE.finditer(body):
        start, stop = match.span()
        if start > pos:
            data_sets = _parse_body(body[pos : start - 1])
            if data_sets:
                items += data_sets
                above = data_sets[-1]
        run = match[0]
        if above is not None and _continues(above):  # e.g. a DSMR 3 gas reading below its header
            if not _pure_rows(run):
                return None
            groups = f"{above._groups}{run}".replace("\n", "")  # the groups have no line breaks
            above = items[-1] = _ParsedDataSet(above.address, groups)
        else:
            items.append(run)
        pos = stop + 1
    if not pos:
        return None  # no rows at all: the readout parser's own fast path is the better one
    if pos < len(body):
        items += _parse_body(body[pos:])
    return items


def _pure_rows(run: str) -> bool:
    """Whether every line of ``run`` (each starting with ``(``) is exactly ``(..)(..)...(..)``.

    Proven without a per-line loop: every line ends in ``)``, and summed over the lines ``(``
    and ``)`` each count one more per line than the glued ``)(`` pairs -- per line they count
    at least that many, with equality only for exactly groups (see ``readout._parse_lines``).
    """
    lines = run.count("\n") + 1
    if not run.endswith(")") or run.count(")\n") != lines - 1:
        return False
    count = run.count(")(") + lines
    return run.count("(") == count == run.count(")")


def _runs(data_sets: Iterable[DataSet]) -> Iterator[_Item]:
    """Data sets with each run of parsed rows (address ``""``) as the text of its lines.

    Only rows the readout parser made are taken as text (their groups are exactly
    ``(..)...(..)``); a row built by a caller from :class:`Value` objects stays a data set.
    """
    run: list[str] = []
    for data_set in data_sets:
        if type(data_set) in _PARSED_TYPES and not data_set.address and not data_set.malformed:
            run.append(data_set.raw)
            continue
        if run:
            yield "\n".join(run)
            run = []
        yield data_set
    if run:
        yield "\n".join(run)


_PARSED_TYPES: Final = (_ParsedDataSet, _PartitionedDataSet)


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

    Rows read from bytes or text (and rows of a parsed readout) type their values on first
    access of :attr:`ProfileRow.values`; the values are the same either way (module doc).
    """
    return _parse(data, lambda items: _load_profile(items, profile))


def _load_profile(items: Iterable[_Item], profile: str | None) -> LoadProfile:
    rows: list[ProfileRow] = []
    first: _Header | None = None
    current: _Header | None = None
    index = 0
    for data_set in items:
        if type(data_set) is str:  # a run of bare rows, all with the empty address
            if current is not None:
                index = _add_run(rows, current, data_set, index)
            elif not _pure_rows(data_set):
                raise _Fallback
            continue
        assert isinstance(data_set, DataSet)
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


def _add_run(rows: list[ProfileRow], header: _Header, run: str, index: int) -> int:
    """Rows ``index ...`` under ``header`` from a run's text, in bulk; values stay text until read.

    The same rows as :func:`_add_rows` gives for each line's data set. A line that is not
    exactly one group per channel, or a timestamp past year 9999, is left to the general path.
    """
    lines = run.split("\n")
    count = len(lines)
    width = len(header.channels)
    # Each line (starting with '(') has the bracket shape "()" * width and width - 1 glued ")(",
    # so nothing between its groups, and ends in ')': it is exactly ``width`` groups. Otherwise
    # the general path judges it (a row of the wrong width raises there).
    shape = f"{run.translate(_BRACKETS_AND_BREAKS)}\n"
    if (
        shape != ("()" * width + "\n") * count
        or run.count(")(") != (width - 1) * count
        or run.count(")\n") != count - 1
        or not run.endswith(")")
    ):
        raise _Fallback
    step = dt.timedelta(minutes=header.period or 0)
    try:
        first = header.start.datetime + index * step
        stamps = list(accumulate(repeat(step, count - 1), initial=first))
    except OverflowError:
        raise _Fallback from None
    season = repeat(header.start.season)
    timestamps = _fill(MeterDateTime, count, (_SET_DATETIME, stamps), (_SET_SEASON, season))
    status = repeat(header.status)
    rows += _fill(_TextRow, count, (_SET_TIMESTAMP, timestamps), (_SET_STATUS, status), (_SET_TEXT, lines))
    return index + count


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
        try:
            when = header.start.datetime + index * step
        except OverflowError:
            raise _bad(f"profile row {index} falls after the year 9999", data_set) from None
        stamp = MeterDateTime(when, header.start.season)
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
    return _parse(data, lambda items: _logbook(items, logbook))


def _logbook(items: Iterable[_Item], logbook: str | None) -> Logbook:
    entries: list[LogEntry] = []
    name = logbook
    current: _Header | None = None
    for data_set in items:
        if type(data_set) is str:  # a run of bare rows: one entry each
            if not _pure_rows(data_set):
                raise _Fallback
            if current is not None:
                entries += map(_entry, repeat(current), data_set.split("\n"))
            continue
        assert isinstance(data_set, DataSet)
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


def _entry(header: _Header, groups: str) -> LogEntry:
    """The entry of a bare row below a logbook header: its values as the row's data set has them."""
    values = tuple(map(_ParsedValue, groups[1:-1].split(")(")))
    return LogEntry(header.start, header.status, header.channels, values)


def status_bits(status: int) -> tuple[int, ...]:
    """The set bit numbers of a VDEW status word, lowest first (meaning is meter specific)."""
    return tuple(bit for bit in range(status.bit_length()) if status >> bit & 1)
