"""Random and mutated bytes into every A-XDR and date-time decoder: only MeterlinkError may escape.

Also holds the contract between :func:`skip` and :func:`decode_from`: whenever decoding works,
skipping lands on the same offset; whenever skipping fails, decoding fails too.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.axdr import (
    CompactArray,
    DataTag,
    DoubleLongUnsigned,
    LongUnsigned,
    TypeDescription,
    Unsigned,
    Utf8String,
)
from meterlink.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime, datetime_from_bytes
from meterlink.errors import MeterlinkError

from .test_axdr import same

FUZZ = settings(max_examples=300, deadline=None)
TD = TypeDescription

_SEED_VALUES: tuple[Any, ...] = (
    [(b"\x07\xe8\x01\x01\x01\x00\x00\x00\xff\xff\xc4\x00", Unsigned(1), DoubleLongUnsigned(5))] * 5,
    (LongUnsigned(1), "abc", Utf8String("é"), None, True, [1.5, axdr.Float32(2.0)]),
    CompactArray(
        TD.structure(
            TD.simple(DataTag.LONG_UNSIGNED), TD.simple(DataTag.OCTET_STRING), TD.array(2, TD.simple(18))
        ),
        [(LongUnsigned(1), b"ab", [LongUnsigned(2), LongUnsigned(3)])] * 3,
    ),
    axdr.BitString.from_str("1" * 200),
    [CosemDateTime(2024, 1, 1), CosemDate(2024), CosemTime(1), axdr.DONT_CARE, b"x" * 300],
    [[[[[]]]]],
)
_SEEDS: list[bytes] = [axdr.encode(v) for v in _SEED_VALUES]


def _check_decoders(data: bytes) -> None:
    value: Any = None
    try:
        value, end = axdr.decode_from(data, 0)
    except MeterlinkError:
        end = -1
    try:
        skipped = axdr.skip(data, 0)
    except MeterlinkError:
        skipped = -1
    if end >= 0:
        assert skipped == end, (data.hex(), end, skipped)
        # The canonical encoding (00/01 booleans, shortest lengths) is a fixed point and never longer.
        canonical = axdr.encode(value)
        assert len(canonical) <= end
        assert axdr.encode(axdr.decode(canonical)) == canonical
        assert axdr.skip(memoryview(data), 0) == end
    with contextlib.suppress(MeterlinkError):
        axdr.decode(data)
    for parse in (
        CosemDateTime.from_bytes,
        CosemDate.from_bytes,
        CosemTime.from_bytes,
        TypeDescription.from_bytes,
    ):
        with contextlib.suppress(MeterlinkError):
            parse(data)
    datetime_from_bytes(data[:12])


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    _check_decoders(data)


@FUZZ
@given(st.lists(st.sampled_from([*range(0x22), 0x81, 0x82, 0x84, 0xFF]), max_size=48).map(bytes))
def test_tag_soup(data: bytes) -> None:
    """Bytes drawn from tags and length prefixes reach much deeper into the grammar than noise."""
    _check_decoders(data)


@FUZZ
@given(
    st.sampled_from(_SEEDS),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["set", "ins", "del"])),
        max_size=4,
    ),
)
def test_mutated_encodings(seed: bytes, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(seed)
    for where, byte, how in edits:
        i = where % (len(data) + 1)
        if how == "set" and i < len(data):
            data[i] = byte
        elif how == "ins":
            data.insert(i, byte)
        elif how == "del" and i < len(data):
            del data[i]
    _check_decoders(bytes(data))


@FUZZ
@given(st.sampled_from(_SEEDS), st.integers(0, 10_000))
def test_truncated_encodings(seed: bytes, cut: int) -> None:
    data = seed[: cut % len(seed)]
    try:
        axdr.decode(data)
    except MeterlinkError:
        pass
    else:  # pragma: no cover - every proper prefix is incomplete
        raise AssertionError(f"prefix {data.hex()} decoded")


def test_hostile_counts_are_rejected_before_work() -> None:
    for raw in (
        b"\x01\x84\xff\xff\xff\xff" + b"\x00" * 8,  # 4 billion elements announced
        b"\x13\x01\xff\xff\x01\xff\xff\x01\xff\xff\x00\x01\x00",  # 2^48 null-data per compact row
        b"\x13\x01\xff\xff\x01\xff\xff\x02\x00\x11\x04" + b"\x00" * 4,  # arrays of empty structures
        b"\x09\x84\xff\xff\xff\xff",
        b"\x04\x84\xff\xff\xff\xff",
    ):
        try:
            axdr.decode(raw)
        except MeterlinkError:
            pass
        else:  # pragma: no cover
            raise AssertionError(raw.hex())
        try:
            axdr.skip(raw)
        except MeterlinkError:
            pass
        else:  # pragma: no cover
            raise AssertionError(raw.hex())


def test_deep_nesting_is_bounded_without_recursion_errors() -> None:
    for raw in (
        b"\x01\x01" * 10_000 + b"\x00",
        b"\x02\x01" * 10_000,
        b"\x13" + b"\x02\x01" * 10_000 + b"\x11\x00",
    ):
        with contextlib.suppress(MeterlinkError):
            axdr.decode(raw)
        with contextlib.suppress(MeterlinkError):
            axdr.skip(raw)


def test_one_byte_row_template_mismatch_everywhere() -> None:
    """Flip each byte of a templated buffer: the result must match the generic decoder or fail cleanly."""
    row = b"\x02\x03\x11\x01\x06" + struct.pack(">I", 7) + b"\x09\x02ab"
    base = bytes((1, 6)) + row * 6
    for i in range(len(base)):
        for byte in (0x00, 0x02, 0x09, 0x11, 0xFF):
            data = bytearray(base)
            data[i] = byte
            _check_decoders(bytes(data))
            if i >= 2:
                _compare_with_rowwise(bytes(data))


def _compare_with_rowwise(data: bytes) -> None:
    """The array decoded at once (templates) against its rows decoded one by one (no templates)."""
    rows: list[Any] = []
    pos = 2
    try:
        for _ in range(data[1]):
            row, pos = axdr.decode_from(data, pos)
            rows.append(row)
    except MeterlinkError:
        rows_ok = False
    else:
        rows_ok = True
    try:
        whole, end = axdr.decode_from(data, 0)
    except MeterlinkError:
        assert not rows_ok, data.hex()
        return
    assert rows_ok, data.hex()
    assert end == pos
    assert same(whole, rows), data.hex()
