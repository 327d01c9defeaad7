"""Cross-checks of the A-XDR codec and COSEM date-time against gurux_dlms and dlms_cosem.

Bytes built by a peer are decoded by us and compared by meaning; bytes we build are decoded by the
peer where it supports the type. Where a peer is wrong, a test pins the peer's wrong behaviour and
our right one, so a fix upstream shows up here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from meterlink.dlms import axdr
from meterlink.dlms.axdr import (
    BitString,
    CompactArray,
    DataTag,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    TypeDescription,
    Unsigned,
    Utf8String,
)
from meterlink.dlms.cosem_time import ClockStatus, CosemDateTime
from meterlink.errors import MalformedDataError

gurux_dlms = pytest.importorskip("gurux_dlms")
dlms_data = pytest.importorskip("dlms_cosem.dlms_data")
dlms_time = pytest.importorskip("dlms_cosem.time")

from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSSettings  # noqa: E402
from gurux_dlms.enums import DataType  # noqa: E402
from gurux_dlms.internal._GXCommon import _GXCommon  # noqa: E402
from gurux_dlms.internal._GXDataInfo import _GXDataInfo  # noqa: E402

H = bytes.fromhex
CET = dt.timezone(dt.timedelta(hours=1))


def gx_encode(data_type: Any, value: Any) -> bytes:
    buff = GXByteBuffer()
    _GXCommon.setData(GXDLMSSettings(True, None), buff, data_type, value)
    return bytes(buff.array())


def gx_decode(raw: bytes) -> Any:
    buff = GXByteBuffer(bytearray(raw))
    info = _GXDataInfo()
    value = _GXCommon.getData(GXDLMSSettings(True, None), buff, info)
    assert info.complete
    return value


# -- gurux: their bytes -> our values, our bytes -> their values ---------------------------------------
GURUX_CASES: list[tuple[Any, Any, Any]] = [
    # (gurux DataType, plain value for gurux, our typed value)
    (DataType.INT8, -5, Integer(-5)),
    (DataType.INT16, -300, Long(-300)),
    (DataType.INT32, -70000, DoubleLong(-70000)),
    (DataType.INT64, -(2**40), Long64(-(2**40))),
    (DataType.UINT8, 200, Unsigned(200)),
    (DataType.UINT16, 60000, LongUnsigned(60000)),
    (DataType.UINT32, 4_000_000_000, DoubleLongUnsigned(4_000_000_000)),
    (DataType.UINT64, 2**63, Long64Unsigned(2**63)),
    (DataType.ENUM, 27, Enum(27)),
    (DataType.BOOLEAN, True, True),
    (DataType.FLOAT64, 1.25, 1.25),
    (DataType.FLOAT32, 1.5, Float32(1.5)),
    (DataType.STRING, "ABC", "ABC"),
    (DataType.OCTET_STRING, b"\x01\x00\x01\x08\x00\xff", b"\x01\x00\x01\x08\x00\xff"),
    (DataType.OCTET_STRING, bytes(200), bytes(200)),
    (DataType.OCTET_STRING, bytes(300), bytes(300)),
    (DataType.NONE, None, None),
]


@pytest.mark.parametrize(
    ("gx_type", "plain", "ours"), GURUX_CASES, ids=[str(c[0]) + str(i) for i, c in enumerate(GURUX_CASES)]
)
def test_gurux_bytes_decode_to_our_values(gx_type: Any, plain: Any, ours: Any) -> None:
    raw = gx_encode(gx_type, plain)
    assert raw == axdr.encode(ours)
    value = axdr.decode(raw)
    assert value == ours
    assert type(value) is type(ours)


@pytest.mark.parametrize(
    ("gx_type", "plain", "ours"), GURUX_CASES, ids=[str(c[0]) + str(i) for i, c in enumerate(GURUX_CASES)]
)
def test_our_bytes_decode_in_gurux(gx_type: Any, plain: Any, ours: Any) -> None:
    theirs = gx_decode(axdr.encode(ours))
    if isinstance(plain, bytes):
        theirs = bytes(theirs)
    assert theirs == plain


def test_gurux_bit_string_counts_bits_like_us() -> None:
    raw = gx_encode(DataType.BITSTRING, "01011001101")
    assert raw == H("040b 59a0")
    assert axdr.decode(raw) == BitString.from_str("01011001101")
    assert str(gx_decode(axdr.encode(BitString.from_str("01011001101")))) == "01011001101"


def test_gurux_structures_and_arrays() -> None:
    ours = (LongUnsigned(1), [Unsigned(2), Unsigned(3)], "x", b"")
    value = gx_decode(axdr.encode(ours))
    assert value == [1, [2, 3], "x", bytearray()]


def test_gurux_date_time_deviation_sign_agrees() -> None:
    raw = H("07e8031f07 0e1e00ff ffc4 80")
    theirs = gx_decode(b"\x19" + raw)
    ours = CosemDateTime.from_bytes(raw)
    assert theirs.value == ours.to_datetime()
    assert theirs.value.utcoffset() == dt.timedelta(hours=1)
    assert theirs.status == 0x80
    assert ours.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    # gurux encodes an aware datetime with the same (UTC - local) sign
    encoded = gx_encode(DataType.DATETIME, GXDateTime(dt.datetime(2024, 3, 31, 14, 30, tzinfo=CET)))
    decoded = axdr.decode(encoded)
    assert isinstance(decoded, CosemDateTime)
    assert decoded.deviation == -60
    assert decoded.to_datetime() == dt.datetime(2024, 3, 31, 14, 30, tzinfo=CET)


def test_gurux_decodes_our_compact_array() -> None:
    td = TypeDescription.structure(
        TypeDescription.simple(DataTag.LONG_UNSIGNED), TypeDescription.simple(DataTag.VISIBLE_STRING)
    )
    ca = CompactArray(td, [(LongUnsigned(1), "ab"), (LongUnsigned(2), "")])
    assert gx_decode(axdr.encode(ca)) == [[1, "ab"], [2, ""]]
    simple = CompactArray(TypeDescription.simple(DataTag.LONG_UNSIGNED), [LongUnsigned(1), LongUnsigned(2)])
    assert gx_decode(axdr.encode(simple)) == [1, 2]


def test_gurux_loses_non_ascii_utf8_text() -> None:
    """Peer bug: gurux turns any non-ASCII string into hex text; we keep the text."""
    raw = axdr.encode(Utf8String("€"))
    assert raw == H("0c03 e282ac")
    assert gx_encode(DataType.STRING_UTF8, "€") == raw
    assert gx_decode(raw) == "E2 82 AC"  # gurux: hex, not the euro sign
    assert axdr.decode(raw) == "€"


def test_gurux_strips_trailing_nuls() -> None:
    """Peer bug: gurux drops trailing NULs of a visible-string; we keep the exact bytes."""
    raw = H("0a03 4100 00")
    assert gx_decode(raw) == "A"
    assert axdr.decode(raw) == "A\x00\x00"
    assert axdr.encode(axdr.decode(raw)) == raw


# -- dlms_cosem: their bytes -> our values, our bytes -> their values ----------------------------------
DLMS_COSEM_CASES: list[tuple[Any, Any]] = [
    (dlms_data.DoubleLongData(-5), DoubleLong(-5)),
    (dlms_data.DoubleLongUnsignedData(5), DoubleLongUnsigned(5)),
    (dlms_data.OctetStringData(b"\x01\x02"), b"\x01\x02"),
    (dlms_data.VisibleStringData("AB"), "AB"),
    (dlms_data.IntegerData(-3), Integer(-3)),
    (dlms_data.LongData(-300), Long(-300)),
    (dlms_data.UnsignedIntegerData(7), Unsigned(7)),
    (dlms_data.UnsignedLongData(700), LongUnsigned(700)),
    (dlms_data.Long64Data(-(2**40)), Long64(-(2**40))),
    (dlms_data.UnsignedLong64Data(2**40), Long64Unsigned(2**40)),
    (dlms_data.EnumData(3), Enum(3)),
]


@pytest.mark.parametrize(
    ("theirs", "ours"), DLMS_COSEM_CASES, ids=[type(t).__name__ for t, _ in DLMS_COSEM_CASES]
)
def test_dlms_cosem_bytes_decode_to_our_values(theirs: Any, ours: Any) -> None:
    raw = theirs.to_bytes()
    assert raw == axdr.encode(ours)
    value = axdr.decode(raw)
    assert value == ours
    assert type(value) is type(ours)
    parsed = dlms_data.DlmsDataParser().parse(axdr.encode(ours))
    assert [p.to_python() for p in parsed] == [theirs.to_python()]


def test_dlms_cosem_reads_our_profile_rows() -> None:
    row = (b"\x07\xe8\x01\x01\x01\x00\x00\x00\xff\xff\xc4\x00", Unsigned(0), DoubleLongUnsigned(123))
    raw = axdr.encode([row, row])
    parsed = dlms_data.DlmsDataParser().parse(raw)
    values = parsed[0].to_python()
    assert values == [[row[0], 0, 123], [row[0], 0, 123]]


def test_dlms_cosem_date_time_sign_agrees_except_at_utc() -> None:
    raw = H("07e8031f07 0e1e00ff ffc4 00")
    theirs, status = dlms_time.datetime_from_bytes(raw)
    assert theirs == CosemDateTime.from_bytes(raw).to_datetime()
    assert theirs.utcoffset() == dt.timedelta(hours=1)
    assert not status.daylight_saving_active
    # Peer bug: a deviation of 0 (UTC) comes back naive in dlms_cosem; ours is aware UTC.
    utc = H("07e8031f07 0e1e00ff 0000 00")
    theirs_utc, _ = dlms_time.datetime_from_bytes(utc)
    assert theirs_utc.tzinfo is None
    assert CosemDateTime.from_bytes(utc).to_datetime().tzinfo is dt.UTC
    # their encoder writes the same bytes as ours for an aware datetime (status 00, day of week FF)
    aware = dt.datetime(2024, 3, 31, 14, 30, tzinfo=CET)
    assert dlms_time.datetime_to_bytes(aware) == H("07e8031fff 0e1e0000 ffc4 00")
    ours = CosemDateTime.from_datetime(aware, clock_status=0)
    assert ours.to_bytes() == H("07e8031f07 0e1e0000 ffc4 00")  # we fill in the day of week
    assert CosemDateTime.from_bytes(dlms_time.datetime_to_bytes(aware)).to_datetime() == aware


def test_dlms_cosem_bit_string_length_is_wrong() -> None:
    """Peer bug: dlms_cosem writes the bit-string length in bytes, A-XDR counts bits."""
    theirs = dlms_data.BitStringData(b"\x59\xa0").to_bytes()
    assert theirs == H("0402 59a0")  # says 2 bits, carries 2 bytes
    with pytest.raises(MalformedDataError):
        axdr.decode(theirs)  # the second byte is trailing garbage for 2 bits
    assert axdr.encode(BitString(16, b"\x59\xa0")) == H("0410 59a0")


def test_dlms_cosem_long_lengths_are_wrong() -> None:
    """Peer bug: dlms_cosem writes every length as one byte, so 128..255 reads as a long-form prefix
    and 256+ cannot be encoded at all; we use 81 xx / 82 xx xx."""
    theirs = dlms_data.OctetStringData(bytes(200)).to_bytes()
    assert theirs[:2] == H("09c8")
    with pytest.raises(MalformedDataError):
        axdr.decode(theirs)
    assert axdr.encode(bytes(200))[:3] == H("0981c8")
    with pytest.raises(ValueError):
        dlms_data.OctetStringData(bytes(300)).to_bytes()
    assert axdr.encode(bytes(300))[:4] == H("0982012c")
    # their parser reads long-form lengths correctly
    parsed = dlms_data.DlmsDataParser().parse(axdr.encode(bytes(300)))
    assert parsed[0].to_python() == bytes(300)


def test_dlms_cosem_cannot_decode_floats_or_compact_arrays() -> None:
    """Peer gaps: no float32/float64 or compact-array decoding in dlms_cosem 25.1.0, and no
    encoding of null-data or boolean."""
    for value_class, value in ((dlms_data.NullData, None), (dlms_data.BooleanData, True)):
        with pytest.raises(NotImplementedError):
            value_class(value).to_bytes()
    parsed = dlms_data.DlmsDataParser().parse(axdr.encode((None, True)))
    assert parsed[0].to_python() == [None, True]
    gaps: tuple[Any, ...] = (
        Float32(1.5),
        1.5,
        CompactArray(TypeDescription.simple(DataTag.UNSIGNED), [Unsigned(1)]),
    )
    for value in gaps:
        raw = axdr.encode(value)
        with pytest.raises(Exception):  # noqa: B017 - any failure shows the gap
            dlms_data.DlmsDataParser().parse(raw)
        assert axdr.encode(axdr.decode(raw)) == raw
