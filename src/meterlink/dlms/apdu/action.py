"""ACTION service: action-request (0xC3) and action-response (0xC7), every CHOICE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from meterlink.dlms import axdr
from meterlink.errors import LocalProtocolError

from ._common import Reader, check_bytes, check_range, decode_choice, encode_count, optional_data, start
from .enums import ActionResult, DataAccessResult
from .get import encode_get_data_result, read_get_data_result
from .xdlms import (
    BlockNumberApdu,
    CosemMethodDescriptor,
    DataBlockApdu,
    InvokeIdAndPriority,
    check_block,
    encode_block,
    read_block,
    read_invoke_id,
)

__all__ = [
    "ActionOutcome",
    "ActionRequest",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponse",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithPblock",
    "decode_action_request",
    "decode_action_response",
]



def _read_optional_data(reader: Reader, what: str) -> bytes | None:
    at = reader.pos
    flag = reader.u8(f"{what} flag")
    if flag == 0:
        return None
    if flag != 1:
        reader.fail(f"{what} flag must be 0 or 1, got {flag}", at)
    return reader.data_value(what)


def _read_methods(reader: Reader) -> tuple[CosemMethodDescriptor, ...]:
    count = reader.count("method-descriptor-list", 9)
    return tuple(CosemMethodDescriptor.read(reader) for _ in range(count))


def _encode_methods(methods: tuple[CosemMethodDescriptor, ...]) -> bytes:
    return encode_count(len(methods)) + b"".join(method.to_bytes() for method in methods)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """Action-Response-With-Optional-Data: a result and optionally returned Data or a DAR.

    ``return_data`` (raw A-XDR) and ``return_result`` are both None when nothing is returned;
    at most one is set (HLS pass 4 returns f(CtoS) as an octet-string in ``return_data``).
    """

    result: ActionResult
    return_data: bytes | None = None
    return_result: DataAccessResult | None = None

    def __post_init__(self) -> None:
        check_range("action-result", self.result, 0, 0xFF)
        if self.return_data is not None:
            check_bytes("return data", self.return_data)
            if self.return_result is not None:
                raise LocalProtocolError("an action returns data or a data-access-result, not both")
        if self.return_result is not None:
            check_range("data-access-result", self.return_result, 0, 0xFF)

    @property
    def value(self) -> axdr.DataValue:
        """The returned data decoded by :func:`meterlink.dlms.axdr.decode`."""
        if self.return_data is None:
            raise LocalProtocolError(f"the action returned no data (result {self.result!r})")
        return axdr.decode(self.return_data)

    def to_bytes(self) -> bytes:
        head = bytes((self.result,))
        if self.return_data is not None:
            return head + b"\x01" + encode_get_data_result(self.return_data)
        if self.return_result is not None:
            return head + b"\x01" + encode_get_data_result(self.return_result)
        return head + b"\x00"

    @classmethod
    def read(cls, reader: Reader) -> ActionOutcome:
        result = ActionResult(reader.u8("action-result"))
        at = reader.pos
        flag = reader.u8("return-parameters flag")
        if flag == 0:
            return cls(result)
        if flag != 1:
            reader.fail(f"return-parameters flag must be 0 or 1, got {flag}", at)
        returned = read_get_data_result(reader, "return-parameters")
        if isinstance(returned, bytes):
            return cls(result, returned, None)
        return cls(result, None, returned)


@dataclass(frozen=True, slots=True)
class ActionRequestNormal:
    """``C3 01 iip method-descriptor (00 | 01 <Data>)``."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    method: CosemMethodDescriptor
    parameters: bytes | None = None

    def __post_init__(self) -> None:
        if self.parameters is not None:
            check_bytes("method parameters", self.parameters)

    @property
    def value(self) -> axdr.DataValue:
        return None if self.parameters is None else axdr.decode(self.parameters)

    def to_bytes(self) -> bytes:
        return (
            b"\xc3\x01" + self.invoke_id.to_bytes() + self.method.to_bytes() + optional_data(self.parameters)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionRequestNormal:
        reader = start(data, 0xC3, 1, "action-request-normal")
        iip = read_invoke_id(reader)
        method = CosemMethodDescriptor.read(reader)
        parameters = _read_optional_data(reader, "method-invocation-parameters")
        reader.end("action-request-normal")
        return cls(iip, method, parameters)


@dataclass(frozen=True, slots=True)
class ActionRequestNextPblock(BlockNumberApdu):
    """``C3 02 iip block-number``: the client acknowledges a response block."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 2
    NAME: ClassVar[str] = "action-request-next-pblock"


@dataclass(frozen=True, slots=True)
class ActionRequestWithList:
    """``C3 03 iip count {method}* count {Data}*``."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 3

    invoke_id: InvokeIdAndPriority
    methods: tuple[CosemMethodDescriptor, ...]
    parameters: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for value in self.parameters:
            check_bytes("method parameters", value)

    def to_bytes(self) -> bytes:
        return (
            b"\xc3\x03"
            + self.invoke_id.to_bytes()
            + _encode_methods(self.methods)
            + encode_count(len(self.parameters))
            + b"".join(self.parameters)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionRequestWithList:
        reader = start(data, 0xC3, 3, "action-request-with-list")
        iip = read_invoke_id(reader)
        methods = _read_methods(reader)
        at = reader.pos
        count = reader.count("method-invocation-parameters", 1)
        if count != len(methods):
            reader.fail(f"{count} parameters for {len(methods)} methods", at)
        parameters = tuple(reader.data_value(f"method-invocation-parameters {i}") for i in range(count))
        reader.end("action-request-with-list")
        return cls(iip, methods, parameters)


@dataclass(frozen=True, slots=True)
class ActionRequestWithFirstPblock:
    """``C3 04 iip method DataBlock-SA``: parameters too long for one APDU, first slice."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 4

    invoke_id: InvokeIdAndPriority
    method: CosemMethodDescriptor
    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_block(self.last_block, self.block_number, self.raw_data)

    def to_bytes(self) -> bytes:
        return (
            b"\xc3\x04"
            + self.invoke_id.to_bytes()
            + self.method.to_bytes()
            + encode_block(self.last_block, self.block_number, self.raw_data)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionRequestWithFirstPblock:
        reader = start(data, 0xC3, 4, "action-request-with-first-pblock")
        iip = read_invoke_id(reader)
        method = CosemMethodDescriptor.read(reader)
        last, number, raw = read_block(reader)
        reader.end("action-request-with-first-pblock")
        return cls(iip, method, last, number, raw)


@dataclass(frozen=True, slots=True)
class ActionRequestWithListAndFirstPblock:
    """``C3 05 iip count {method}* DataBlock-SA``."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 5

    invoke_id: InvokeIdAndPriority
    methods: tuple[CosemMethodDescriptor, ...]
    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_block(self.last_block, self.block_number, self.raw_data)

    def to_bytes(self) -> bytes:
        return (
            b"\xc3\x05"
            + self.invoke_id.to_bytes()
            + _encode_methods(self.methods)
            + encode_block(self.last_block, self.block_number, self.raw_data)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionRequestWithListAndFirstPblock:
        reader = start(data, 0xC3, 5, "action-request-with-list-and-first-pblock")
        iip = read_invoke_id(reader)
        methods = _read_methods(reader)
        last, number, raw = read_block(reader)
        reader.end("action-request-with-list-and-first-pblock")
        return cls(iip, methods, last, number, raw)


@dataclass(frozen=True, slots=True)
class ActionRequestWithPblock(DataBlockApdu):
    """``C3 06 iip DataBlock-SA``: a following parameter slice."""

    TAG: ClassVar[int] = 0xC3
    CHOICE: ClassVar[int] = 6
    NAME: ClassVar[str] = "action-request-with-pblock"


@dataclass(frozen=True, slots=True)
class ActionResponseNormal:
    """``C7 01 iip result (00 | 01 (00 <Data> | 01 <DAR>))``."""

    TAG: ClassVar[int] = 0xC7
    CHOICE: ClassVar[int] = 1

    invoke_id: InvokeIdAndPriority
    outcome: ActionOutcome

    @property
    def result(self) -> ActionResult:
        return self.outcome.result

    @property
    def return_data(self) -> bytes | None:
        return self.outcome.return_data

    def to_bytes(self) -> bytes:
        return b"\xc7\x01" + self.invoke_id.to_bytes() + self.outcome.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionResponseNormal:
        reader = start(data, 0xC7, 1, "action-response-normal")
        iip = read_invoke_id(reader)
        outcome = ActionOutcome.read(reader)
        reader.end("action-response-normal")
        return cls(iip, outcome)


@dataclass(frozen=True, slots=True)
class ActionResponseWithPblock(DataBlockApdu):
    """``C7 02 iip DataBlock-SA``: a slice of return parameters too long for one APDU."""

    TAG: ClassVar[int] = 0xC7
    CHOICE: ClassVar[int] = 2
    NAME: ClassVar[str] = "action-response-with-pblock"


@dataclass(frozen=True, slots=True)
class ActionResponseWithList:
    """``C7 03 iip count {outcome}*``."""

    TAG: ClassVar[int] = 0xC7
    CHOICE: ClassVar[int] = 3

    invoke_id: InvokeIdAndPriority
    outcomes: tuple[ActionOutcome, ...]

    def to_bytes(self) -> bytes:
        return (
            b"\xc7\x03"
            + self.invoke_id.to_bytes()
            + encode_count(len(self.outcomes))
            + b"".join(outcome.to_bytes() for outcome in self.outcomes)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionResponseWithList:
        reader = start(data, 0xC7, 3, "action-response-with-list")
        iip = read_invoke_id(reader)
        count = reader.count("action response list", 2)
        outcomes = tuple(ActionOutcome.read(reader) for _ in range(count))
        reader.end("action-response-with-list")
        return cls(iip, outcomes)


@dataclass(frozen=True, slots=True)
class ActionResponseNextPblock(BlockNumberApdu):
    """``C7 04 iip block-number``: the server acknowledges a parameter block."""

    TAG: ClassVar[int] = 0xC7
    CHOICE: ClassVar[int] = 4
    NAME: ClassVar[str] = "action-response-next-pblock"


ActionRequest = (
    ActionRequestNormal
    | ActionRequestNextPblock
    | ActionRequestWithList
    | ActionRequestWithFirstPblock
    | ActionRequestWithListAndFirstPblock
    | ActionRequestWithPblock
)
ActionResponse = (
    ActionResponseNormal | ActionResponseWithPblock | ActionResponseWithList | ActionResponseNextPblock
)

_REQUESTS: Final[dict[int, type]] = {
    1: ActionRequestNormal,
    2: ActionRequestNextPblock,
    3: ActionRequestWithList,
    4: ActionRequestWithFirstPblock,
    5: ActionRequestWithListAndFirstPblock,
    6: ActionRequestWithPblock,
}
_RESPONSES: Final[dict[int, type]] = {
    1: ActionResponseNormal,
    2: ActionResponseWithPblock,
    3: ActionResponseWithList,
    4: ActionResponseNextPblock,
}


def decode_action_request(data: bytes) -> ActionRequest:
    return decode_choice(data, _REQUESTS, "action-request")  # type: ignore[return-value]


def decode_action_response(data: bytes) -> ActionResponse:
    return decode_choice(data, _RESPONSES, "action-response")  # type: ignore[return-value]
