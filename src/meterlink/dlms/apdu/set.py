"""SET service: set-request (0xC1) and set-response (0xC5), every CHOICE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from meterlink.dlms import axdr

from ._common import U32, Reader, check_bytes, check_range, decode_choice, encode_count, start
from .enums import DataAccessResult
from .xdlms import (
    AttributeWithSelection,
    BlockNumberApdu,
    CosemAttributeDescriptor,
    DataBlockApdu,
    InvokeIdAndPriority,
    SelectiveAccess,
    check_block,
    encode_access,
    encode_block,
    read_access,
    read_block,
    read_invoke_id,
)

__all__ = [
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
    "decode_set_request",
    "decode_set_response",
]



def _read_items(reader: Reader) -> tuple[AttributeWithSelection, ...]:
    count = reader.count("attribute-descriptor-list", 10)
    return tuple(AttributeWithSelection.read(reader) for _ in range(count))


def _read_results(reader: Reader) -> tuple[DataAccessResult, ...]:
    count = reader.count("data-access-result list", 1)
    return tuple(DataAccessResult(value) for value in reader.take(count, "data-access-result list"))


def _check_results(results: tuple[DataAccessResult, ...]) -> None:
    for result in results:
        check_range("data-access-result", result, 0, 0xFF)


@dataclass(frozen=True, slots=True)
class SetRequestNormal:
    """``C1 01 iip descriptor access <Data>``."""

    TAG: ClassVar[int] = 0xC1
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    data: bytes
    access: SelectiveAccess | None = None

    def __post_init__(self) -> None:
        check_bytes("set data", self.data)

    @property
    def value(self) -> axdr.DataValue:
        return axdr.decode(self.data)

    def to_bytes(self) -> bytes:
        return (
            b"\xc1\x01"
            + self.invoke_id.to_bytes()
            + self.attribute.to_bytes()
            + encode_access(self.access)
            + self.data
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SetRequestNormal:
        reader = start(data, 0xC1, 1, "set-request-normal")
        iip = read_invoke_id(reader)
        attribute = CosemAttributeDescriptor.read(reader)
        access = read_access(reader)
        value = reader.data_value("set data")
        reader.end("set-request-normal")
        return cls(iip, attribute, value, access)


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock:
    """``C1 02 iip descriptor access DataBlock-SA``: the first slice of a Data too long for one APDU."""

    TAG: ClassVar[int] = 0xC1
    CHOICE: ClassVar[int] = 2

    invoke_id: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    last_block: bool
    block_number: int
    raw_data: bytes
    access: SelectiveAccess | None = None

    def __post_init__(self) -> None:
        check_block(self.last_block, self.block_number, self.raw_data)

    def to_bytes(self) -> bytes:
        return (
            b"\xc1\x02"
            + self.invoke_id.to_bytes()
            + self.attribute.to_bytes()
            + encode_access(self.access)
            + encode_block(self.last_block, self.block_number, self.raw_data)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SetRequestWithFirstDatablock:
        reader = start(data, 0xC1, 2, "set-request-with-first-datablock")
        iip = read_invoke_id(reader)
        attribute = CosemAttributeDescriptor.read(reader)
        access = read_access(reader)
        last, number, raw = read_block(reader)
        reader.end("set-request-with-first-datablock")
        return cls(iip, attribute, last, number, raw, access)


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock(DataBlockApdu):
    """``C1 03 iip DataBlock-SA``: a following slice."""

    TAG: ClassVar[int] = 0xC1
    CHOICE: ClassVar[int] = 3
    NAME: ClassVar[str] = "set-request-with-datablock"


@dataclass(frozen=True, slots=True)
class SetRequestWithList:
    """``C1 04 iip count {descriptor access}* count {Data}*``; as many values as descriptors."""

    TAG: ClassVar[int] = 0xC1
    CHOICE: ClassVar[int] = 4

    invoke_id: InvokeIdAndPriority
    items: tuple[AttributeWithSelection, ...]
    values: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for value in self.values:
            check_bytes("set data", value)

    def to_bytes(self) -> bytes:
        return (
            b"\xc1\x04"
            + self.invoke_id.to_bytes()
            + encode_count(len(self.items))
            + b"".join(item.to_bytes() for item in self.items)
            + encode_count(len(self.values))
            + b"".join(self.values)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SetRequestWithList:
        reader = start(data, 0xC1, 4, "set-request-with-list")
        iip = read_invoke_id(reader)
        items = _read_items(reader)
        at = reader.pos
        count = reader.count("value list", 1)
        if count != len(items):
            reader.fail(f"{count} values for {len(items)} attributes", at)
        values = tuple(reader.data_value(f"set data {index}") for index in range(count))
        reader.end("set-request-with-list")
        return cls(iip, items, values)


@dataclass(frozen=True, slots=True)
class SetRequestWithListAndFirstDatablock:
    """``C1 05 iip count {descriptor access}* DataBlock-SA``."""

    TAG: ClassVar[int] = 0xC1
    CHOICE: ClassVar[int] = 5

    invoke_id: InvokeIdAndPriority
    items: tuple[AttributeWithSelection, ...]
    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_block(self.last_block, self.block_number, self.raw_data)

    def to_bytes(self) -> bytes:
        return (
            b"\xc1\x05"
            + self.invoke_id.to_bytes()
            + encode_count(len(self.items))
            + b"".join(item.to_bytes() for item in self.items)
            + encode_block(self.last_block, self.block_number, self.raw_data)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SetRequestWithListAndFirstDatablock:
        reader = start(data, 0xC1, 5, "set-request-with-list-and-first-datablock")
        iip = read_invoke_id(reader)
        items = _read_items(reader)
        last, number, raw = read_block(reader)
        reader.end("set-request-with-list-and-first-datablock")
        return cls(iip, items, last, number, raw)


@dataclass(frozen=True, slots=True)
class SetResponseNormal:
    """``C5 01 iip result``."""

    TAG: ClassVar[int] = 0xC5
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    result: DataAccessResult

    def __post_init__(self) -> None:
        check_range("data-access-result", self.result, 0, 0xFF)

    def to_bytes(self) -> bytes:
        return b"\xc5\x01" + self.invoke_id.to_bytes() + bytes((self.result,))

    @classmethod
    def from_bytes(cls, data: bytes) -> SetResponseNormal:
        reader = start(data, 0xC5, 1, "set-response-normal")
        iip = read_invoke_id(reader)
        result = DataAccessResult(reader.u8("data-access-result"))
        reader.end("set-response-normal")
        return cls(iip, result)


@dataclass(frozen=True, slots=True)
class SetResponseDatablock(BlockNumberApdu):
    """``C5 02 iip block-number``: block received, send the next."""

    TAG: ClassVar[int] = 0xC5
    CHOICE: ClassVar[int] = 2
    NAME: ClassVar[str] = "set-response-datablock"


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock:
    """``C5 03 iip result block-number``."""

    TAG: ClassVar[int] = 0xC5
    CHOICE: ClassVar[int] = 3

    invoke_id: InvokeIdAndPriority
    result: DataAccessResult
    block_number: int

    def __post_init__(self) -> None:
        check_range("data-access-result", self.result, 0, 0xFF)
        check_range("block number", self.block_number, 0, 0xFFFFFFFF)

    def to_bytes(self) -> bytes:
        return b"\xc5\x03" + self.invoke_id.to_bytes() + bytes((self.result,)) + U32.pack(self.block_number)

    @classmethod
    def from_bytes(cls, data: bytes) -> SetResponseLastDatablock:
        reader = start(data, 0xC5, 3, "set-response-last-datablock")
        iip = read_invoke_id(reader)
        result = DataAccessResult(reader.u8("data-access-result"))
        number = reader.u32("block-number")
        reader.end("set-response-last-datablock")
        return cls(iip, result, number)


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablockWithList:
    """``C5 04 iip count {result}* block-number``."""

    TAG: ClassVar[int] = 0xC5
    CHOICE: ClassVar[int] = 4

    invoke_id: InvokeIdAndPriority
    results: tuple[DataAccessResult, ...]
    block_number: int

    def __post_init__(self) -> None:
        _check_results(self.results)
        check_range("block number", self.block_number, 0, 0xFFFFFFFF)

    def to_bytes(self) -> bytes:
        return (
            b"\xc5\x04"
            + self.invoke_id.to_bytes()
            + encode_count(len(self.results))
            + bytes(self.results)
            + U32.pack(self.block_number)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SetResponseLastDatablockWithList:
        reader = start(data, 0xC5, 4, "set-response-last-datablock-with-list")
        iip = read_invoke_id(reader)
        results = _read_results(reader)
        number = reader.u32("block-number")
        reader.end("set-response-last-datablock-with-list")
        return cls(iip, results, number)


@dataclass(frozen=True, slots=True)
class SetResponseWithList:
    """``C5 05 iip count {result}*``."""

    TAG: ClassVar[int] = 0xC5
    CHOICE: ClassVar[int] = 5

    invoke_id: InvokeIdAndPriority
    results: tuple[DataAccessResult, ...]

    def __post_init__(self) -> None:
        _check_results(self.results)

    def to_bytes(self) -> bytes:
        return b"\xc5\x05" + self.invoke_id.to_bytes() + encode_count(len(self.results)) + bytes(self.results)

    @classmethod
    def from_bytes(cls, data: bytes) -> SetResponseWithList:
        reader = start(data, 0xC5, 5, "set-response-with-list")
        iip = read_invoke_id(reader)
        results = _read_results(reader)
        reader.end("set-response-with-list")
        return cls(iip, results)


SetRequest = (
    SetRequestNormal
    | SetRequestWithFirstDatablock
    | SetRequestWithDatablock
    | SetRequestWithList
    | SetRequestWithListAndFirstDatablock
)
SetResponse = (
    SetResponseNormal
    | SetResponseDatablock
    | SetResponseLastDatablock
    | SetResponseLastDatablockWithList
    | SetResponseWithList
)

_REQUESTS: Final[dict[int, type]] = {
    1: SetRequestNormal,
    2: SetRequestWithFirstDatablock,
    3: SetRequestWithDatablock,
    4: SetRequestWithList,
    5: SetRequestWithListAndFirstDatablock,
}
_RESPONSES: Final[dict[int, type]] = {
    1: SetResponseNormal,
    2: SetResponseDatablock,
    3: SetResponseLastDatablock,
    4: SetResponseLastDatablockWithList,
    5: SetResponseWithList,
}


def decode_set_request(data: bytes) -> SetRequest:
    return decode_choice(data, _REQUESTS, "set-request")  # type: ignore[return-value]


def decode_set_response(data: bytes) -> SetResponse:
    return decode_choice(data, _RESPONSES, "set-response")  # type: ignore[return-value]
