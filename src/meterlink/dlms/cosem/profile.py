"""Profile generic (class 7): capture objects and buffer parsing, fast.

A buffer is ``array of structure{cell, ...}``, one cell per capture object, or a compact-array.
:func:`parse_buffer` returns a :class:`Profile`: clock columns (Clock attribute 2) as ``datetime``
(aware when the meter sent a deviation), every other cell as the A-XDR decoder gives it. Rules the
peers break and we keep (reference notes 1/3/4.9):

* ``capture_period`` is in **seconds**;
* a null clock cell is the previous row's time plus (FIFO) or minus (LIFO) the capture period;
  the first row's stays ``None``; buffers sorted by value (sort methods 3-6) are not filled,
  since neighbouring rows are not neighbouring times (Gurux adds the period for "smallest");
* a null value cell stays ``None`` in its column (never shifts the row), or with
  ``fill_nulls=True`` ("compressed" IDIS buffers) repeats the previous row's value;
* compact-array buffers are resolved (delta columns become absolute values).

Cells hold plain Python values: ``int`` for every integer type and enum, ``float`` for both float
types, ``bool``, ``bytes``, ``str``, ``None``; other types as :mod:`meterlink.dlms.axdr` decodes them.
Scalers are not applied to every cell: :attr:`Column.scaler_unit` and :meth:`Profile.quantities`
scale a column on demand, so rows stay plain tuples.

Speed: when every row has the layout of the first one (same tags, same string lengths) the whole
array body is unpacked by one precompiled ``struct`` (tag bytes skipped as padding), the tag
bytes are verified in bulk by comparing strided slices, and each column is converted by a
C-level ``map`` (typed ints through ``int.__new__``, times through the ``datetime`` constructor).
Anything irregular - null cells, long strings, nested values - falls back to the row-by-row A-XDR
decoder, which gives identical rows.
"""

from __future__ import annotations

import datetime as _dt
import functools
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Final

from meterlink.dlms import axdr
from meterlink.dlms._lengths import decode_length
from meterlink.dlms.cosem_time import CosemDateTime, DeviationSign, datetime_from_bytes
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError

from .classes import SortMethod
from .descriptors import CaptureObject, ClassId
from .quantity import Quantity
from .units import ScalerUnit

__all__ = [
    "CaptureObject",
    "Column",
    "Profile",
    "encode_capture_objects",
    "parse_buffer",
    "parse_capture_objects",
]

Row = tuple[Any, ...]


# -- capture objects -------------------------------------------------------------------------------


def parse_capture_objects(data: bytes | bytearray | memoryview) -> list[CaptureObject]:
    """Attribute 3 (capture_objects) or Push setup attribute 2 from its A-XDR bytes."""
    raw = bytes(data)
    if not raw or raw[0] != 0x01:
        raise MalformedDataError("capture_objects must be an array (tag 01)", data=raw, offset=0)
    count, pos = decode_length(raw, 1)
    out = []
    for _ in range(count):
        start = pos
        try:
            item, pos = axdr.decode_from(raw, pos)
        except MalformedDataError:
            raise
        except MeterlinkError as exc:
            raise MalformedDataError(str(exc), data=raw, offset=start) from None
        out.append(CaptureObject.from_value(item, data=raw, offset=start))
    if pos != len(raw):
        raise MalformedDataError("bytes left after capture_objects", data=raw, offset=pos)
    return out


def encode_capture_objects(objects: Sequence[CaptureObject]) -> bytes:
    """A-XDR bytes of a capture object list (the emulator's answer)."""
    from meterlink.dlms._lengths import encode_length

    return b"\x01" + encode_length(len(objects)) + b"".join(c.to_bytes() for c in objects)


