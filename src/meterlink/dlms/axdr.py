"""A-XDR ``Data`` (IEC 62056-5-3 / Green Book): typed values out, exact bytes back in.

Every ``Data`` choice maps to one Python type, chosen so that ``encode(decode(x)) == x`` for every
valid ``x`` - the type of a value *is* its tag:

==============================  ====================================================
null-data                       ``None``
boolean                         ``bool`` (any non-zero byte reads as ``True``; encodes as ``01``)
array / structure               ``list`` / ``tuple``
compact-array                   :class:`CompactArray` (a ``list`` with a :class:`TypeDescription`)
integer ... long64-unsigned     :class:`Integer`, :class:`Long`, ... (``int`` subclasses with ``tag``)
enum, bcd, delta-*              :class:`Enum`, :class:`Bcd`, :class:`DeltaInteger`, ...
octet-string                    ``bytes`` (``bytearray`` accepted on encode)
visible-string                  ``str`` (bytes mapped 1:1 through latin-1, so nothing is lost)
utf8-string                     :class:`Utf8String`
bit-string                      :class:`BitString`
float32 / float64               :class:`Float32` / ``float``
date-time / date / time         ``CosemDateTime``, ``CosemDate``, ``CosemTime`` (:mod:`.cosem_time`)
dont-care                       :data:`DONT_CARE`
==============================  ====================================================

A plain ``int`` has no tag, so encoding one raises :class:`DataValueError`: say
``DoubleLongUnsigned(5)``. Lengths and counts use the multi-byte form both ways (``81 xx``,
``82 xx xx``); bit-string lengths count bits. Nesting is bounded by :data:`MAX_DEPTH` and every
count is checked against the bytes left before anything is allocated, so hostile input costs at
most linear time. Decoding errors are :class:`~meterlink.errors.MalformedDataError` with the whole
buffer and the offset of the offending item.

The decoder is on the hot path of profile buffers: dispatch is by tables indexed by tag, fixed-size
values go through precompiled ``struct`` objects, and typed ints are built without re-checking
their range.
"""

from __future__ import annotations

import enum
import functools
import operator
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Self, SupportsIndex, TypeAlias

from meterlink.errors import MalformedDataError

from ._lengths import decode_length, encode_length
from .cosem_time import (
    _DATETIME,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DataValueError,
    _datetime_from_fields,
)

__all__ = [
    "DONT_CARE",
    "MAX_DEPTH",
    "Bcd",
    "BitString",
    "CompactArray",
    "DataTag",
    "DataValue",
    "DataValueError",
    "DeltaDoubleLong",
    "DeltaDoubleLongUnsigned",
    "DeltaInteger",
    "DeltaLong",
    "DeltaLongUnsigned",
    "DeltaUnsigned",
    "DontCare",
    "DoubleLong",
    "DoubleLongUnsigned",
    "EncodableValue",
    "Enum",
    "Float32",
    "Integer",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "TypeDescription",
    "TypedInt",
    "Unsigned",
    "Utf8String",
    "decode",
    "decode_from",
    "encode",
    "encode_into",
    "skip",
]

MAX_DEPTH: Final = 64
"""Deepest nesting of arrays/structures (and of compact-array type descriptions) accepted."""


class DataTag(enum.IntEnum):
    """The ``Data`` CHOICE tags."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DELTA_INTEGER = 28
    DELTA_LONG = 29
    DELTA_DOUBLE_LONG = 30
    DELTA_UNSIGNED = 31
    DELTA_LONG_UNSIGNED = 32
    DELTA_DOUBLE_LONG_UNSIGNED = 33
    DONT_CARE = 255


_TAGS: Final[dict[int, DataTag]] = {int(t): t for t in DataTag}


def _tag_name(tag: int) -> str:
    known = _TAGS.get(tag)
    return known.name.lower().replace("_", "-") if known is not None else f"unknown tag {tag:#04x}"


_TAG_NAMES: Final[tuple[str, ...]] = tuple(_tag_name(tag) for tag in range(256))
"""Every byte's tag name, built once: the hot paths index it instead of formatting a name."""


# -- value types ------------------------------------------------------------------------------------
class DontCare:
    """The dont-care value (tag 0xFF, no body); use the singleton :data:`DONT_CARE`."""

    __slots__ = ()
    _instance: ClassVar[DontCare | None] = None

    def __new__(cls) -> DontCare:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DONT_CARE"

    def __reduce__(self) -> str:
        return "DONT_CARE"


DONT_CARE: Final = DontCare()


class TypedInt(int):
    """Base of the integer types: an ``int`` that knows its tag and range."""

    __slots__ = ()
    tag: ClassVar[DataTag]
    min_value: ClassVar[int]
    max_value: ClassVar[int]
    _struct: ClassVar[struct.Struct]

    def __new__(cls, value: SupportsIndex = 0) -> Self:
        try:
            number = operator.index(value)
        except TypeError:
            raise DataValueError(f"{cls.__name__} needs an integer, got {value!r}") from None
        if not cls.min_value <= number <= cls.max_value:
            raise DataValueError(
                f"{cls.__name__} holds {cls.min_value}..{cls.max_value}, {number} is out of range"
            )
        return int.__new__(cls, number)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    __str__ = int.__repr__


# Explicit classes (not a loop) so type checkers and readers see each name.
class Integer(TypedInt):
    """integer: int8."""

    __slots__ = ()
    tag = DataTag.INTEGER
    min_value, max_value, _struct = -0x80, 0x7F, struct.Struct(">b")


class Long(TypedInt):
    """long: int16."""

    __slots__ = ()
    tag = DataTag.LONG
    min_value, max_value, _struct = -0x8000, 0x7FFF, struct.Struct(">h")


class DoubleLong(TypedInt):
    """double-long: int32."""

    __slots__ = ()
    tag = DataTag.DOUBLE_LONG
    min_value, max_value, _struct = -0x8000_0000, 0x7FFF_FFFF, struct.Struct(">i")


class Long64(TypedInt):
    """long64: int64."""

    __slots__ = ()
    tag = DataTag.LONG64
    min_value, max_value, _struct = -(1 << 63), (1 << 63) - 1, struct.Struct(">q")


class Unsigned(TypedInt):
    """unsigned: uint8."""

    __slots__ = ()
    tag = DataTag.UNSIGNED
    min_value, max_value, _struct = 0, 0xFF, struct.Struct(">B")


class LongUnsigned(TypedInt):
    """long-unsigned: uint16."""

    __slots__ = ()
    tag = DataTag.LONG_UNSIGNED
    min_value, max_value, _struct = 0, 0xFFFF, struct.Struct(">H")


class DoubleLongUnsigned(TypedInt):
    """double-long-unsigned: uint32."""

    __slots__ = ()
    tag = DataTag.DOUBLE_LONG_UNSIGNED
    min_value, max_value, _struct = 0, 0xFFFF_FFFF, struct.Struct(">I")


