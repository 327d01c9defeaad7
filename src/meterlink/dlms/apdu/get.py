"""GET service: get-request (0xC0) and get-response (0xC4), every CHOICE.

Data stays raw A-XDR (``bytes``): the COSEM layer chooses the decoder, and block transfer
concatenates ``raw_data`` blocks into one Data before anything is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from meterlink.dlms import axdr
from meterlink.errors import LocalProtocolError

from ._common import U32, Reader, check_bytes, check_range, decode_choice, encode_count, octet_string, start
from .enums import DataAccessResult
from .xdlms import (
    AttributeWithSelection,
    BlockNumberApdu,
    CosemAttributeDescriptor,
    InvokeIdAndPriority,
    SelectiveAccess,
    encode_access,
    read_access,
    read_invoke_id,
)

__all__ = [
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "decode_get_request",
    "decode_get_response",
]


def _exactly_one(data: bytes | None, result: DataAccessResult | None, what: str) -> None:
    if (data is None) == (result is None):
        raise LocalProtocolError(f"{what} carries either data or a data-access-result, exactly one")
    if data is not None:
        check_bytes(what, data)
    if result is not None:
        check_range("data-access-result", result, 0, 0xFF)


def read_get_data_result(reader: Reader, what: str) -> bytes | DataAccessResult:
    """Get-Data-Result: ``00 <Data>`` or ``01 <Data-Access-Result>``."""
    at = reader.pos
    choice = reader.u8(f"{what} choice")
    if choice == 0:
        return reader.data_value(what)
    if choice == 1:
        return DataAccessResult(reader.u8("data-access-result"))
    reader.fail(f"{what} choice must be 0 (data) or 1 (data-access-result), got {choice}", at)


def encode_get_data_result(result: bytes | DataAccessResult) -> bytes:
    if isinstance(result, bytes):
        return b"\x00" + result
    return bytes((1, result))


@dataclass(frozen=True, slots=True)
class GetRequestNormal:
    """``C0 01 iip descriptor access``."""

    TAG: ClassVar[int] = 0xC0
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    attribute: CosemAttributeDescriptor
    access: SelectiveAccess | None = None

    def to_bytes(self) -> bytes:
        return (
            b"\xc0\x01" + self.invoke_id.to_bytes() + self.attribute.to_bytes() + encode_access(self.access)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> GetRequestNormal:
        reader = start(data, 0xC0, 1, "get-request-normal")
        iip = read_invoke_id(reader)
        attribute = CosemAttributeDescriptor.read(reader)
        access = read_access(reader)
        reader.end("get-request-normal")
        return cls(iip, attribute, access)


@dataclass(frozen=True, slots=True)
class GetRequestNext(BlockNumberApdu):
    """``C0 02 iip block-number``: acknowledges block ``block_number`` and asks for the next."""

    TAG: ClassVar[int] = 0xC0
    CHOICE: ClassVar[int] = 2
    NAME: ClassVar[str] = "get-request-next"


@dataclass(frozen=True, slots=True)
class GetRequestWithList:
    """``C0 03 iip count {descriptor access}*``."""

    TAG: ClassVar[int] = 0xC0
    CHOICE: ClassVar[int] = 3

    invoke_id: InvokeIdAndPriority
    items: tuple[AttributeWithSelection, ...]

    def to_bytes(self) -> bytes:
        body = b"".join(item.to_bytes() for item in self.items)
        return b"\xc0\x03" + self.invoke_id.to_bytes() + encode_count(len(self.items)) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> GetRequestWithList:
        reader = start(data, 0xC0, 3, "get-request-with-list")
        iip = read_invoke_id(reader)
        count = reader.count("attribute-descriptor-list", 10)
        items = tuple(AttributeWithSelection.read(reader) for _ in range(count))
        reader.end("get-request-with-list")
        return cls(iip, items)


@dataclass(frozen=True, slots=True)
class GetResponseNormal:
    """``C4 01 iip 00 <Data>`` or ``C4 01 iip 01 <Data-Access-Result>``.

    Exactly one of ``data`` (raw A-XDR) and ``result`` is set.
    """

    TAG: ClassVar[int] = 0xC4
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    data: bytes | None = None
    result: DataAccessResult | None = None

    def __post_init__(self) -> None:
        _exactly_one(self.data, self.result, "get-response-normal")

    @property
    def value(self) -> axdr.DataValue:
        """The data decoded by :func:`meterlink.dlms.axdr.decode`; refuses an error result."""
        if self.data is None:
            raise LocalProtocolError(f"get-response carries no data but the result {self.result!r}")
        return axdr.decode(self.data)

    def to_bytes(self) -> bytes:
        head = b"\xc4\x01" + self.invoke_id.to_bytes()
        if self.data is not None:
            return head + b"\x00" + self.data
        return head + bytes((1, self.result or 0))

    @classmethod
    def from_bytes(cls, data: bytes) -> GetResponseNormal:
        reader = start(data, 0xC4, 1, "get-response-normal")
        iip = read_invoke_id(reader)
        result = read_get_data_result(reader, "get-data-result")
        reader.end("get-response-normal")
        if isinstance(result, bytes):
            return cls(iip, result, None)
        return cls(iip, None, result)


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock:
    """``C4 02 iip last-block block-number (00 raw-data | 01 DAR)``.

    ``raw_data`` is one slice of the encoded Data; the slices of all blocks concatenate.
    """

    TAG: ClassVar[int] = 0xC4
    CHOICE: ClassVar[int] = 2

    invoke_id: InvokeIdAndPriority
    last_block: bool
    block_number: int
    raw_data: bytes | None = None
    result: DataAccessResult | None = None

    def __post_init__(self) -> None:
        check_range("block number", self.block_number, 0, 0xFFFFFFFF)
        _exactly_one(self.raw_data, self.result, "get-response-with-datablock")

    def to_bytes(self) -> bytes:
        head = (
            b"\xc4\x02"
            + self.invoke_id.to_bytes()
            + (b"\x01" if self.last_block else b"\x00")
            + U32.pack(self.block_number)
        )
        if self.raw_data is not None:
            return head + b"\x00" + octet_string(self.raw_data)
        return head + bytes((1, self.result or 0))

    @classmethod
    def from_bytes(cls, data: bytes) -> GetResponseWithDatablock:
        reader = start(data, 0xC4, 2, "get-response-with-datablock")
        iip = read_invoke_id(reader)
        last = reader.boolean("last-block")
        number = reader.u32("block-number")
        at = reader.pos
        choice = reader.u8("datablock result choice")
        if choice == 0:
            raw = reader.octet_string("raw-data")
            reader.end("get-response-with-datablock")
            return cls(iip, last, number, raw, None)
        if choice == 1:
            result = DataAccessResult(reader.u8("data-access-result"))
            reader.end("get-response-with-datablock")
            return cls(iip, last, number, None, result)
        reader.fail(
            f"datablock result choice must be 0 (raw-data) or 1 (data-access-result), got {choice}", at
        )


@dataclass(frozen=True, slots=True)
class GetResponseWithList:
    """``C4 03 iip count {00 Data | 01 DAR}*``; each result is raw Data bytes or a DataAccessResult."""

    TAG: ClassVar[int] = 0xC4
    CHOICE: ClassVar[int] = 3

    invoke_id: InvokeIdAndPriority
    results: tuple[bytes | DataAccessResult, ...]

    def to_bytes(self) -> bytes:
        body = b"".join(encode_get_data_result(result) for result in self.results)
        return b"\xc4\x03" + self.invoke_id.to_bytes() + encode_count(len(self.results)) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> GetResponseWithList:
        reader = start(data, 0xC4, 3, "get-response-with-list")
        iip = read_invoke_id(reader)
        count = reader.count("get-data-result list", 2)
        results = tuple(read_get_data_result(reader, f"get-data-result {index}") for index in range(count))
        reader.end("get-response-with-list")
        return cls(iip, results)


GetRequest = GetRequestNormal | GetRequestNext | GetRequestWithList
GetResponse = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList

_REQUESTS: Final[dict[int, type]] = {1: GetRequestNormal, 2: GetRequestNext, 3: GetRequestWithList}
_RESPONSES: Final[dict[int, type]] = {
    1: GetResponseNormal,
    2: GetResponseWithDatablock,
    3: GetResponseWithList,
}


def decode_get_request(data: bytes) -> GetRequest:
    return decode_choice(data, _REQUESTS, "get-request")  # type: ignore[return-value]


def decode_get_response(data: bytes) -> GetResponse:
    return decode_choice(data, _RESPONSES, "get-response")  # type: ignore[return-value]