# -- result ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One buffer column: what was captured, its scaler (if known) and whether it is the clock."""

    index: int
    capture_object: CaptureObject | None
    scaler_unit: ScalerUnit | None = None
    is_clock: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """Parsed buffer: ``rows`` are tuples in column order; ``fast`` tells which path parsed it."""

    columns: tuple[Column, ...]
    rows: list[Row]
    fast: bool = False

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def column(self, index: int) -> list[Any]:
        """All cells of one column."""
        return [row[index] for row in self.rows]

    def quantities(self, index: int) -> list[Any]:
        """One column scaled by its scaler_unit: numbers become :class:`Quantity`, others stay."""
        su = self.columns[index].scaler_unit if index < len(self.columns) else None
        if su is None:
            return self.column(index)
        scaler, unit = su.scaler, su.unit
        return [
            Quantity(v, scaler, unit) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for v in (row[index] for row in self.rows)
        ]

    def scaled_rows(self) -> list[Row]:
        """Rows with every column that has a scaler_unit turned into :class:`Quantity` cells."""
        if not self.rows:
            return []
        cols = [
            self.quantities(c.index) if c.scaler_unit is not None else self.column(c.index)
            for c in self.columns
        ]
        if len(cols) != len(self.rows[0]):
            return list(self.rows)
        return list(zip(*cols, strict=True))


# -- clock conversion ------------------------------------------------------------------------------


def _clock_cell(value: Any, sign: DeviationSign) -> Any:
    """Octet-string(12) or date-time -> ``datetime``; a :class:`CosemDateTime` if not a point in time."""
    if type(value) is bytes:
        if len(value) != 12:
            return value
        converted = datetime_from_bytes(value, deviation_sign=sign)
        return converted if converted is not None else CosemDateTime.from_bytes(value)
    if isinstance(value, CosemDateTime):
        converted = datetime_from_bytes(value.to_bytes(), deviation_sign=sign)
        return converted if converted is not None else value
    return value


_TZ: dict[int, _dt.tzinfo] = {}


def _tzinfo(deviation: int, sign: DeviationSign) -> _dt.tzinfo | None:
    if deviation == -0x8000:
        return None
    minutes = -deviation if sign == "utc-minus-local" else deviation
    if not -1440 < minutes < 1440:
        raise ValueError("deviation out of range")
    tz = _TZ.get(minutes)
    if tz is None:
        tz = _TZ[minutes] = _dt.UTC if minutes == 0 else _dt.timezone(_dt.timedelta(minutes=minutes))
    return tz


# hundredths byte -> microseconds; 0xFF (not specified) reads as 0, 100..254 are invalid (-1 fails).
_MICROS: Final[tuple[int, ...]] = (*(h * 10000 for h in range(100)), *([-1] * 155), 0)


# -- fast path -------------------------------------------------------------------------------------

# tag -> (struct code, builder or None) for one-field cells. Integers and floats come out of the
# struct as plain Python values: that is what rows hold (see parse_buffer).
_SIMPLE: Final[dict[int, tuple[str, Callable[[Any], Any] | None]]] = {
    axdr.DataTag.BOOLEAN: ("?", None),
    axdr.DataTag.INTEGER: ("b", None),
    axdr.DataTag.LONG: ("h", None),
    axdr.DataTag.DOUBLE_LONG: ("i", None),
    axdr.DataTag.LONG64: ("q", None),
    axdr.DataTag.UNSIGNED: ("B", None),
    axdr.DataTag.LONG_UNSIGNED: ("H", None),
    axdr.DataTag.DOUBLE_LONG_UNSIGNED: ("I", None),
    axdr.DataTag.LONG64_UNSIGNED: ("Q", None),
    axdr.DataTag.ENUM: ("B", None),
    axdr.DataTag.FLOAT32: ("f", None),
    axdr.DataTag.FLOAT64: ("d", None),
    axdr.DataTag.DATE_TIME: ("12s", CosemDateTime.from_bytes),
}
_LATIN1: Final = functools.partial(str, encoding="latin-1")
_CLOCK_FIELDS: Final = "HBBxBBBBhx"  # year month day (dow) hour minute second hundredths deviation (status)
_WHOLE_BODY_MAX: Final = 4096  # rows up to which the whole array is unpacked by one cached struct


