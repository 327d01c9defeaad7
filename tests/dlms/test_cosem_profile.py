"""Profile generic buffers: fast path == general path, null handling, compact-array, peers."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

import pytest
from dlms_cosem import enumerations as dc_enum
from dlms_cosem.cosem import CosemAttribute as DcAttribute
from dlms_cosem.cosem import Obis as DcObis
from dlms_cosem.parsers import ProfileGenericBufferParser
from gurux_dlms import GXByteBuffer, GXDLMSClient
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister
from gurux_dlms.objects.GXDLMSCaptureObject import GXDLMSCaptureObject
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import (
    CaptureObject,
    ClassId,
    Profile,
    Quantity,
    ScalerUnit,
    SortMethod,
    Unit,
    encode_capture_objects,
    parse_buffer,
    parse_capture_objects,
)
from meterlink.dlms.cosem_time import ClockStatus, CosemDateTime
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))
CLOCK = CaptureObject(ClassId.CLOCK, Obis.parse("0.0.1.0.0.255"), 2)
STATUS = CaptureObject(ClassId.DATA, Obis.parse("0.0.96.10.1.255"), 2)
REGS = [CaptureObject(ClassId.REGISTER, Obis.parse(f"1.0.{c}.8.0.255"), 2) for c in (1, 2, 3, 4)]
COLUMNS = [CLOCK, STATUS, *REGS]
T0 = dt.datetime(2024, 3, 30, 12, 0, tzinfo=CET)


def _stamp(t: dt.datetime | None) -> bytes:
    if t is None:
        return b"\x00"
    return b"\x09\x0c" + CosemDateTime.from_datetime(t, clock_status=0).to_bytes()


Cells = tuple[dt.datetime | None, int | None, Sequence[int | None]]


def _buffer(rows: Sequence[Cells]) -> bytes:
    out = bytearray(
        b"\x01" + (b"\x82" + len(rows).to_bytes(2, "big") if len(rows) > 127 else bytes((len(rows),)))
    )
    for t, status, values in rows:
        out += b"\x02" + bytes((2 + len(values),)) + _stamp(t)
        out += b"\x00" if status is None else b"\x11" + bytes((status,))
        for v in values:
            out += b"\x00" if v is None else b"\x06" + v.to_bytes(4, "big")
    return bytes(out)


def _regular(n: int, start: dt.datetime = T0, step: int = 900) -> bytes:
    return _buffer(
        [(start + dt.timedelta(seconds=step * i), i % 3, [i, 2 * i, 3 * i, 4 * i]) for i in range(n)]
    )


def _both(data: bytes, columns: list[CaptureObject] | None = COLUMNS, **kw: object) -> Profile:
    fast = parse_buffer(data, columns, **kw)  # type: ignore[arg-type]
    slow = parse_buffer(data, columns, fast=False, **kw)  # type: ignore[arg-type]
    assert not slow.fast
    assert fast.rows == slow.rows
    assert [[type(c) for c in r] for r in fast.rows] == [[type(c) for c in r] for r in slow.rows]
    return fast


def test_fast_path_equals_general_path() -> None:
    data = _regular(1000)
    profile = _both(data, capture_period=900)
    assert profile.fast
    assert len(profile) == 1000
    assert profile.rows[0] == (T0, 0, 0, 0, 0, 0)
    assert profile.rows[999][0] == T0 + dt.timedelta(minutes=15 * 999)
    assert profile.rows[999][0].utcoffset() == dt.timedelta(hours=1)
    assert profile.columns[0].is_clock and not profile.columns[1].is_clock


def test_fast_path_across_a_dst_change_and_cell_types() -> None:
    # 2024-03-31 02:00 CET -> 03:00 CEST: the deviation changes mid-buffer.
    start = dt.datetime(2024, 3, 31, 1, 0, tzinfo=CET)
    times = [start + dt.timedelta(minutes=30 * i) for i in range(6)]
    rows = [
        (t.astimezone(CEST) if t >= dt.datetime(2024, 3, 31, 1, tzinfo=dt.UTC) else t, 1, [5]) for t in times
    ]
    profile = _both(_buffer(rows), [CLOCK, STATUS, REGS[0]])
    assert profile.fast
    assert [r[0] for r in profile.rows] == times
    assert {r[0].utcoffset() for r in profile.rows} == {dt.timedelta(hours=1), dt.timedelta(hours=2)}
    # Every fixed-size simple type, a visible string, a float32 and a date-time tag clock.
    row = axdr.encode(
        (
            CosemDateTime.from_datetime(T0, clock_status=0),
            True,
            axdr.Integer(-1),
            axdr.Long(-2),
            axdr.DoubleLong(-3),
            axdr.Long64(-4),
            axdr.LongUnsigned(5),
            axdr.Long64Unsigned(6),
            axdr.Enum(7),
            axdr.Float32(1.5),
            2.25,
            "AB",
            b"\x01\x02",
        )
    )
    data = b"\x01\x02" + row + row
    profile = _both(data, None, clock_columns=[0])
    assert profile.fast
    assert profile.rows[0] == (T0, True, -1, -2, -3, -4, 5, 6, 7, 1.5, 2.25, "AB", b"\x01\x02")


def test_null_clock_filled_forward_for_fifo_in_seconds() -> None:
    rows = [(T0, 0, [1, 2, 3, 4]), (None, 0, [1, 2, 3, 4]), (None, 0, [1, 2, 3, 4])]
    profile = _both(_buffer(rows), capture_period=900)
    assert not profile.fast  # null cells: general path
    assert [r[0] for r in profile.rows] == [T0, T0 + dt.timedelta(minutes=15), T0 + dt.timedelta(minutes=30)]


def test_null_clock_filled_backward_for_lifo() -> None:
    rows = [(T0, 0, [1, 2, 3, 4]), (None, 0, [1, 2, 3, 4])]
    profile = parse_buffer(_buffer(rows), COLUMNS, capture_period=900, sort_method=SortMethod.LIFO)
    assert profile.rows[1][0] == T0 - dt.timedelta(minutes=15)


def test_null_clock_not_filled_without_reference() -> None:
    rows = [(None, 0, [1, 2, 3, 4]), (T0, 0, [1, 2, 3, 4]), (None, 0, [1, 2, 3, 4])]
    assert parse_buffer(_buffer(rows), COLUMNS, capture_period=900).rows[0][0] is None
    # asynchronous capture (period 0) and value-sorted buffers: nothing to add
    assert parse_buffer(_buffer(rows), COLUMNS, capture_period=0).rows[2][0] is None
    assert parse_buffer(_buffer(rows), COLUMNS, capture_period=900, sort_method=3).rows[2][0] is None


def test_null_values_stay_in_their_column() -> None:
    rows: list[Cells] = [
        (T0, 1, [10, 20, 30, 40]),
        (T0 + dt.timedelta(minutes=15), None, [11, None, 31, None]),
    ]
    profile = parse_buffer(_buffer(rows), COLUMNS, capture_period=900)
    assert profile.rows[1] == (T0 + dt.timedelta(minutes=15), None, 11, None, 31, None)
    compressed = parse_buffer(_buffer(rows), COLUMNS, capture_period=900, fill_nulls=True)
    assert compressed.rows[1] == (T0 + dt.timedelta(minutes=15), 1, 11, 20, 31, 40)


def test_dlms_cosem_treats_capture_period_as_minutes_and_drops_null_columns() -> None:
    """Two peer bugs the reference notes name; our results for the same bytes are above."""
    rows: list[Cells] = [(T0, 1, [10, 20, 30, 40]), (None, None, [11, None, 31, 41])]
    attrs = [DcAttribute(dc_enum.CosemInterface.CLOCK, DcObis(0, 0, 1, 0, 0, 255), 2)] + [
        DcAttribute(dc_enum.CosemInterface.REGISTER, DcObis(1, 0, 1, 8, 0, 255), 2) for _ in range(5)
    ]
    theirs = ProfileGenericBufferParser(capture_objects=attrs, capture_period=900).parse_bytes(_buffer(rows))
    assert theirs[1][0].value - theirs[0][0].value == dt.timedelta(minutes=900)  # 15 hours, not 15 minutes
    assert len(theirs[1]) < 6  # null cells vanished: the columns shifted
    ours = parse_buffer(_buffer(rows), COLUMNS, capture_period=900)
    assert ours.rows[1] == (T0 + dt.timedelta(minutes=15), None, 11, None, 31, 41)


def _gurux_buffer(data: bytes, period: int, sort: int) -> list[list[object]]:
    client = GXDLMSClient(True)
    pg = GXDLMSProfileGeneric("1.0.99.1.0.255")
    pg.capturePeriod = period
    pg.sortMethod = sort
    pg.captureObjects.append((GXDLMSClock("0.0.1.0.0.255"), GXDLMSCaptureObject(2, 0)))
    pg.captureObjects.append((GXDLMSData("0.0.96.10.1.255"), GXDLMSCaptureObject(2, 0)))
    for c in (1, 2, 3, 4):
        pg.captureObjects.append((GXDLMSRegister(f"1.0.{c}.8.0.255"), GXDLMSCaptureObject(2, 0)))
    value = _GXCommon.getData(client.settings, GXByteBuffer(data), _GXDataInfo())
    client.updateValue(pg, 2, value)
    return pg.buffer  # type: ignore[no-any-return]


def test_gurux_agrees_on_fifo_fill_and_values() -> None:
    rows = [(T0, 1, [10, 20, 30, 40]), (None, 2, [11, 21, 31, 41]), (None, 3, [12, 22, 32, 42])]
    data = _buffer(rows)
    theirs = _gurux_buffer(data, 900, 1)
    ours = parse_buffer(data, COLUMNS, capture_period=900).rows
    assert [r[0].value for r in theirs] == [r[0] for r in ours]  # type: ignore[attr-defined]
    assert [list(r[1:]) for r in theirs] == [list(r[1:]) for r in ours]


def test_gurux_fills_forward_for_smallest_we_do_not() -> None:
    rows = [(T0, 1, [10, 20, 30, 40]), (None, 2, [11, 21, 31, 41])]
    theirs = _gurux_buffer(_buffer(rows), 900, int(SortMethod.SMALLEST))
    assert theirs[1][0].value == T0 + dt.timedelta(minutes=15)  # type: ignore[attr-defined]
    assert (
        parse_buffer(_buffer(rows), COLUMNS, capture_period=900, sort_method=SortMethod.SMALLEST).rows[1][0]
        is None
    )


def _row(c: CosemDateTime) -> bytes:
    return axdr.encode((c.to_bytes(), axdr.Unsigned(1)))


def test_wildcard_timestamps_stay_cosem_date_times() -> None:
    good = CosemDateTime.from_datetime(T0, clock_status=0)
    wild = CosemDateTime(None, 3, 30, None, 12, 0, 0, 0, -60, ClockStatus(0))
    data = b"\x01\x02" + _row(good) + _row(wild)
    profile = _both(data, [CLOCK, STATUS])
    assert not profile.fast  # the datetime constructor refused year 0xFFFF: fallback
    assert profile.rows == [(T0, 1), (wild, 1)]


def test_compact_array_buffer() -> None:
    td = axdr.TypeDescription.structure(
        axdr.TypeDescription.simple(axdr.DataTag.OCTET_STRING),
        axdr.TypeDescription.simple(axdr.DataTag.DELTA_DOUBLE_LONG_UNSIGNED),
        axdr.TypeDescription.simple(axdr.DataTag.LONG_UNSIGNED),
    )
    stamp = CosemDateTime.from_datetime(T0, clock_status=0).to_bytes()
    compact = axdr.CompactArray(
        td,
        [
            (stamp, axdr.DeltaDoubleLongUnsigned(1000), axdr.LongUnsigned(7)),
            (b"", axdr.DeltaDoubleLongUnsigned(5), axdr.LongUnsigned(8)),
            (b"", axdr.DeltaDoubleLongUnsigned(6), axdr.LongUnsigned(9)),
        ],
    )
    data = axdr.encode(compact)
    assert data[0] == 0x13
    profile = parse_buffer(data, [CLOCK, REGS[0], STATUS], capture_period=900)
    assert [r[1] for r in profile.rows] == [1000, 1005, 1011]
    assert [r[2] for r in profile.rows] == [7, 8, 9]
    assert profile.rows[0][0] == T0
    assert profile.rows[1][0] == b""  # empty octet string is not null: kept as sent


def test_scalers_are_applied_lazily() -> None:
    su = ScalerUnit(-3, Unit.WATT_HOUR)
    profile = parse_buffer(_regular(3), COLUMNS, capture_period=900, scalers={2: su})
    assert profile.rows[1][2] == 1  # rows stay raw
    assert profile.columns[2].scaler_unit == su
    assert profile.quantities(2) == [Quantity(0, -3, 30), Quantity(1, -3, 30), Quantity(2, -3, 30)]
    assert str(profile.scaled_rows()[2][2]) == "0.002 Wh"
    assert profile.quantities(3) == [0, 2, 4]
    assert profile.column(0)[0] == T0


def test_capture_objects_round_trip() -> None:
    data = encode_capture_objects(COLUMNS)
    assert data[:2] == b"\x01\x06"
    assert parse_capture_objects(data) == COLUMNS
    assert axdr.encode([c.to_value() for c in COLUMNS]) == data
    with pytest.raises(MalformedDataError):
        parse_capture_objects(data + b"\x00")
    with pytest.raises(MalformedDataError):
        parse_capture_objects(bytes.fromhex("0101 0204 120008 09050000010000 0f02 120000"))
    three = parse_capture_objects(bytes.fromhex("0101 0203 120008 09060000010000ff 0f02"))
    assert three == [CLOCK]  # a value definition without data_index reads as data_index 0


def test_empty_and_null_buffers() -> None:
    assert parse_buffer(b"\x01\x00", COLUMNS).rows == []
    assert parse_buffer(b"\x00", COLUMNS).rows == []


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", 0),
        (b"\x02\x00", 0),
        (b"\x01\x01\x02\x01\x11\x00", 2),  # one cell for six capture objects
        (b"\x01\x01\x11\x00", 2),  # entry is not a structure
        (b"\x01\x02\x02\x00", 2),  # an empty structure for six capture objects
        (b"\x01\x02" + _regular(1)[2:], 40),  # second entry missing
        (b"\x01\x00\x00", 2),  # trailing byte
    ],
)
def test_malformed_buffers(data: bytes, offset: int) -> None:
    with pytest.raises(MalformedDataError) as err:
        parse_buffer(data, COLUMNS)
    assert err.value.data == data
    assert err.value.offset == offset


def test_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        parse_buffer(b"\x01\x00", COLUMNS, capture_period=-1)
    with pytest.raises(LocalProtocolError):
        parse_buffer(b"\x01\x00", COLUMNS, sort_method=9)
    with pytest.raises(LocalProtocolError):
        parse_buffer(b"\x01\x00", [1, 2])  # type: ignore[list-item]
    with pytest.raises(LocalProtocolError):
        parse_buffer(b"\x01\x00", COLUMNS, scalers={1: (0, 30)})  # type: ignore[dict-item]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_parse_buffer(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_buffer(b"\x01" + data, None, clock_columns=[0], capture_period=60)


_VALID = _regular(4)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_VALID) - 1), st.integers(0, 255), st.booleans())
def test_fuzz_mutated_buffer_paths_agree(position: int, byte: int, cut: bool) -> None:
    data = bytearray(_VALID)
    data[position] = byte
    if cut:
        del data[position + 1 :]
    results = []
    for fast in (True, False):
        try:
            results.append(parse_buffer(bytes(data), COLUMNS, capture_period=900, fast=fast).rows)
        except MeterlinkError as exc:
            results.append(type(exc))  # type: ignore[arg-type]
    assert results[0] == results[1]
