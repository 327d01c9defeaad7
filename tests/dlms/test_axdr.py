"""A-XDR Data codec: every tag both ways with exact bytes, lengths, errors with offsets, compact-array."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.axdr import (
    DONT_CARE,
    MAX_DEPTH,
    Bcd,
    BitString,
    CompactArray,
    DataTag,
    DataValueError,
    DeltaDoubleLong,
    DeltaDoubleLongUnsigned,
    DeltaInteger,
    DeltaLong,
    DeltaLongUnsigned,
    DeltaUnsigned,
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
    decode,
    decode_from,
    encode,
    encode_into,
    skip,
)
from meterlink.dlms.cosem_time import ClockStatus, CosemDate, CosemDateTime, CosemTime
from meterlink.errors import LocalProtocolError, MalformedDataError

H = bytes.fromhex
TD = TypeDescription

# (value, exact bytes) for every tag; decode must give the same type and value, encode the same bytes.
VECTORS: list[tuple[Any, str]] = [
    (None, "00"),
    ([], "0100"),
    ([None, True], "0102 00 0301"),
    ((), "0200"),
    ((Unsigned(5), b"\x01"), "0202 1105 090101"),
    (True, "0301"),
    (False, "0300"),
    (BitString.from_str("01011001101"), "040b 59a0"),
    (BitString(0, b""), "0400"),
    (DoubleLong(-1), "05ffffffff"),
    (DoubleLong(-0x80000000), "0580000000"),
    (DoubleLongUnsigned(0x12345678), "0612345678"),
    (b"", "0900"),
    (H("0100010800ff"), "0906 0100010800ff"),
    ("", "0a00"),
    ("ABC", "0a03 414243"),
    ("\xe9", "0a01 e9"),  # visible-string bytes map 1:1 (latin-1)
    (Utf8String("€"), "0c03 e282ac"),
    (Utf8String(""), "0c00"),
    (Bcd(0x42), "0d42"),
    (Integer(-128), "0f80"),
    (Integer(127), "0f7f"),
    (Long(-2), "10fffe"),
    (Unsigned(255), "11ff"),
    (LongUnsigned(0xABCD), "12abcd"),
    (Long64(-2), "14fffffffffffffffe"),
    (Long64Unsigned(2**64 - 1), "15ffffffffffffffff"),
    (Enum(27), "161b"),
    (Float32(1.5), "173fc00000"),
    (Float32(-0.0), "1780000000"),
    (1.5, "183ff8000000000000"),
    (CosemDateTime(2024, 3, 31, 7, 14, 30, 0, None, -60, ClockStatus(0)), "19 07e8031f07 0e1e00ff ffc4 00"),
    (CosemDateTime(), "19 ffffffffff ffffffff 8000 ff"),
    (CosemDate(2024, 0xFE, 0xFD, None), "1a 07e8fefdff"),
    (CosemTime(23, 59, None, None), "1b 173bffff"),
    (DeltaInteger(-1), "1cff"),
    (DeltaLong(-300), "1dfed4"),
    (DeltaDoubleLong(-70000), "1efffeee90"),
    (DeltaUnsigned(200), "1fc8"),
    (DeltaLongUnsigned(60000), "20ea60"),
    (DeltaDoubleLongUnsigned(4_000_000_000), "21ee6b2800"),
    (DONT_CARE, "ff"),
    (
        CompactArray(TD.simple(DataTag.LONG_UNSIGNED), [LongUnsigned(1), LongUnsigned(2)]),
        "13 12 04 0001 0002",
    ),
    (CompactArray(TD.simple(DataTag.UNSIGNED)), "13 11 00"),
]


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, recursively (``Unsigned(1) == LongUnsigned(1)`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        if isinstance(a, CompactArray) and a.type_description != b.type_description:
            return False
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@pytest.mark.parametrize(("value", "wire"), VECTORS, ids=[w[:12] for _, w in VECTORS])
def test_every_tag_both_ways(value: Any, wire: str) -> None:
    raw = H(wire)
    assert encode(value) == raw
    decoded = decode(raw)
    assert same(decoded, value), (decoded, value)
    assert skip(raw, 0) == len(raw)
    assert skip(memoryview(raw)) == len(raw)
    assert decode_from(memoryview(b"\xaa" + raw), 1) == (decoded, len(raw) + 1)


def test_every_tag_is_covered() -> None:
    tags = {H(w)[0] for _, w in VECTORS}
    assert tags == {int(t) for t in DataTag}


def test_decoded_types() -> None:
    value = decode(H("0204 0c01 41 0a01 41 1700000000 1800000000 00000000"))
    assert isinstance(value, tuple)
    assert [type(v) for v in value] == [Utf8String, str, Float32, float]


@pytest.mark.parametrize(
    ("length", "prefix"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "8180"),
        (255, "81ff"),
        (256, "820100"),
        (300, "82012c"),
        (70000, "83011170"),
    ],
)
def test_long_lengths(length: int, prefix: str) -> None:
    body = bytes(range(256)) * (length // 256 + 1)
    body = body[:length]
    for value, tag in ((body, "09"), (body.decode("latin-1"), "0a"), (Utf8String("a" * length), "0c")):
        raw = encode(value)
        payload = body if tag != "0c" else b"a" * length
        assert raw == H(tag + prefix) + payload
        assert decode(raw) == value
    items = [Unsigned(i % 256) for i in range(length)]
    raw = encode(items)
    assert raw[: 1 + len(H(prefix))] == H("01" + prefix)
    assert decode(raw) == items
    assert encode(tuple(items))[0] == 2


def test_bit_string_length_counts_bits() -> None:
    bits = BitString.from_str("1" * 1000)
    raw = encode(bits)
    assert raw[:4] == H("04 8203e8")
    assert len(raw) == 4 + 125
    assert decode(raw) == bits
    eleven = decode(H("040b ffe0"))
    assert isinstance(eleven, BitString)
    assert str(eleven) == "11111111111"
    assert len(eleven) == 11
    assert list(BitString.from_str("101")) == [True, False, True]
    assert BitString.from_bools([True, False, True]) == BitString.from_str("101")
    # unused trailing bits stay as sent
    odd = decode(H("0403 ff"))
    assert str(odd) == "111"
    assert encode(odd) == H("0403 ff")
    with pytest.raises(DataValueError):
        BitString(9, b"\x00")
    with pytest.raises(DataValueError):
        BitString.from_str("012")


@pytest.mark.parametrize(
    "wire",
    [
        "18 7ff8000000000001",  # quiet NaN with payload
        "18 7ff0000000000001",  # signalling NaN
        "18 fff0000000000000",  # -inf
        "18 7ff0000000000000",  # +inf
        "17 7f800001",  # signalling NaN: C's float->double conversion would make it 7fc00001
        "17 ffc00000",
        "17 7f800000",
        "17 ff800000",
        "17 00000001",  # smallest subnormal
    ],
)
def test_special_floats_round_trip_byte_exact(wire: str) -> None:
    raw = H(wire)
    assert encode(decode(raw)) == raw


def test_float32_values() -> None:
    assert Float32(0.1) == struct.unpack(">f", struct.pack(">f", 0.1))[0]
    assert encode(Float32(0.1)) == b"\x17" + struct.pack(">f", 0.1)
    assert math.isinf(Float32(math.inf))
    with pytest.raises(DataValueError):
        Float32(1e300)
    nan = Float32.from_bytes(H("7f800001"))
    assert math.isnan(nan)
    assert nan.to_bytes() == H("7f800001")
    assert repr(Float32(1.5)) == "Float32(1.5)"


def test_boolean_accepts_any_true_byte() -> None:
    assert decode(H("0305")) is True
    assert encode(decode(H("0305"))) == H("0301")  # normalised; 00/01 are the canonical bytes


INT_TYPES = [
    (Integer, -128, 127),
    (Long, -32768, 32767),
    (DoubleLong, -(2**31), 2**31 - 1),
    (Long64, -(2**63), 2**63 - 1),
    (Unsigned, 0, 255),
    (LongUnsigned, 0, 65535),
    (DoubleLongUnsigned, 0, 2**32 - 1),
    (Long64Unsigned, 0, 2**64 - 1),
    (Enum, 0, 255),
    (Bcd, 0, 255),
    (DeltaInteger, -128, 127),
    (DeltaLong, -32768, 32767),
    (DeltaDoubleLong, -(2**31), 2**31 - 1),
    (DeltaUnsigned, 0, 255),
    (DeltaLongUnsigned, 0, 65535),
    (DeltaDoubleLongUnsigned, 0, 2**32 - 1),
]


@pytest.mark.parametrize(("cls", "low", "high"), INT_TYPES, ids=[c.__name__ for c, _, _ in INT_TYPES])
def test_int_ranges(cls: type[axdr.TypedInt], low: int, high: int) -> None:
    assert (cls.min_value, cls.max_value) == (low, high)
    for good in (low, high):
        value = cls(good)
        assert decode(encode(value)) == good
        assert type(decode(encode(value))) is cls
    for bad in (low - 1, high + 1):
        with pytest.raises(DataValueError) as info:
            cls(bad)
        assert isinstance(info.value, LocalProtocolError)
        assert isinstance(info.value, ValueError)
    with pytest.raises(DataValueError):
        cls(1.5)  # type: ignore[arg-type]


def test_typed_int_behaviour() -> None:
    assert repr(DoubleLongUnsigned(5)) == "DoubleLongUnsigned(5)"
    assert str(Long(-3)) == "-3"
    assert DoubleLongUnsigned(5) + 1 == 6
    assert repr(Bcd(0x42)) == "Bcd(0x42)"
    assert Bcd(0x42).digits == 42
    assert Bcd(0x4F).digits is None
    assert Bcd.from_digits(99) == 0x99
    with pytest.raises(DataValueError):
        Bcd.from_digits(100)


def test_plain_int_is_ambiguous() -> None:
    with pytest.raises(DataValueError, match="DoubleLongUnsigned"):
        encode(5)
    with pytest.raises(DataValueError):
        encode([Unsigned(1), 2])
    import enum

    class Colour(enum.IntEnum):
        RED = 1

    with pytest.raises(DataValueError):
        encode(Colour.RED)


def test_encode_rejects_other_values() -> None:
    with pytest.raises(DataValueError):
        encode({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(DataValueError):
        encode("€")  # not visible-string: must be Utf8String
    with pytest.raises(DataValueError):
        encode(Utf8String("\ud800"))
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(DataValueError, match="deeper"):
        encode(loop)


def test_subclasses_encode_as_their_base() -> None:
    class Name(str):
        pass

    class Row(tuple):  # type: ignore[type-arg]
        pass

    assert encode(Name("A")) == H("0a0141")
    assert encode(Row((None,))) == H("020100")
    assert encode(bytearray(b"\x01")) == H("090101")


def test_encode_into_appends_and_rolls_back() -> None:
    out = bytearray(b"\xc4")
    encode_into(out, Unsigned(1))
    assert out == H("c41101")
    with pytest.raises(DataValueError):
        encode_into(out, [Unsigned(2), 3])
    assert out == H("c41101")


def test_nesting_depth_is_bounded() -> None:
    ok = H("0101" * MAX_DEPTH + "00")
    assert skip(ok, 0) == len(ok)
    value = decode(ok)
    assert encode(value) == ok
    too_deep = H("0101" * (MAX_DEPTH + 1) + "00")
    with pytest.raises(MalformedDataError, match="deeper") as info:
        decode(too_deep)
    assert info.value.offset == 2 * MAX_DEPTH
    with pytest.raises(MalformedDataError, match="deeper"):
        skip(too_deep, 0)
    nested: Any = None
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    with pytest.raises(DataValueError):
        encode(nested)


@pytest.mark.parametrize(
    ("wire", "offset", "message"),
    [
        ("", 0, "no data"),
        ("06 0102", 0, "cut short"),
        ("09 05 0102", 1, "runs past"),
        ("09", 1, "length missing"),
        ("09 82 01", 1, "cut short"),
        ("09 85 0000000001", 1, "not supported"),
        ("07", 0, "unknown tag 0x07"),
        ("0203 1100 07", 4, "unknown tag 0x07"),
        ("0203 1100", 2, "longer than the data"),
        ("0202 0901 00", 5, "element missing"),
        ("01 05 00", 2, "longer than the data"),
        ("01 84 ffffffff 00", 6, "longer than the data"),
        ("0000", 1, "trailing"),
        ("0c 02 c328", 2, "not UTF-8"),
        ("04 09 ff", 1, "runs past"),
        ("19 07e8", 0, "cut short"),
        ("1a 07e8", 0, "cut short"),
        ("1b 07", 0, "cut short"),
        ("17 00", 0, "cut short"),
        ("0202 11 05 12 00", 4, "cut short"),
        ("13", 1, "missing"),
        ("13 13 00", 1, "cannot describe"),
        ("13 ff 00", 1, "cannot describe"),
        ("13 12 03 000102", 5, "cut short"),
        ("13 00 01 00", 1, "no bytes"),
        ("13 01ffff 01ffff 00 01 00", 1, "no bytes"),
        ("13 0201 11 05 00", 4, "runs past"),
        ("13 02 05 11", 1, "longer than the data"),
        ("13 0a 02 03 41 42 43", 3, "runs past the contents"),
    ],
)
def test_errors_name_the_offset(wire: str, offset: int, message: str) -> None:
    raw = H(wire)
    with pytest.raises(MalformedDataError, match=message) as info:
        decode(raw)
    assert info.value.offset == offset
    assert info.value.data == raw


@pytest.mark.parametrize(
    "wire", ["06 0102", "09 05 0102", "07", "0203 1100", "01 05 00", "13 13 00", "13 00 01 00"]
)
def test_skip_rejects_what_decode_rejects(wire: str) -> None:
    with pytest.raises(MalformedDataError):
        skip(H(wire), 0)


def test_skip_does_not_check_contents() -> None:
    raw = H("0c 02 c328")  # bad UTF-8: skip only checks the framing
    assert skip(raw) == 4


def test_offsets_and_views() -> None:
    data = H("aa bb 1105 0900 cc")
    assert decode_from(data, 2) == (Unsigned(5), 4)
    assert skip(data, 4) == 6
    assert decode_from(bytearray(data), 4) == (b"", 6)
    with pytest.raises(MalformedDataError):
        decode_from(data, 7)


# -- profile-buffer shaped data and the row templates -------------------------------------------------
def _row(i: int, status: int = 0) -> bytes:
    stamp = CosemDateTime(2024, 1, 1, 1, i % 24, 0, 0, None, -60, ClockStatus(0)).to_bytes()
    cells = b"".join(b"\x06" + struct.pack(">I", i * 10 + k) for k in range(4))
    return H("0206 090c") + stamp + bytes((0x11, status)) + cells


def test_profile_buffer() -> None:
    raw = H("018203e8") + b"".join(_row(i, i % 256) for i in range(1000))
    rows: Any = decode(raw)
    assert isinstance(rows, list)
    assert len(rows) == 1000
    assert rows[7] == (_row(7)[4:16], Unsigned(7), *(DoubleLongUnsigned(70 + k) for k in range(4)))
    assert all(type(c) is DoubleLongUnsigned for c in rows[999][2:])
    assert type(rows[500][1]) is Unsigned
    assert encode(rows) == raw
    assert skip(raw, 0) == len(raw)


def test_rows_that_break_the_shape_use_the_normal_decoder() -> None:
    first = _row(1)
    compressed = H("0206 00 1101") + b"".join(b"\x06" + struct.pack(">I", k) for k in range(4))  # IDIS: null
    longer = H("0206 090d") + bytes(13) + H("1100") + H("0600000001") * 4
    other_tag = first[:16] + H("1201 00") + first[18:]  # long-unsigned where unsigned was
    rows = [first, compressed, first, longer, other_tag, first]
    raw = bytes((1, len(rows))) + b"".join(rows)
    value: Any = decode(raw)
    assert isinstance(value, list)
    assert value[1][0] is None
    assert value[3][0] == bytes(13)
    assert type(value[4][1]) is LongUnsigned
    assert encode(value) == raw
    assert skip(raw) == len(raw)
    generic = [decode(r) for r in rows]
    assert all(same(a, b) for a, b in zip(value, generic, strict=True))


def test_truncated_last_row_is_reported_where_it_breaks() -> None:
    raw = bytes((1, 5)) + _row(1) * 4 + _row(1)[:-2]
    with pytest.raises(MalformedDataError, match="cut short") as info:
        decode(raw)
    assert info.value.offset == len(raw) - 3
    with pytest.raises(MalformedDataError):
        skip(raw)


def test_template_rows_with_every_template_kind() -> None:
    row = (
        None,
        DONT_CARE,
        True,
        Integer(-1),
        Long(-2),
        Float32(2.5),
        1.25,
        CosemDate(2024, 1, 2, 3),
        CosemTime(1, 2, 3, 4),
        CosemDateTime(2024, 1, 2, 3, 4, 5, 6, 7, 120, ClockStatus(0x80)),
        "txt",
        b"oct",
        Enum(3),
        Bcd(0x12),
    )
    rows = [row] * 6
    raw = encode(rows)
    decoded: Any = decode(raw)
    assert all(same(a, row) for a in decoded)
    assert skip(raw) == len(raw)


# -- compact-array ------------------------------------------------------------------------------------
def test_compact_array_with_structure_description() -> None:
    td = TD.structure(
        TD.simple(DataTag.LONG_UNSIGNED), TD.simple(DataTag.VISIBLE_STRING), TD.simple(DataTag.BOOLEAN)
    )
    raw = H("13 0203 12 0a 03  0a  0001 02 6162 01  0002 00 00")
    value = decode(raw)
    assert isinstance(value, CompactArray)
    assert value.type_description == td
    assert value == [(LongUnsigned(1), "ab", True), (LongUnsigned(2), "", False)]
    assert encode(value) == raw
    assert TD.from_bytes(H("0203 12 0a 03")) == td
    assert td.to_bytes() == H("0203120a03")


def test_compact_array_with_array_description() -> None:
    td = TD.array(3, TD.simple(DataTag.UNSIGNED))
    raw = H("13 01 0003 11 06 010203 040506")
    value = decode(raw)
    assert value == CompactArray(
        td, [[Unsigned(1), Unsigned(2), Unsigned(3)], [Unsigned(4), Unsigned(5), Unsigned(6)]]
    )
    assert td.element == TD.simple(DataTag.UNSIGNED)
    assert encode(value) == raw
    nested = TD.structure(
        TD.array(2, TD.structure(TD.simple(DataTag.INTEGER), TD.simple(DataTag.OCTET_STRING)))
    )
    ca = CompactArray(nested, [([(Integer(-1), b"a"), (Integer(2), b"")],)])
    raw2 = encode(ca)
    assert raw2 == H("13 0201 01 0002 0202 0f 09  05  ff 0161 02 00")
    assert decode(raw2) == ca


def test_compact_array_delta_columns() -> None:
    td = TD.structure(
        TD.simple(DataTag.DOUBLE_LONG_UNSIGNED),
        TD.simple(DataTag.DELTA_LONG),
        TD.simple(DataTag.DELTA_UNSIGNED),
    )
    raw = H("13 0203 06 1d 1f 15 00000001 03e8 10  00000002 fffe 05  00000003 0005 00")
    value = decode(raw)
    assert isinstance(value, CompactArray)
    assert value.type_description == td
    assert value[1] == (DoubleLongUnsigned(2), DeltaLong(-2), DeltaUnsigned(5))
    assert type(value[1][1]) is DeltaLong
    assert value.resolved() == [(1, 1000, 16), (2, 998, 21), (3, 1003, 21)]
    assert encode(value) == raw
    # a simple delta description: every element is one column
    simple = CompactArray(
        TD.simple(DataTag.DELTA_INTEGER), [DeltaInteger(100), DeltaInteger(-1), DeltaInteger(-1)]
    )
    assert simple.resolved() == [100, 99, 98]
    assert encode(simple) == H("13 1c 03 64ffff")


def test_compact_array_of_every_simple_type_round_trips() -> None:
    samples: dict[DataTag, Any] = {
        DataTag.BOOLEAN: True,
        DataTag.BIT_STRING: BitString.from_str("101"),
        DataTag.OCTET_STRING: b"\x00\x01",
        DataTag.VISIBLE_STRING: "x",
        DataTag.UTF8_STRING: Utf8String("é"),
        DataTag.FLOAT32: Float32(1.5),
        DataTag.FLOAT64: 2.5,
        DataTag.DATE_TIME: CosemDateTime(2024, 1, 1),
        DataTag.DATE: CosemDate(2024),
        DataTag.TIME: CosemTime(1),
    }
    samples.update({c.tag: c(1) for c, _, _ in INT_TYPES})
    for tag, sample in samples.items():
        ca = CompactArray(TD.simple(tag), [sample, sample])
        assert same(decode(encode(ca)), ca), tag
    row = tuple(samples.values())
    td = TD.structure(*(TD.simple(t) for t in samples))
    ca = CompactArray(td, [row, row])
    raw = encode(ca)
    assert same(decode(raw), ca)
    assert skip(raw) == len(raw)


def test_compact_array_accepts_plain_values_when_the_description_types_them() -> None:
    ca = CompactArray(TD.simple(DataTag.LONG_UNSIGNED), [1, 2])
    assert encode(ca) == H("13 12 04 0001 0002")
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.simple(DataTag.LONG_UNSIGNED), [Unsigned(1)]))  # a different typed int
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.simple(DataTag.UNSIGNED), [256]))
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.simple(DataTag.OCTET_STRING), ["text"]))
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.structure(TD.simple(DataTag.UNSIGNED)), [(1, 2)]))
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.array(2, TD.simple(DataTag.UNSIGNED)), [[1]]))
    with pytest.raises(DataValueError):
        encode(CompactArray(TD.simple(DataTag.NULL_DATA), [None]))  # rows of no bytes lose the count
    assert encode(CompactArray(TD.simple(DataTag.NULL_DATA))) == H("13 00 00")


def test_type_description_checks() -> None:
    with pytest.raises(DataValueError):
        TD(DataTag.COMPACT_ARRAY)
    with pytest.raises(DataValueError):
        TD(DataTag.ARRAY)
    with pytest.raises(DataValueError):
        TD.array(70000, TD.simple(DataTag.UNSIGNED))
    with pytest.raises(DataValueError):
        TD(DataTag.UNSIGNED, (TD.simple(DataTag.UNSIGNED),))
    with pytest.raises(DataValueError):
        TD.simple(DataTag.UNSIGNED).element  # noqa: B018
    deep = TD.simple(DataTag.UNSIGNED)
    for _ in range(MAX_DEPTH - 1):
        deep = TD.structure(deep)
    with pytest.raises(DataValueError):
        TD.structure(deep)
    assert TD.simple(18).tag is DataTag.LONG_UNSIGNED
    with pytest.raises(MalformedDataError, match="trailing"):
        TD.from_bytes(H("1111"))
    assert TD.decode_from(H("aa 1111"), 1) == (TD.simple(DataTag.UNSIGNED), 2)


def test_compact_array_equality_includes_the_description() -> None:
    a = CompactArray(TD.simple(DataTag.UNSIGNED), [Unsigned(1)])
    b = CompactArray(TD.simple(DataTag.ENUM), [Unsigned(1)])
    assert a != b
    assert a == [Unsigned(1)]
    assert "CompactArray" in repr(a)


def test_dont_care_is_a_singleton() -> None:
    import copy
    import pickle

    assert axdr.DontCare() is DONT_CARE
    assert pickle.loads(pickle.dumps(DONT_CARE)) is DONT_CARE
    assert copy.deepcopy(DONT_CARE) is DONT_CARE
    assert repr(DONT_CARE) == "DONT_CARE"


# -- hypothesis: random typed values round-trip ------------------------------------------------------
def _ints() -> st.SearchStrategy[Any]:
    return st.one_of(*(st.integers(c.min_value, c.max_value).map(c) for c, _, _ in INT_TYPES))


_byte_or_none = st.one_of(st.none(), st.integers(0, 254))
_dates = st.builds(
    CosemDate, st.one_of(st.none(), st.integers(0, 0xFFFE)), _byte_or_none, _byte_or_none, _byte_or_none
)
_times = st.builds(CosemTime, _byte_or_none, _byte_or_none, _byte_or_none, _byte_or_none)
_datetimes = st.builds(
    CosemDateTime.combine,
    _dates,
    _times,
    st.one_of(st.none(), st.integers(-0x7FFF, 0x7FFF)),
    st.one_of(st.none(), st.integers(0, 254)),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    _ints(),
    st.binary(max_size=300),
    st.text(st.characters(max_codepoint=0xFF), max_size=20),
    st.text(st.characters(codec="utf-8"), max_size=20).map(Utf8String),
    st.floats(allow_nan=False),
    st.floats(width=32, allow_nan=False).map(Float32),
    st.binary(min_size=4, max_size=4).map(Float32.from_bytes),
    st.binary(min_size=8, max_size=8).map(lambda b: struct.unpack(">d", b)[0]),
    st.text("01", max_size=40).map(BitString.from_str),
    _dates,
    _times,
    _datetimes,
    st.just(DONT_CARE),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.lists(inner, max_size=6).map(tuple)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_random_values_round_trip(value: Any) -> None:
    raw = encode(value)
    decoded = decode(raw)
    assert encode(decoded) == raw
    assert same(decoded, value) or _has_nan(value)
    assert skip(raw) == len(raw)


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple):
        return any(_has_nan(v) for v in value)
    return False


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.integers(-0x8000, 0x7FFF), st.binary(max_size=5)), max_size=20
    )
)
def test_random_compact_arrays_round_trip(rows: list[tuple[int, int, bytes]]) -> None:
    td = TD.structure(
        TD.simple(DataTag.LONG_UNSIGNED), TD.simple(DataTag.DELTA_LONG), TD.simple(DataTag.OCTET_STRING)
    )
    ca = CompactArray(td, [(LongUnsigned(a), DeltaLong(b), c) for a, b, c in rows])
    raw = encode(ca)
    assert same(decode(raw), ca)
    assert skip(raw) == len(raw)
    running = 0
    resolved: list[Any] = ca.resolved()
    for i, row in enumerate(resolved):
        running = rows[i][1] if i == 0 else running + rows[i][1]
        assert row[1] == running