@dataclass(frozen=True, slots=True)
class _Layout:
    """A compiled row layout: struct, row size, tag bytes to verify, per-cell converters."""

    struct: struct.Struct
    size: int
    nfields: int
    checks: tuple[tuple[int, int], ...]  # (position in row, expected byte)
    cells: tuple[tuple[int, Callable[[Any], Any] | None], ...]  # (fields used: 1, or 8 for a clock, builder)


def _compile(data: bytes, pos: int, ncols: int | None, clocks: frozenset[int]) -> _Layout | None:
    """The layout of the row at ``pos``, or ``None`` when it has cells the fast path does not do."""
    if pos + 2 > len(data) or data[pos] != 0x02 or data[pos + 1] >= 0x80:
        return None
    n = data[pos + 1]
    if ncols is not None and n != ncols:
        return None
    fmt = [">xx"]
    checks = [(0, 0x02), (1, n)]
    cells: list[tuple[int, Callable[[Any], Any] | None]] = []
    p = pos + 2
    for col in range(n):
        if p >= len(data):
            return None
        tag = data[p]
        rel = p - pos
        checks.append((rel, tag))
        if tag in (axdr.DataTag.OCTET_STRING, axdr.DataTag.VISIBLE_STRING):
            if p + 1 >= len(data) or data[p + 1] >= 0x80:
                return None
            length = data[p + 1]
            checks.append((rel + 1, length))
            if tag == axdr.DataTag.OCTET_STRING and length == 12 and col in clocks:
                fmt.append("xx" + _CLOCK_FIELDS)
                cells.append((8, None))
            else:
                fmt.append(f"xx{length}s")
                cells.append((1, None if tag == axdr.DataTag.OCTET_STRING else _LATIN1))
            p += 2 + length
            continue
        if tag == axdr.DataTag.DATE_TIME and col in clocks:
            fmt.append("x" + _CLOCK_FIELDS)
            cells.append((8, None))
            p += 13
            continue
        simple = _SIMPLE.get(tag)
        if simple is None:
            return None
        code, builder = simple
        fmt.append("x" + code)
        cells.append((1, builder))
        p += 1 + struct.calcsize(">" + code)
    st = struct.Struct("".join(fmt))
    if st.size != p - pos:
        return None
    return _Layout(st, st.size, sum(used for used, _ in cells), tuple(checks), tuple(cells))


@functools.lru_cache(maxsize=8)
def _body_struct(row_format: str, count: int) -> struct.Struct:
    """One struct for ``count`` rows: a single C call unpacks the whole array."""
    return struct.Struct(">" + row_format[1:] * count)


_REPEATS: dict[tuple[int, int], bytes] = {}


def _column_fields(layout: _Layout, body: memoryview, count: int) -> list[Any]:
    """Per struct field, the values of all rows (C-level slicing, no per-row tuples)."""
    nf = layout.nfields
    if count <= _WHOLE_BODY_MAX:
        flat = _body_struct(layout.struct.format, count).unpack(body)
        return [flat[k::nf] for k in range(nf)]
    return list(zip(*layout.struct.iter_unpack(body), strict=True))