class Long64Unsigned(TypedInt):
    """long64-unsigned: uint64."""

    __slots__ = ()
    tag = DataTag.LONG64_UNSIGNED
    min_value, max_value, _struct = 0, (1 << 64) - 1, struct.Struct(">Q")


class Enum(TypedInt):
    """enum: uint8 whose meaning the attribute defines."""

    __slots__ = ()
    tag = DataTag.ENUM
    min_value, max_value, _struct = 0, 0xFF, struct.Struct(">B")


class Bcd(TypedInt):
    """bcd: one byte, kept raw (0..255) because meters put sign/filler nibbles in it.

    :attr:`digits` reads it as two decimal digits, :meth:`from_digits` builds one from 0..99.
    """

    __slots__ = ()
    tag = DataTag.BCD
    min_value, max_value, _struct = 0, 0xFF, struct.Struct(">B")

    def __repr__(self) -> str:
        return f"Bcd(0x{int(self):02x})"

    @property
    def digits(self) -> int | None:
        """The two nibbles as a decimal number; ``None`` when a nibble is above 9."""
        high, low = int(self) >> 4, int(self) & 0x0F
        return high * 10 + low if high < 10 and low < 10 else None

    @classmethod
    def from_digits(cls, number: int) -> Bcd:
        if not 0 <= number <= 99:
            raise DataValueError(f"two BCD digits hold 0..99, not {number}")
        return cls((number // 10) << 4 | number % 10)


class DeltaInteger(TypedInt):
    """delta-integer: int8 difference to the previous value of a compact-array column."""

    __slots__ = ()
    tag = DataTag.DELTA_INTEGER
    min_value, max_value, _struct = -0x80, 0x7F, struct.Struct(">b")


class DeltaLong(TypedInt):
    """delta-long: int16 difference."""

    __slots__ = ()
    tag = DataTag.DELTA_LONG
    min_value, max_value, _struct = -0x8000, 0x7FFF, struct.Struct(">h")


class DeltaDoubleLong(TypedInt):
    """delta-double-long: int32 difference."""

    __slots__ = ()
    tag = DataTag.DELTA_DOUBLE_LONG
    min_value, max_value, _struct = -0x8000_0000, 0x7FFF_FFFF, struct.Struct(">i")


class DeltaUnsigned(TypedInt):
    """delta-unsigned: uint8 difference."""

    __slots__ = ()
    tag = DataTag.DELTA_UNSIGNED
    min_value, max_value, _struct = 0, 0xFF, struct.Struct(">B")


class DeltaLongUnsigned(TypedInt):
    """delta-long-unsigned: uint16 difference."""

    __slots__ = ()
    tag = DataTag.DELTA_LONG_UNSIGNED
    min_value, max_value, _struct = 0, 0xFFFF, struct.Struct(">H")


class DeltaDoubleLongUnsigned(TypedInt):
    """delta-double-long-unsigned: uint32 difference."""

    __slots__ = ()
    tag = DataTag.DELTA_DOUBLE_LONG_UNSIGNED
    min_value, max_value, _struct = 0, 0xFFFF_FFFF, struct.Struct(">I")


_INT_TYPES: Final[tuple[type[TypedInt], ...]] = (
    Integer,
    Long,
    DoubleLong,
    Long64,
    Unsigned,
    LongUnsigned,
    DoubleLongUnsigned,
    Long64Unsigned,
    Enum,
    Bcd,
    DeltaInteger,
    DeltaLong,
    DeltaDoubleLong,
    DeltaUnsigned,
    DeltaLongUnsigned,
    DeltaDoubleLongUnsigned,
)
_INT_TYPE_BY_TAG: Final[dict[int, type[TypedInt]]] = {int(c.tag): c for c in _INT_TYPES}
_DELTA_TAGS: Final = frozenset(range(DataTag.DELTA_INTEGER, DataTag.DELTA_DOUBLE_LONG_UNSIGNED + 1))

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")


class Float32(float):
    """float32: the value is rounded to single precision on construction, so it is what goes on the wire.

    A NaN decoded from the wire keeps its 4 bytes, so its payload (and signalling bit, which
    C's float-to-double conversion would set) is sent back unchanged.
    """

    __slots__ = ("_raw",)
    _raw: bytes | None

    def __new__(cls, value: float | str | SupportsIndex = 0.0) -> Self:
        number = float(value)
        try:
            number = _F32.unpack(_F32.pack(number))[0]
        except OverflowError:
            raise DataValueError(f"{value!r} does not fit in a float32") from None
        obj = float.__new__(cls, number)
        obj._raw = None
        return obj

    @classmethod
    def from_bytes(cls, data: bytes) -> Float32:
        """Exactly 4 big-endian bytes, NaN payload preserved."""
        if len(data) != 4:
            raise DataValueError(f"a float32 is 4 bytes, got {len(data)}")
        return _float32_from(bytes(data))

    def to_bytes(self) -> bytes:
        raw = self._raw
        return raw if raw is not None else _F32.pack(self)

    def __repr__(self) -> str:
        return f"Float32({float.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Float32.from_bytes, (self.to_bytes(),))


def _float32_from(raw: bytes) -> Float32:
    number = _F32.unpack(raw)[0]
    obj = float.__new__(Float32, number)
    obj._raw = raw if number != number else None
    return obj


class Utf8String(str):
    """utf8-string (a plain ``str`` encodes as visible-string)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Utf8String({str.__repr__(self)})"


@dataclass(frozen=True, slots=True)
class BitString:
    """bit-string: ``bits`` bits, first bit in the most significant bit of ``data[0]``.

    Unused trailing bits of the last byte are kept as sent (they are usually 0).
    """

    bits: int
    data: bytes

    def __post_init__(self) -> None:
        if type(self.bits) is not int or self.bits < 0:
            raise DataValueError(f"bit count must be a non-negative int, got {self.bits!r}")
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) != (self.bits + 7) >> 3:
            raise DataValueError(f"{self.bits} bits need {(self.bits + 7) >> 3} bytes, got {len(self.data)}")

    @classmethod
    def from_str(cls, text: str) -> BitString:
        """From ``"0101..."`` (first character = first bit)."""
        if text.strip("01"):
            raise DataValueError(f"a bit string is written with 0 and 1 only, got {text!r}")
        bits = len(text)
        if not bits:
            return cls(0, b"")
        pad = -bits % 8
        return cls(bits, int(text + "0" * pad, 2).to_bytes((bits + pad) >> 3, "big"))

    @classmethod
    def from_bools(cls, flags: Iterable[bool]) -> BitString:
        return cls.from_str("".join("1" if f else "0" for f in flags))

    def __str__(self) -> str:
        if not self.bits:
            return ""
        return format(int.from_bytes(self.data, "big"), f"0{len(self.data) * 8}b")[: self.bits]

    def __len__(self) -> int:
        return self.bits

    def __iter__(self) -> Iterator[bool]:
        return (ch == "1" for ch in str(self))


def _new_bitstring(bits: int, data: bytes) -> BitString:
    obj = object.__new__(BitString)
    object.__setattr__(obj, "bits", bits)
    object.__setattr__(obj, "data", data)
    return obj


# -- type descriptions (compact-array) -------------------------------------------------------------
_SIMPLE_TD_TAGS: Final = frozenset(
    t
    for t in DataTag
    if t not in (DataTag.ARRAY, DataTag.STRUCTURE, DataTag.COMPACT_ARRAY, DataTag.DONT_CARE)
)


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """The element type of a compact-array.

    A simple ``tag``; or ``STRUCTURE`` with one description per field in ``elements``; or
    ``ARRAY`` with ``count`` items of ``elements[0]``. Wire form: the tag, then for a structure
    the field count (A-XDR length) and the fields, for an array the count (uint16) and the item.
    """

    tag: DataTag
    elements: tuple[TypeDescription, ...] = ()
    count: int = 0

    def __post_init__(self) -> None:
        tag = _TAGS.get(self.tag) if isinstance(self.tag, int) else None
        if tag is None or tag is DataTag.COMPACT_ARRAY or tag is DataTag.DONT_CARE:
            raise DataValueError(f"{self.tag!r} cannot describe compact-array elements")
        object.__setattr__(self, "tag", tag)
        elements = tuple(self.elements)
        object.__setattr__(self, "elements", elements)
        if not all(isinstance(e, TypeDescription) for e in elements):
            raise DataValueError("type description elements must be TypeDescription")
        if tag is DataTag.ARRAY:
            if len(elements) != 1:
                raise DataValueError("an array type description has exactly one element description")
            if type(self.count) is not int or not 0 <= self.count <= 0xFFFF:
                raise DataValueError(f"array count must be 0..65535, got {self.count!r}")
        elif self.count:
            raise DataValueError("only an array type description has a count")
        elif tag is not DataTag.STRUCTURE and elements:
            raise DataValueError(f"{tag.name} is a simple type and has no element descriptions")
        if _td_depth(self) > MAX_DEPTH:
            raise DataValueError(f"type description nested deeper than {MAX_DEPTH}")

    def __repr__(self) -> str:
        if self.tag is DataTag.STRUCTURE:
            return f"TypeDescription.structure({', '.join(map(repr, self.elements))})"
        if self.tag is DataTag.ARRAY:
            return f"TypeDescription.array({self.count}, {self.elements[0]!r})"
        return f"TypeDescription.simple(DataTag.{self.tag.name})"

    @classmethod
    def simple(cls, tag: DataTag | int) -> TypeDescription:
        return cls(tag)  # type: ignore[arg-type]  # normalised in __post_init__

    @classmethod
    def structure(cls, *elements: TypeDescription) -> TypeDescription:
        return cls(DataTag.STRUCTURE, elements)

    @classmethod
    def array(cls, count: int, element: TypeDescription) -> TypeDescription:
        return cls(DataTag.ARRAY, (element,), count)

    @property
    def element(self) -> TypeDescription:
        """The item description of an array description."""
        if self.tag is not DataTag.ARRAY:
            raise DataValueError(f"a {self.tag.name} type description has no single element")
        return self.elements[0]

    def to_bytes(self) -> bytes:
        out = bytearray()
        _td_encode(out, self)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> TypeDescription:
        """The whole of ``data`` must be one description."""
        buf = bytes(data)
        td, end = _td_decode(buf, 0, 0)
        if end != len(buf):
            raise _bad("trailing bytes after the type description", buf, end)
        return td

    @classmethod
    def decode_from(
        cls, data: bytes | bytearray | memoryview, offset: int = 0
    ) -> tuple[TypeDescription, int]:
        """One description at ``offset``; returns it and the offset after it."""
        buf = data if type(data) is bytes else bytes(data)
        return _td_decode(buf, offset, 0)


def _td_depth(td: TypeDescription) -> int:
    # Children were checked when they were built, so this recursion is at most MAX_DEPTH deep.
    return 1 + max((_td_depth(e) for e in td.elements), default=0)


def _td_encode(out: bytearray, td: TypeDescription) -> None:
    out.append(td.tag)
    if td.tag is DataTag.STRUCTURE:
        out += encode_length(len(td.elements))
        for e in td.elements:
            _td_encode(out, e)
    elif td.tag is DataTag.ARRAY:
        out += td.count.to_bytes(2, "big")
        _td_encode(out, td.elements[0])


def _td_decode(data: _Buf, pos: int, depth: int) -> tuple[TypeDescription, int]:
    if depth >= MAX_DEPTH:
        raise _bad(f"type description nested deeper than {MAX_DEPTH}", data, pos)
    if pos >= len(data):
        raise _bad("type description missing", data, pos)
    tag = data[pos]
    if tag == DataTag.STRUCTURE:
        n, p = decode_length(data, pos + 1)
        if n > len(data) - p:
            raise _bad(f"structure type description of {n} fields longer than the data", data, pos)
        fields = []
        for _ in range(n):
            field, p = _td_decode(data, p, depth + 1)
            fields.append(field)
        return _td_new(DataTag.STRUCTURE, tuple(fields), 0), p
    if tag == DataTag.ARRAY:
        if pos + 3 > len(data):
            raise _bad("array type description cut short", data, pos)
        count = (data[pos + 1] << 8) | data[pos + 2]
        item, p = _td_decode(data, pos + 3, depth + 1)
        return _td_new(DataTag.ARRAY, (item,), count), p
    simple = _SIMPLE_TD.get(tag)
    if simple is None:
        raise _bad(f"{_TAG_NAMES[tag]} cannot describe compact-array elements", data, pos)
    return simple, pos + 1


def _td_new(tag: DataTag, elements: tuple[TypeDescription, ...], count: int) -> TypeDescription:
    obj = object.__new__(TypeDescription)
    object.__setattr__(obj, "tag", tag)
    object.__setattr__(obj, "elements", elements)
    object.__setattr__(obj, "count", count)
    return obj


_SIMPLE_TD: Final[dict[int, TypeDescription]] = {int(t): _td_new(t, (), 0) for t in _SIMPLE_TD_TAGS}


def _td_shape(td: TypeDescription) -> tuple[int, int]:
    """``(minimum bytes, items that take no bytes)`` of one element: null-data leaves and containers."""
    tag = td.tag
    if tag is DataTag.STRUCTURE:
        size, free = 0, 1
        for e in td.elements:
            s, f = _td_shape(e)
            size, free = size + s, free + f
        return size, free
    if tag is DataTag.ARRAY:
        s, f = _td_shape(td.elements[0])
        return s * td.count, 1 + f * td.count
    if tag is DataTag.NULL_DATA:
        return 0, 1
    fixed = _FIXED_SIZE.get(tag)
    return (fixed if fixed is not None else 1), 0


def _td_too_sparse(td: TypeDescription) -> bool:
    """Rows that take no bytes (so the row count is lost), or that build far more objects than
    they take bytes: hostile descriptions such as an array of 65535 arrays of 65535 null-data."""
    size, free = _td_shape(td)
    return size == 0 or free > 4 * size + 16


# -- compact-array ----------------------------------------------------------------------------------
class CompactArray(list[Any]):
    """compact-array: the rows as typed values plus the :class:`TypeDescription` they follow.

    Rows are what the description says: a typed value for a simple description, a ``tuple`` for
    a structure, a ``list`` for an array. Delta columns hold the differences as sent;
    :meth:`resolved` gives the absolute values.
    """

    __slots__ = ("type_description",)
    type_description: TypeDescription

    def __init__(self, type_description: TypeDescription, rows: Iterable[EncodableValue] = ()) -> None:
        if not isinstance(type_description, TypeDescription):
            raise DataValueError("CompactArray needs a TypeDescription")
        super().__init__(rows)
        self.type_description = type_description

    def __repr__(self) -> str:
        return f"CompactArray({self.type_description!r}, {list.__repr__(self)})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompactArray) and other.type_description != self.type_description:
            return False
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def resolved(self) -> list[DataValue]:
        """The rows with every delta column turned into absolute ``int`` values.

        A column is a leaf position in the row; its first value is absolute, each next one is the
        previous absolute value plus the difference sent.
        """
        previous: dict[int, int] = {}
        out: list[DataValue] = []
        for row in self:
            value, _ = _resolve(row, self.type_description, 0, previous)
            out.append(value)
        return out


def _resolve(value: Any, td: TypeDescription, leaf: int, previous: dict[int, int]) -> tuple[Any, int]:
    tag = td.tag
    if tag is DataTag.STRUCTURE:
        items = []
        for item, sub in zip(value, td.elements, strict=True):
            v, leaf = _resolve(item, sub, leaf, previous)
            items.append(v)
        return tuple(items), leaf
    if tag is DataTag.ARRAY:
        sub = td.elements[0]
        items = []
        for item in value:
            v, leaf = _resolve(item, sub, leaf, previous)
            items.append(v)
        return items, leaf
    if tag in _DELTA_TAGS:
        last = previous.get(leaf)
        absolute = int(value) if last is None else last + int(value)
        previous[leaf] = absolute
        return absolute, leaf + 1
    return value, leaf + 1


# -- the value alias --------------------------------------------------------------------------------
DataValue: TypeAlias = (
    bool
    | int
    | float
    | bytes
    | str
    | BitString
    | CosemDateTime
    | CosemDate
    | CosemTime
    | DontCare
    | list["DataValue"]
    | tuple["DataValue", ...]
    | None
)
"""Any decoded ``Data``: see the module docstring for which type stands for which tag."""

EncodableValue: TypeAlias = (
    bool
    | int
    | float
    | bytes
    | bytearray
    | str
    | BitString
    | CosemDateTime
    | CosemDate
    | CosemTime
    | DontCare
    | Sequence["EncodableValue"]
    | None
)
"""What :func:`encode` takes: a :data:`DataValue`, with any sequence type checked covariantly
(``list[Unsigned]`` is fine); at run time only ``list`` (array) and ``tuple`` (structure) encode."""


# -- decoding ---------------------------------------------------------------------------------------
_Buf: TypeAlias = bytes | bytearray | memoryview


def _bad(message: str, data: _Buf, offset: int) -> MalformedDataError:
    return MalformedDataError(message, data=bytes(data), offset=offset)


def _cut(data: _Buf, pos: int, what: str) -> MalformedDataError:
    return _bad(f"{what} cut short", data, pos)


_Decoder = Callable[[bytes, int, int], tuple[Any, int]]

_FIXED_SIZE: Final[dict[int, int]] = {
    DataTag.NULL_DATA: 0,
    DataTag.BOOLEAN: 1,
    DataTag.DOUBLE_LONG: 4,
    DataTag.DOUBLE_LONG_UNSIGNED: 4,
    DataTag.BCD: 1,
    DataTag.INTEGER: 1,
    DataTag.LONG: 2,
    DataTag.UNSIGNED: 1,
    DataTag.LONG_UNSIGNED: 2,
    DataTag.LONG64: 8,
    DataTag.LONG64_UNSIGNED: 8,
    DataTag.ENUM: 1,
    DataTag.FLOAT32: 4,
    DataTag.FLOAT64: 8,
    DataTag.DATE_TIME: 12,
    DataTag.DATE: 5,
    DataTag.TIME: 4,
    DataTag.DELTA_INTEGER: 1,
    DataTag.DELTA_LONG: 2,
    DataTag.DELTA_DOUBLE_LONG: 4,
    DataTag.DELTA_UNSIGNED: 1,
    DataTag.DELTA_LONG_UNSIGNED: 2,
    DataTag.DELTA_DOUBLE_LONG_UNSIGNED: 4,
    DataTag.DONT_CARE: 0,
}

# tag -> (body size, unpack_from, build) for values that are one struct field turned into one object.
_Fixed = tuple[int, Callable[[bytes, int], tuple[Any, ...]], Callable[[Any], Any]]
_FIXED: list[_Fixed | None] = [None] * 256
# Struct format of the body of each tag in _FIXED, for the row templates below.
_FIXED_FORMAT: dict[int, str] = {}
_U8 = struct.Struct(">B")
for _cls in _INT_TYPES:
    if _cls._struct.size == 1:
        # One-byte types: all 256 values built once, indexed by the raw byte (signed ones wrap).
        _signed = _cls.min_value < 0
        _cache = tuple(int.__new__(_cls, b - 256 if _signed and b > 127 else b) for b in range(256))
        _FIXED[_cls.tag] = (1, _U8.unpack_from, _cache.__getitem__)
        _FIXED_FORMAT[_cls.tag] = "B"
    else:
        _FIXED[_cls.tag] = (_cls._struct.size, _cls._struct.unpack_from, functools.partial(int.__new__, _cls))
        _FIXED_FORMAT[_cls.tag] = _cls._struct.format[1:]
_FIXED[DataTag.BOOLEAN] = (1, _U8.unpack_from, (False, *(True,) * 255).__getitem__)
_FIXED_FORMAT[DataTag.BOOLEAN] = "B"
_FIXED[DataTag.FLOAT64] = (8, _F64.unpack_from, float)
_FIXED_FORMAT[DataTag.FLOAT64] = "d"
del _cls, _signed, _cache


def _dec_null(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return None, pos


def _dec_dont_care(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return DONT_CARE, pos


def _length(data: _Buf, pos: int, what: str) -> tuple[int, int]:
    """Length field at ``pos``; the body it announces must fit in ``data``."""
    if pos >= len(data):
        raise _bad(f"{what} length missing", data, pos)
    n = data[pos]
    p = pos + 1
    if n >= 0x80:
        n, p = decode_length(data, pos)
    if n > len(data) - p:
        raise _bad(f"{what} of length {n} runs past the end", data, pos)
    return n, p


def _dec_octets(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    n, p = _length(data, pos, "octet-string")
    end = p + n
    return data[p:end], end


def _dec_visible(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    n, p = _length(data, pos, "visible-string")
    end = p + n
    return data[p:end].decode("latin-1"), end


def _dec_utf8(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    n, p = _length(data, pos, "utf8-string")
    end = p + n
    try:
        return Utf8String(data[p:end].decode("utf-8")), end
    except UnicodeDecodeError as exc:
        raise _bad(f"utf8-string is not UTF-8: {exc.reason}", data, p + exc.start) from None


def _bit_length(data: _Buf, pos: int) -> tuple[int, int, int]:
    if pos >= len(data):
        raise _bad("bit-string length missing", data, pos)
    bits, p = decode_length(data, pos)
    nbytes = (bits + 7) >> 3
    if nbytes > len(data) - p:
        raise _bad(f"bit-string of {bits} bits runs past the end", data, pos)
    return bits, p, p + nbytes


def _dec_bits(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    bits, p, end = _bit_length(data, pos)
    return _new_bitstring(bits, data[p:end]), end


def _dec_float32(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    end = pos + 4
    if end > len(data):
        raise _cut(data, pos - 1, "float32")
    return _float32_from(data[pos:end]), end


def _dec_datetime(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    end = pos + 12
    if end > len(data):
        raise _cut(data, pos - 1, "date-time")
    return _datetime_from_fields(_DATETIME.unpack_from(data, pos)), end


def _dec_date(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if pos + 5 > len(data):
        raise _cut(data, pos - 1, "date")
    return CosemDate.from_bytes(data, pos), pos + 5


def _dec_time(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if pos + 4 > len(data):
        raise _cut(data, pos - 1, "time")
    return CosemTime.from_bytes(data, pos), pos + 4


def _count(data: bytes, pos: int, depth: int, what: str) -> tuple[int, int]:
    """Element count of an array or structure whose count field is at ``pos``."""
    if depth >= MAX_DEPTH:
        raise _bad(f"data nested deeper than {MAX_DEPTH}", data, pos - 1)
    size = len(data)
    if pos >= size:
        raise _bad(f"{what} count missing", data, pos)
    n = data[pos]
    pos += 1
    if n >= 0x80:
        n, pos = decode_length(data, pos - 1)
    if n > size - pos:
        raise _bad(f"{what} of {n} elements is longer than the data", data, pos)
    return n, pos


def _elements(data: bytes, pos: int, depth: int, n: int, what: str, items: list[Any]) -> int:
    """Decode ``n`` tagged elements (children at ``depth``) into ``items``; the offset after them."""
    size = len(data)
    append = items.append
    fixed = _FIXED
    decoders = _DECODERS
    for _ in range(n):
        if pos >= size:
            raise _bad(f"{what} element missing", data, pos)
        tag = data[pos]
        fx = fixed[tag]
        if fx is not None:
            body, unpack, build = fx
            nxt = pos + 1 + body
            if nxt > size:
                raise _cut(data, pos, _TAG_NAMES[tag])
            append(build(unpack(data, pos + 1)[0]))
            pos = nxt
        else:
            dec = decoders[tag]
            if dec is None:
                raise _bad(f"{_TAG_NAMES[tag]} in {what}", data, pos)
            value, pos = dec(data, pos + 1, depth)
            append(value)
    return pos


def _dec_structure(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    n, pos = _count(data, pos, depth, "structure")
    items: list[Any] = []
    pos = _elements(data, pos, depth + 1, n, "structure", items)
    return tuple(items), pos


# Row templates. Profile buffers and object lists are arrays of structures that all have the same
# shape (same tags, same string lengths). After decoding the first row normally, its shape is
# compiled into one struct format covering tags, lengths and bodies; each next row is unpacked in
# one call and accepted only if every tag and length byte equals the first row's, otherwise it
# goes through the normal decoder (e.g. an IDIS row with null-data in a compressed column).
_TEMPLATE_MIN_ROWS: Final = 4
_call = operator.call


def _none(_: object) -> None:
    return None


def _dont_care(_: object) -> DontCare:
    return DONT_CARE


def _fl32(raw: bytes) -> Float32:
    return _float32_from(raw)


def _dt_build(raw: bytes) -> CosemDateTime:
    return _datetime_from_fields(_DATETIME.unpack(raw))


_TEMPLATE_BUILD: Final[dict[int, tuple[str, Callable[[Any], Any]]]] = {
    DataTag.FLOAT32: ("4s", _fl32),
    DataTag.DATE_TIME: ("12s", _dt_build),
    DataTag.DATE: ("5s", CosemDate.from_bytes),
    DataTag.TIME: ("4s", CosemTime.from_bytes),
}

_Template = tuple[
    int,
    Callable[[bytes, int], tuple[Any, ...]],
    Callable[[tuple[Any, ...]], Any],
    tuple[Any, ...],
    Callable[[tuple[Any, ...]], Any],
    tuple[Callable[[Any], Any], ...],
]


def _row_template(data: bytes, start: int, end: int) -> _Template | None:
    """Compile the flat structure at ``data[start:end]`` (already decoded once), or ``None``."""
    if data[start] != DataTag.STRUCTURE:
        return None
    count = data[start + 1]
    if not 2 <= count < 0x80:
        return None
    fmt = [">BB"]
    consts: list[int] = [0, 1]
    values: list[int] = []
    builders: list[Callable[[Any], Any]] = []
    field = 2  # index of the next unpacked field
    pos = start + 2
    for _ in range(count):
        tag = data[pos]
        consts.append(field)
        fx = _FIXED[tag]
        if fx is not None:
            fmt.append("B" + _FIXED_FORMAT[tag])
            values.append(field + 1)
            builders.append(fx[2])
            field += 2
            pos += 1 + fx[0]
        elif tag in _TEMPLATE_BUILD:
            code, build = _TEMPLATE_BUILD[tag]
            fmt.append("B" + code)
            values.append(field + 1)
            builders.append(build)
            field += 2
            pos += 1 + _FIXED_SIZE[tag]
        elif tag == DataTag.NULL_DATA or tag == DataTag.DONT_CARE:
            fmt.append("B")
            values.append(field)
            builders.append(_none if tag == DataTag.NULL_DATA else _dont_care)
            field += 1
            pos += 1
        elif tag == DataTag.OCTET_STRING or tag == DataTag.VISIBLE_STRING:
            n = data[pos + 1]
            if n >= 0x80:
                return None
            fmt.append(f"BB{n}s")
            consts.append(field + 1)
            values.append(field + 2)
            builders.append(bytes if tag == DataTag.OCTET_STRING else _latin1_text)
            field += 3
            pos += 2 + n
        else:
            return None
    if pos != end:  # pragma: no cover - the row was decoded by the same rules
        return None
    st = struct.Struct("".join(fmt))
    const_of = operator.itemgetter(*consts)
    first = st.unpack_from(data, start)
    return (st.size, st.unpack_from, const_of, const_of(first), operator.itemgetter(*values), tuple(builders))


_latin1_text = operator.methodcaller("decode", "latin-1")


def _dec_array(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    n, pos = _count(data, pos, depth, "array")
    items: list[Any] = []
    depth += 1
    if n < _TEMPLATE_MIN_ROWS or data[pos] != DataTag.STRUCTURE:
        return items, _elements(data, pos, depth, n, "array", items)
    start = pos
    pos = _elements(data, pos, depth, 1, "array", items)
    template = _row_template(data, start, pos)
    if template is None:
        return items, _elements(data, pos, depth, n - 1, "array", items)
    size, unpack, const_of, expected, values_of, builders = template
    last = len(data) - size
    append = items.append
    call = _call
    for _ in range(n - 1):
        if pos <= last:
            fields = unpack(data, pos)
            if const_of(fields) == expected:
                append(tuple(map(call, builders, values_of(fields))))
                pos += size
                continue
        pos = _elements(data, pos, depth, 1, "array", items)
    return items, pos


# Untagged element readers for compact-array contents: (data, pos, end) -> (value, pos).
_Reader = Callable[[bytes, int, int], tuple[Any, int]]


def _fixed_reader(tag: int) -> _Reader:
    size = _FIXED_SIZE[tag]
    fx = _FIXED[tag]
    name = _TAG_NAMES[tag]
    if fx is not None:
        _, unpack, build = fx

        def read_fixed(data: bytes, pos: int, end: int) -> tuple[Any, int]:
            nxt = pos + size
            if nxt > end:
                raise _cut(data, pos, f"compact-array {name} element")
            return build(unpack(data, pos)[0]), nxt

        return read_fixed
    decoder = _DECODERS[tag]
    assert decoder is not None

    def read_other(data: bytes, pos: int, end: int) -> tuple[Any, int]:
        if pos + size > end:
            raise _cut(data, pos, f"compact-array {name} element")
        return decoder(data, pos, 0)

    return read_other


def _var_reader(tag: int) -> _Reader:
    decoder = _DECODERS[tag]
    assert decoder is not None
    name = _TAG_NAMES[tag]

    def read_var(data: bytes, pos: int, end: int) -> tuple[Any, int]:
        value, nxt = decoder(data, pos, 0)
        if nxt > end:
            raise _bad(f"compact-array {name} element runs past the contents", data, pos)
        return value, nxt

    return read_var


def _reader(td: TypeDescription) -> _Reader:
    tag = td.tag
    if tag is DataTag.STRUCTURE:
        fields = tuple(_reader(e) for e in td.elements)

        def read_structure(data: bytes, pos: int, end: int) -> tuple[Any, int]:
            items = []
            for read in fields:
                value, pos = read(data, pos, end)
                items.append(value)
            return tuple(items), pos

        return read_structure
    if tag is DataTag.ARRAY:
        item = _reader(td.elements[0])
        count = td.count

        def read_array(data: bytes, pos: int, end: int) -> tuple[Any, int]:
            items = []
            for _ in range(count):
                value, pos = item(data, pos, end)
                items.append(value)
            return items, pos

        return read_array
    if tag in _FIXED_SIZE:
        return _fixed_reader(tag)
    return _var_reader(tag)


def _dec_compact(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth >= MAX_DEPTH:
        raise _bad(f"data nested deeper than {MAX_DEPTH}", data, pos - 1)
    td, p = _td_decode(data, pos, depth)
    n, p = _length(data, p, "compact-array contents")
    end = p + n
    rows = CompactArray(td)
    if n:
        if _td_too_sparse(td):
            raise _bad("compact-array type description has rows of (nearly) no bytes", data, pos)
        read = _reader(td)
        append = rows.append
        while p < end:
            value, p = read(data, p, end)
            append(value)
    return rows, end


_DECODERS: list[_Decoder | None] = [None] * 256
for _tag, _dec in {
    DataTag.NULL_DATA: _dec_null,
    DataTag.ARRAY: _dec_array,
    DataTag.STRUCTURE: _dec_structure,
    DataTag.BIT_STRING: _dec_bits,
    DataTag.OCTET_STRING: _dec_octets,
    DataTag.VISIBLE_STRING: _dec_visible,
    DataTag.UTF8_STRING: _dec_utf8,
    DataTag.COMPACT_ARRAY: _dec_compact,
    DataTag.FLOAT32: _dec_float32,
    DataTag.DATE_TIME: _dec_datetime,
    DataTag.DATE: _dec_date,
    DataTag.TIME: _dec_time,
    DataTag.DONT_CARE: _dec_dont_care,
}.items():
    _DECODERS[_tag] = _dec
del _tag, _dec


def _fixed_decoder(
    body: int, unpack: Callable[[bytes, int], tuple[Any, ...]], build: Callable[[Any], Any]
) -> _Decoder:
    def dec(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
        end = pos + body
        if end > len(data):
            raise _cut(data, pos - 1, _tag_name(data[pos - 1]))
        return build(unpack(data, pos)[0]), end

    return dec


for _i, _fx in enumerate(_FIXED):
    if _fx is not None:
        _DECODERS[_i] = _fixed_decoder(*_fx)
del _i, _fx


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"A-XDR data must be bytes, bytearray or memoryview, not {type(data).__name__}")


def decode_from(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[DataValue, int]:
    """Decode one ``Data`` starting at ``offset``; returns the value and the offset after it."""
    buf = _as_bytes(data)
    if not 0 <= offset < len(buf):
        raise _bad("no data to decode", buf, offset)
    tag = buf[offset]
    dec = _DECODERS[tag]
    if dec is None:
        raise _bad(_TAG_NAMES[tag], buf, offset)
    value: DataValue
    value, end = dec(buf, offset + 1, 0)
    return value, end


def decode(data: bytes | bytearray | memoryview) -> DataValue:
    """Decode exactly one ``Data`` filling the whole of ``data``."""
    buf = _as_bytes(data)
    value, end = decode_from(buf, 0)
    if end != len(buf):
        raise _bad(f"{len(buf) - end} trailing bytes after the data", buf, end)
    return value


# -- skipping ---------------------------------------------------------------------------------------
# Whole encoded size (tag included) of fixed-size items; 0 for the others.
_SKIP_FIXED: Final = [0] * 256
for _t, _s in _FIXED_SIZE.items():
    _SKIP_FIXED[_t] = 1 + _s
del _t, _s
_STRING_TAGS: Final = frozenset((DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING))


def skip(data: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """Offset after the one ``Data`` at ``offset``, without building values.

    Checks the structure (tags, lengths, counts, nesting, type descriptions) exactly as
    :func:`decode_from` does, not the contents (UTF-8 validity, compact-array rows): whenever
    :func:`decode_from` succeeds, ``skip`` returns the same offset.
    """
    return _skip(data, offset, 0)


def _skip(data: _Buf, pos: int, base: int) -> int:
    """:func:`skip` for an item whose enclosing containers are ``base`` deep."""
    size = len(data)
    stack: list[int] = []
    remaining = 1
    fixed = _SKIP_FIXED
    while True:
        if not remaining:
            if not stack:
                return pos
            remaining = stack.pop()
            continue
        remaining -= 1
        if not 0 <= pos < size:
            raise _bad("data missing", data, pos)
        tag = data[pos]
        whole = fixed[tag]
        if whole:
            if pos + whole > size:
                raise _cut(data, pos, _TAG_NAMES[tag])
            pos += whole
        elif tag == DataTag.ARRAY or tag == DataTag.STRUCTURE:
            depth = base + len(stack)
            if depth >= MAX_DEPTH:
                raise _bad(f"data nested deeper than {MAX_DEPTH}", data, pos)
            n, p = _skip_length(data, pos + 1, _TAG_NAMES[tag])
            if n > size - p:
                raise _bad(f"{_TAG_NAMES[tag]} of {n} elements is longer than the data", data, p)
            if n >= _TEMPLATE_MIN_ROWS and tag == DataTag.ARRAY and data[p] == DataTag.STRUCTURE:
                pos = _skip_rows(data, p, n, depth + 1)
            else:
                stack.append(remaining)
                remaining = n
                pos = p
        elif tag in _STRING_TAGS:
            n, p = _skip_length(data, pos + 1, _TAG_NAMES[tag])
            if n > size - p:
                raise _bad(f"{_TAG_NAMES[tag]} of length {n} runs past the end", data, pos + 1)
            pos = p + n
        elif tag == DataTag.BIT_STRING:
            pos = _bit_length(data, pos + 1)[2]
        elif tag == DataTag.COMPACT_ARRAY:
            depth = base + len(stack)
            if depth >= MAX_DEPTH:
                raise _bad(f"data nested deeper than {MAX_DEPTH}", data, pos)
            td, p = _td_decode(data, pos + 1, depth)
            n, p = _length(data, p, "compact-array contents")
            if n and _td_too_sparse(td):
                raise _bad("compact-array type description has rows of (nearly) no bytes", data, pos + 1)
            pos = p + n
        else:
            raise _bad(_TAG_NAMES[tag], data, pos)


def _skip_rows(data: _Buf, pos: int, n: int, depth: int) -> int:
    """Skip ``n`` array elements, checking rows shaped like the first with one unpack each."""
    first = _skip(data, pos, depth)
    skeleton = _row_skeleton(data, pos, first)
    pos = first
    if skeleton is None:
        for _ in range(n - 1):
            pos = _skip(data, pos, depth)
        return pos
    size, unpack, expected = skeleton
    last = len(data) - size
    for _ in range(n - 1):
        if pos <= last and unpack(data, pos) == expected:
            pos += size
        else:
            pos = _skip(data, pos, depth)
    return pos


_Skeleton = tuple[int, Callable[[_Buf, int], tuple[int, ...]], tuple[int, ...]]


def _row_skeleton(data: _Buf, start: int, end: int) -> _Skeleton | None:
    """A struct that unpacks only the tag and length bytes of the flat structure at ``data[start:end]``."""
    count = data[start + 1]
    if count >= 0x80:
        return None
    fmt = [">BB"]
    pos = start + 2
    for _ in range(count):
        tag = data[pos]
        whole = _SKIP_FIXED[tag]
        if whole:
            fmt.append(f"B{whole - 1}x" if whole > 1 else "B")
            pos += whole
        elif tag in _STRING_TAGS:
            n = data[pos + 1]
            if n >= 0x80:
                return None
            fmt.append(f"BB{n}x")
            pos += 2 + n
        else:
            return None
    if pos != end:  # pragma: no cover - the row was skipped by the same rules
        return None
    st = struct.Struct("".join(fmt))
    return st.size, st.unpack_from, st.unpack_from(data, start)


def _skip_length(data: bytes | bytearray | memoryview, pos: int, what: str) -> tuple[int, int]:
    if pos >= len(data):
        raise MalformedDataError(f"{what} length missing", data=bytes(data), offset=pos)
    n = data[pos]
    if n < 0x80:
        return n, pos + 1
    return decode_length(data, pos)


# -- encoding ---------------------------------------------------------------------------------------
_Encoder = Callable[[bytearray, Any, int], None]


def _enc_none(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.NULL_DATA)


def _enc_bool(out: bytearray, value: Any, depth: int) -> None:
    out += b"\x03\x01" if value else b"\x03\x00"


def _enc_typed_int(out: bytearray, value: Any, depth: int) -> None:
    cls = type(value)
    out.append(cls.tag)
    out += cls._struct.pack(value)


def _enc_plain_int(out: bytearray, value: Any, depth: int) -> None:
    raise DataValueError(
        f"a plain int ({value!r}) has no A-XDR type: wrap it, e.g. DoubleLongUnsigned({value}) "
        f"or Long({value})"
    )


def _enc_octets(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.OCTET_STRING)
    out += encode_length(len(value))
    out += value


def _latin1(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise DataValueError(
            f"visible-string {value!r} has characters above U+00FF; use Utf8String for utf8-string"
        ) from None


def _enc_visible(out: bytearray, value: Any, depth: int) -> None:
    raw = _latin1(value)
    out.append(DataTag.VISIBLE_STRING)
    out += encode_length(len(raw))
    out += raw


def _utf8(value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise DataValueError(f"utf8-string {value!r} has unpaired surrogates") from None


def _enc_utf8(out: bytearray, value: Any, depth: int) -> None:
    raw = _utf8(value)
    out.append(DataTag.UTF8_STRING)
    out += encode_length(len(raw))
    out += raw


def _enc_bits(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.BIT_STRING)
    out += encode_length(value.bits)
    out += value.data


def _enc_float32(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.FLOAT32)
    out += value.to_bytes()


def _enc_float64(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.FLOAT64)
    out += _F64.pack(value)


def _enc_datetime(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.DATE_TIME)
    out += value.to_bytes()


def _enc_date(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.DATE)
    out += value.to_bytes()


def _enc_time(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.TIME)
    out += value.to_bytes()


def _enc_dont_care(out: bytearray, value: Any, depth: int) -> None:
    out.append(DataTag.DONT_CARE)


def _enc_items(out: bytearray, tag: int, value: Any, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise DataValueError(f"data nested deeper than {MAX_DEPTH} (or a list that contains itself)")
    out.append(tag)
    out += encode_length(len(value))
    depth += 1
    for item in value:
        enc = _ENCODERS.get(type(item)) or _encoder_for(item)
        enc(out, item, depth)


def _enc_array(out: bytearray, value: Any, depth: int) -> None:
    _enc_items(out, DataTag.ARRAY, value, depth)


def _enc_structure(out: bytearray, value: Any, depth: int) -> None:
    _enc_items(out, DataTag.STRUCTURE, value, depth)


def _enc_compact(out: bytearray, value: Any, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise DataValueError(f"data nested deeper than {MAX_DEPTH}")
    td: TypeDescription = value.type_description
    if value and _td_too_sparse(td):
        raise DataValueError(
            "rows of this type description take (nearly) no bytes, so the row count would be lost"
        )
    contents = bytearray()
    write = _writer(td)
    for row in value:
        write(contents, row)
    out.append(DataTag.COMPACT_ARRAY)
    _td_encode(out, td)
    out += encode_length(len(contents))
    out += contents


_Writer = Callable[[bytearray, Any], None]


def _int_writer(tag: DataTag) -> _Writer:
    cls = _INT_TYPE_BY_TAG[tag]
    pack = cls._struct.pack

    def write_int(out: bytearray, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise DataValueError(f"compact-array {tag.name} element must be an int, got {value!r}")
        if isinstance(value, TypedInt) and value.tag is not tag:
            raise DataValueError(f"compact-array {tag.name} element given as {value!r}")
        if not cls.min_value <= value <= cls.max_value:
            raise DataValueError(f"{value} out of range for a compact-array {tag.name} element")
        out += pack(value)

    return write_int


def _checked_writer(tag: DataTag, types: tuple[type, ...], encode_body: Callable[[Any], bytes]) -> _Writer:
    def write(out: bytearray, value: Any) -> None:
        if not isinstance(value, types) or isinstance(value, bool) is not (bool in types):
            raise DataValueError(f"compact-array {tag.name} element cannot be {value!r}")
        out += encode_body(value)

    return write


def _octets_body(value: Any) -> bytes:
    return encode_length(len(value)) + bytes(value)


def _visible_body(value: Any) -> bytes:
    raw = _latin1(value)
    return encode_length(len(raw)) + raw


def _utf8_body(value: Any) -> bytes:
    raw = _utf8(value)
    return encode_length(len(raw)) + raw


def _float32_body(value: Any) -> bytes:
    return value.to_bytes() if isinstance(value, Float32) else Float32(value).to_bytes()


_SIMPLE_WRITERS: Final[dict[DataTag, tuple[tuple[type, ...], Callable[[Any], bytes]]]] = {
    DataTag.NULL_DATA: ((type(None),), lambda v: b""),
    DataTag.BOOLEAN: ((bool,), lambda v: b"\x01" if v else b"\x00"),
    DataTag.BIT_STRING: ((BitString,), lambda v: encode_length(v.bits) + v.data),
    DataTag.OCTET_STRING: ((bytes, bytearray), _octets_body),
    DataTag.VISIBLE_STRING: ((str,), _visible_body),
    DataTag.UTF8_STRING: ((str,), _utf8_body),
    DataTag.FLOAT32: ((float,), _float32_body),
    DataTag.FLOAT64: ((float,), _F64.pack),
    DataTag.DATE_TIME: ((CosemDateTime,), CosemDateTime.to_bytes),
    DataTag.DATE: ((CosemDate,), CosemDate.to_bytes),
    DataTag.TIME: ((CosemTime,), CosemTime.to_bytes),
}


def _writer(td: TypeDescription) -> _Writer:
    tag = td.tag
    if tag is DataTag.STRUCTURE:
        fields = tuple(_writer(e) for e in td.elements)

        def write_structure(out: bytearray, value: Any) -> None:
            if not isinstance(value, tuple | list) or len(value) != len(fields):
                raise DataValueError(
                    f"compact-array row must be a tuple of {len(fields)} values, got {value!r}"
                )
            for write, item in zip(fields, value, strict=True):
                write(out, item)

        return write_structure
    if tag is DataTag.ARRAY:
        item_writer = _writer(td.elements[0])
        count = td.count

        def write_array(out: bytearray, value: Any) -> None:
            if not isinstance(value, list | tuple) or len(value) != count:
                raise DataValueError(f"compact-array item must be a list of {count} values, got {value!r}")
            for item in value:
                item_writer(out, item)

        return write_array
    if tag in _INT_TYPE_BY_TAG:
        return _int_writer(tag)
    types, body = _SIMPLE_WRITERS[tag]
    return _checked_writer(tag, types, body)


_ENCODERS: dict[type, _Encoder] = {
    type(None): _enc_none,
    bool: _enc_bool,
    int: _enc_plain_int,
    bytes: _enc_octets,
    bytearray: _enc_octets,
    str: _enc_visible,
    Utf8String: _enc_utf8,
    float: _enc_float64,
    Float32: _enc_float32,
    BitString: _enc_bits,
    CosemDateTime: _enc_datetime,
    CosemDate: _enc_date,
    CosemTime: _enc_time,
    DontCare: _enc_dont_care,
    list: _enc_array,
    tuple: _enc_structure,
    CompactArray: _enc_compact,
    TypedInt: _enc_typed_int,
}
for _cls in _INT_TYPES:
    _ENCODERS[_cls] = _enc_typed_int
del _cls


def _encoder_for(value: object) -> _Encoder:
    """Subclasses of the value types (user int/str/list subclasses...) use their nearest base."""
    for base in type(value).__mro__:
        enc = _ENCODERS.get(base)
        if enc is not None:
            if base is TypedInt:
                raise DataValueError(f"{type(value).__name__} is a TypedInt without a tag")
            return enc
    raise DataValueError(f"{type(value).__name__} value {value!r} has no A-XDR encoding")


def encode_into(out: bytearray, value: EncodableValue) -> None:
    """Append the encoding of ``value`` to ``out`` (nothing is appended when it fails)."""
    start = len(out)
    try:
        enc = _ENCODERS.get(type(value)) or _encoder_for(value)
        enc(out, value, 0)
    except BaseException:
        del out[start:]
        raise


def encode(value: EncodableValue) -> bytes:
    """The A-XDR bytes of ``value``."""
    out = bytearray()
    enc = _ENCODERS.get(type(value)) or _encoder_for(value)
    enc(out, value, 0)
    return bytes(out)