def _fast_rows(
    data: bytes, pos: int, count: int, ncols: int | None, clocks: frozenset[int], sign: DeviationSign
) -> list[Row] | None:
    layout = _compile(data, pos, ncols, clocks)
    if layout is None:
        return None
    size = layout.size
    if pos + count * size != len(data):
        return None
    raw = data[pos:]
    for rel, byte in layout.checks:
        want = _REPEATS.get((byte, count))
        if want is None:
            if len(_REPEATS) > 256:
                _REPEATS.clear()
            want = _REPEATS[(byte, count)] = bytes((byte,)) * count
        if raw[rel::size] != want:
            return None
    if not layout.cells:
        return [()] * count
    fields = _column_fields(layout, memoryview(data)[pos:], count)
    columns: list[Any] = []
    f = 0
    try:
        for used, builder in layout.cells:
            if used == 8:
                year, month, day, hour, minute, second, hundredths, deviation = fields[f : f + 8]
                micros = repeat(0) if hundredths.count(0) == count else map(_MICROS.__getitem__, hundredths)
                distinct = set(deviation)
                if len(distinct) == 1:
                    tzs: Any = repeat(_tzinfo(deviation[0], sign))
                else:
                    table = {d: _tzinfo(d, sign) for d in distinct}
                    tzs = map(table.__getitem__, deviation)
                columns.append(map(_dt.datetime, year, month, day, hour, minute, second, micros, tzs))
            else:
                col = fields[f]
                columns.append(map(builder, col) if builder is not None else col)
            f += used
        return list(zip(*columns, strict=True))
    except (ValueError, TypeError, OverflowError):
        return None  # a wildcard or impossible time somewhere: let the general path keep it


# -- general path ----------------------------------------------------------------------------------


def _decoded_rows(data: bytes, pos: int, count: int, ncols: int | None) -> list[Row]:
    rows: list[Row] = []
    append = rows.append
    for index in range(count):
        start = pos
        try:
            value, pos = axdr.decode_from(data, pos)
        except MalformedDataError:
            raise
        except MeterlinkError as exc:
            raise MalformedDataError(f"buffer entry {index}: {exc}", data=data, offset=start) from None
        if type(value) is not tuple:
            raise MalformedDataError(f"buffer entry {index} is not a structure", data=data, offset=start)
        if ncols is not None and len(value) != ncols:
            raise MalformedDataError(
                f"buffer entry {index} has {len(value)} cells for {ncols} capture objects",
                data=data,
                offset=start,
            )
        append(value)
    if pos != len(data):
        raise MalformedDataError("bytes left after the buffer array", data=data, offset=pos)
    return rows


# Typed A-XDR numbers become plain ones, as the fast path gives them (Bcd and delta types stay).
_PLAIN: Final[dict[type, type]] = {
    axdr.Integer: int,
    axdr.Long: int,
    axdr.DoubleLong: int,
    axdr.Long64: int,
    axdr.Unsigned: int,
    axdr.LongUnsigned: int,
    axdr.DoubleLongUnsigned: int,
    axdr.Long64Unsigned: int,
    axdr.Enum: int,
    axdr.Float32: float,
}


def _finish(
    rows: list[Row],
    clocks: frozenset[int],
    step: _dt.timedelta | None,
    fill_nulls: bool,
    sign: DeviationSign,
) -> list[Row]:
    """Plain values, clock conversion, null clock fill and optional compressed-value fill."""
    clock_list = sorted(clocks)
    plain = _PLAIN.get
    out: list[Row] = []
    prev: Row | None = None
    for row in rows:
        cells = [v if (t := plain(type(v))) is None else t(v) for v in row]
        for c in clock_list:
            if c >= len(cells):
                continue
            value = cells[c]
            if value is None:
                if step is not None and prev is not None and isinstance(prev[c], _dt.datetime):
                    cells[c] = prev[c] + step
            else:
                cells[c] = _clock_cell(value, sign)
        if fill_nulls and prev is not None:
            for k, value in enumerate(cells):
                if value is None and k not in clocks and k < len(prev):
                    cells[k] = prev[k]
        new = tuple(cells)
        out.append(new)
        prev = new
    return out


# -- entry point -----------------------------------------------------------------------------------


def _is_clock(obj: CaptureObject) -> bool:
    return obj.class_id == ClassId.CLOCK and obj.attribute == 2 and obj.data_index == 0


def parse_buffer(
    data: bytes | bytearray | memoryview,
    capture_objects: Sequence[CaptureObject] | None = None,
    *,
    capture_period: int = 0,
    sort_method: SortMethod | int = SortMethod.FIFO,
    scalers: Mapping[int, ScalerUnit] | None = None,
    fill_nulls: bool = False,
    deviation_sign: DeviationSign = "utc-minus-local",
    clock_columns: Sequence[int] | None = None,
    fast: bool = True,
) -> Profile:
    """Parse a buffer (attribute 2, A-XDR bytes).

    ``capture_objects`` are the columns as read from attribute 3 (or the selected ones when the
    buffer was read with selective access); with ``None`` no column count is enforced and clock
    columns are only those named in ``clock_columns``. ``capture_period`` is in seconds (0 =
    asynchronous capture: null clock cells stay ``None``). ``scalers`` maps column index to
    :class:`ScalerUnit`. ``fast=False`` forces the general decoder (for tests and comparisons).
    """
    raw = data if type(data) is bytes else _as_bytes(data)
    if isinstance(capture_period, bool) or not isinstance(capture_period, int) or capture_period < 0:
        raise LocalProtocolError(f"capture_period must be an int >= 0 (seconds), got {capture_period!r}")
    try:
        method = SortMethod(sort_method)
    except ValueError:
        raise LocalProtocolError(f"sort_method must be 1..6, got {sort_method!r}") from None
    if deviation_sign not in ("utc-minus-local", "local-minus-utc"):
        raise LocalProtocolError(
            f"deviation_sign must be 'utc-minus-local' or 'local-minus-utc', got {deviation_sign!r}"
        )
    objects = tuple(capture_objects) if capture_objects is not None else None
    if objects is not None and not all(isinstance(o, CaptureObject) for o in objects):
        raise LocalProtocolError("capture_objects must be CaptureObject instances")
    clocks = set(clock_columns or ())
    if objects is not None:
        clocks.update(i for i, o in enumerate(objects) if _is_clock(o))
    clock_set = frozenset(clocks)
    ncols = len(objects) if objects is not None else None
    scalers = dict(scalers or {})
    for key, su in scalers.items():
        if not isinstance(su, ScalerUnit):
            raise LocalProtocolError(f"scalers[{key!r}] must be a ScalerUnit, got {su!r}")
    width = ncols if ncols is not None else (max([*clocks, *scalers], default=-1) + 1)
    columns = tuple(
        Column(
            i,
            objects[i] if objects is not None else None,
            scalers.get(i),
            i in clock_set,
        )
        for i in range(width)
    )
    step = None
    if capture_period and method in (SortMethod.FIFO, SortMethod.LIFO):
        step = _dt.timedelta(seconds=capture_period if method == SortMethod.FIFO else -capture_period)

    if not raw:
        raise MalformedDataError("empty buffer", data=raw, offset=0)
    tag = raw[0]
    if tag == axdr.DataTag.NULL_DATA and len(raw) == 1:
        return Profile(columns, [])
    if tag == axdr.DataTag.COMPACT_ARRAY:
        value = axdr.decode(raw)
        assert isinstance(value, axdr.CompactArray)
        resolved = value.resolved()
        for index, row in enumerate(resolved):
            if type(row) is not tuple or (ncols is not None and len(row) != ncols):
                raise MalformedDataError(
                    f"compact-array buffer row {index} does not match the capture objects", data=raw, offset=0
                )
        rows: list[Row] = resolved  # type: ignore[assignment]  # checked above: all tuples
        return Profile(columns, _finish(rows, clock_set, step, fill_nulls, deviation_sign))
    if tag != axdr.DataTag.ARRAY:
        raise MalformedDataError("a buffer is an array or a compact-array", data=raw, offset=0)
    count, pos = decode_length(raw, 1)
    if fast and count:
        fast_rows = _fast_rows(raw, pos, count, ncols, clock_set, deviation_sign)
        if fast_rows is not None:
            return Profile(columns, fast_rows, fast=True)
    rows = _decoded_rows(raw, pos, count, ncols)
    return Profile(columns, _finish(rows, clock_set, step, fill_nulls, deviation_sign))


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise LocalProtocolError(f"a buffer must be bytes-like, got {type(data).__name__}")
