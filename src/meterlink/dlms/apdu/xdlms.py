"""The building blocks every xDLMS service shares, and the two error APDUs.

Invoke-id bytes, attribute and method descriptors, selective access and the "raw data block"
fields of the block-transfer services live here; the services themselves are in
:mod:`.get`, :mod:`.set`, :mod:`.action`, :mod:`.notification` and :mod:`.gbt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Self

from meterlink.dlms import axdr
from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis

from ._common import (
    U32,
    Reader,
    check_bytes,
    check_range,
    octet_string,
    pack_descriptor,
    read_descriptor,
    start,
)
from .enums import (
    ConfirmedService,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorKind,
    service_error_reason_name,
)

__all__ = [
    "AttributeWithSelection",
    "ConfirmedServiceError",
    "CosemAttributeDescriptor",
    "CosemMethodDescriptor",
    "ExceptionResponse",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "SelectiveAccess",
]


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    """The one-byte Invoke-Id-And-Priority, kept exactly as sent.

    Bits 0-3 invoke id, bit 6 service class (1 = confirmed), bit 7 priority (1 = high); the
    reserved bits 4-5 are kept too, so any byte a meter sends goes back unchanged. The default
    ``0xC1`` is what current clients send (older Gurux sends ``0x81``, also answered).
    """

    value: int = 0xC1

    def __post_init__(self) -> None:
        check_range("invoke-id-and-priority", self.value, 0, 0xFF)

    @classmethod
    def make(
        cls, invoke_id: int = 1, *, confirmed: bool = True, high_priority: bool = True
    ) -> InvokeIdAndPriority:
        check_range("invoke id", invoke_id, 0, 15)
        return _IIP[invoke_id | (0x40 if confirmed else 0) | (0x80 if high_priority else 0)]

    @classmethod
    def from_byte(cls, value: int) -> InvokeIdAndPriority:
        """Cached instance for a byte from the wire."""
        return _IIP[value]

    @property
    def invoke_id(self) -> int:
        return self.value & 0x0F

    @property
    def confirmed(self) -> bool:
        return bool(self.value & 0x40)

    @property
    def high_priority(self) -> bool:
        return bool(self.value & 0x80)

    def next(self) -> InvokeIdAndPriority:
        """Same flags, invoke id + 1 modulo 16: what a client uses for its next request."""
        return _IIP[(self.value & 0xF0) | ((self.value + 1) & 0x0F)]

    def to_bytes(self) -> bytes:
        return _BYTE[self.value]


_IIP: Final = [InvokeIdAndPriority(value) for value in range(256)]
_BYTE: Final = [bytes((value,)) for value in range(256)]


@dataclass(frozen=True, slots=True)
class LongInvokeIdAndPriority:
    """The four-byte Long-Invoke-Id-And-Priority of data-notification (and ACCESS), kept exactly.

    Bits 0-23 invoke id, bit 28 self-descriptive, bit 29 processing option (break on error),
    bit 30 service class (confirmed), bit 31 priority (high).
    """

    value: int = 0

    def __post_init__(self) -> None:
        check_range("long-invoke-id-and-priority", self.value, 0, 0xFFFFFFFF)

    @classmethod
    def make(
        cls,
        invoke_id: int = 0,
        *,
        self_descriptive: bool = False,
        break_on_error: bool = False,
        confirmed: bool = False,
        high_priority: bool = False,
    ) -> LongInvokeIdAndPriority:
        check_range("long invoke id", invoke_id, 0, 0xFFFFFF)
        flags = (self_descriptive << 28) | (break_on_error << 29) | (confirmed << 30) | (high_priority << 31)
        return cls(invoke_id | flags)

    @property
    def invoke_id(self) -> int:
        return self.value & 0xFFFFFF

    @property
    def self_descriptive(self) -> bool:
        return bool(self.value & (1 << 28))

    @property
    def break_on_error(self) -> bool:
        return bool(self.value & (1 << 29))

    @property
    def confirmed(self) -> bool:
        return bool(self.value & (1 << 30))

    @property
    def high_priority(self) -> bool:
        return bool(self.value & (1 << 31))

    def to_bytes(self) -> bytes:
        return U32.pack(self.value)


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptor:
    """class-id, logical name, attribute id (Integer8: negative ids are manufacturer specific)."""

    class_id: int
    instance: Obis
    attribute_id: int

    def __post_init__(self) -> None:
        check_range("class id", self.class_id, 0, 0xFFFF)
        check_range("attribute id", self.attribute_id, -128, 127)
        if not isinstance(self.instance, Obis):
            raise LocalProtocolError(f"instance must be an Obis, got {type(self.instance).__name__}")

    def to_bytes(self) -> bytes:
        return pack_descriptor(self.class_id, self.instance, self.attribute_id)

    @classmethod
    def read(cls, reader: Reader) -> CosemAttributeDescriptor:
        return cls(*read_descriptor(reader, "cosem-attribute-descriptor"))


@dataclass(frozen=True, slots=True)
class CosemMethodDescriptor:
    """class-id, logical name, method id (Integer8)."""

    class_id: int
    instance: Obis
    method_id: int

    def __post_init__(self) -> None:
        check_range("class id", self.class_id, 0, 0xFFFF)
        check_range("method id", self.method_id, -128, 127)
        if not isinstance(self.instance, Obis):
            raise LocalProtocolError(f"instance must be an Obis, got {type(self.instance).__name__}")

    def to_bytes(self) -> bytes:
        return pack_descriptor(self.class_id, self.instance, self.method_id)

    @classmethod
    def read(cls, reader: Reader) -> CosemMethodDescriptor:
        return cls(*read_descriptor(reader, "cosem-method-descriptor"))


@dataclass(frozen=True, slots=True)
class SelectiveAccess:
    """Selective-Access-Descriptor: selector (1 range, 2 entry, ...) and its raw A-XDR parameters."""

    selector: int
    parameters: bytes

    def __post_init__(self) -> None:
        check_range("access selector", self.selector, 0, 0xFF)
        check_bytes("access parameters", self.parameters)

    @property
    def value(self) -> axdr.DataValue:
        """The parameters decoded by :func:`meterlink.dlms.axdr.decode`."""
        return axdr.decode(self.parameters)

    def to_bytes(self) -> bytes:
        """The descriptor itself, without the OPTIONAL flag in front."""
        return _BYTE[self.selector] + self.parameters


def encode_access(access: SelectiveAccess | None) -> bytes:
    return b"\x00" if access is None else b"\x01" + _BYTE[access.selector] + access.parameters


def read_access(reader: Reader) -> SelectiveAccess | None:
    flag_at = reader.pos
    flag = reader.u8("access-selection flag")
    if flag == 0:
        return None
    if flag != 1:
        reader.fail(f"access-selection flag must be 0 or 1, got {flag}", flag_at)
    selector = reader.u8("access selector")
    return SelectiveAccess(selector, reader.data_value("access parameters"))


@dataclass(frozen=True, slots=True)
class AttributeWithSelection:
    """One item of a with-list GET or SET: descriptor and optional selective access."""

    attribute: CosemAttributeDescriptor
    access: SelectiveAccess | None = None

    def to_bytes(self) -> bytes:
        return self.attribute.to_bytes() + encode_access(self.access)

    @classmethod
    def read(cls, reader: Reader) -> AttributeWithSelection:
        attribute = CosemAttributeDescriptor.read(reader)
        return cls(attribute, read_access(reader))


def check_block(last_block: bool, block_number: int, raw_data: bytes) -> None:
    if not isinstance(last_block, bool):
        raise LocalProtocolError(f"last_block must be a bool, got {type(last_block).__name__}")
    check_range("block number", block_number, 0, 0xFFFFFFFF)
    check_bytes("raw data", raw_data)


def encode_block(last_block: bool, block_number: int, raw_data: bytes) -> bytes:
    """DataBlock-SA: last-block BOOLEAN, block-number Unsigned32, raw-data OCTET STRING."""
    return (b"\x01" if last_block else b"\x00") + U32.pack(block_number) + octet_string(raw_data)


def read_block(reader: Reader) -> tuple[bool, int, bytes]:
    last = reader.boolean("last-block")
    number = reader.u32("block-number")
    return last, number, reader.octet_string("raw-data")


def read_invoke_id(reader: Reader) -> InvokeIdAndPriority:
    return InvokeIdAndPriority.from_byte(reader.u8("invoke-id-and-priority"))


@dataclass(frozen=True, slots=True)
class BlockNumberApdu:
    """``TAG CHOICE iip block-number``: the shape of every "next block" request and acknowledgement
    (get-request-next, action-request-next-pblock, set-response-datablock,
    action-response-next-pblock). Subclasses name their TAG, CHOICE and NAME."""

    TAG: ClassVar[int]
    CHOICE: ClassVar[int]
    NAME: ClassVar[str]

    invoke_id: InvokeIdAndPriority
    block_number: int

    def __post_init__(self) -> None:
        check_range("block number", self.block_number, 0, 0xFFFFFFFF)

    def to_bytes(self) -> bytes:
        return bytes((self.TAG, self.CHOICE)) + self.invoke_id.to_bytes() + U32.pack(self.block_number)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = start(data, cls.TAG, cls.CHOICE, cls.NAME)
        iip = read_invoke_id(reader)
        number = reader.u32("block-number")
        reader.end(cls.NAME)
        return cls(iip, number)


@dataclass(frozen=True, slots=True)
class DataBlockApdu:
    """``TAG CHOICE iip DataBlock-SA``: the shape of every block that follows the first
    (set-request-with-datablock, action-request-with-pblock, action-response-with-pblock)."""

    TAG: ClassVar[int]
    CHOICE: ClassVar[int]
    NAME: ClassVar[str]

    invoke_id: InvokeIdAndPriority
    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_block(self.last_block, self.block_number, self.raw_data)

    def to_bytes(self) -> bytes:
        return (
            bytes((self.TAG, self.CHOICE))
            + self.invoke_id.to_bytes()
            + encode_block(self.last_block, self.block_number, self.raw_data)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = start(data, cls.TAG, cls.CHOICE, cls.NAME)
        iip = read_invoke_id(reader)
        last, number, raw = read_block(reader)
        reader.end(cls.NAME)
        return cls(iip, last, number, raw)


# -- the two error APDUs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    """``D8 state-error service-error [expected invocation counter]``.

    Meters may send it unciphered inside a ciphered association (u9n #33), so it is always
    decodable here. ``invocation_counter`` is present exactly for INVOCATION_COUNTER_ERROR.
    """

    TAG: ClassVar[int] = 0xD8

    state_error: ExceptionStateError
    service_error: ExceptionServiceError
    invocation_counter: int | None = None

    def __post_init__(self) -> None:
        check_range("state error", self.state_error, 0, 0xFF)
        check_range("service error", self.service_error, 0, 0xFF)
        needs = self.service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR
        if needs != (self.invocation_counter is not None):
            raise LocalProtocolError("invocation_counter goes with INVOCATION_COUNTER_ERROR and only with it")
        if self.invocation_counter is not None:
            check_range("invocation counter", self.invocation_counter, 0, 0xFFFFFFFF)

    def to_bytes(self) -> bytes:
        head = bytes((0xD8, self.state_error, self.service_error))
        return head if self.invocation_counter is None else head + U32.pack(self.invocation_counter)

    @classmethod
    def from_bytes(cls, data: bytes) -> ExceptionResponse:
        reader = start(data, 0xD8, None, "exception-response")
        state = ExceptionStateError(reader.u8("state-error"))
        service = ExceptionServiceError(reader.u8("service-error"))
        counter = None
        if service == ExceptionServiceError.INVOCATION_COUNTER_ERROR:
            counter = reader.u32("expected invocation counter")
        reader.end("exception-response")
        return cls(state, service, counter)


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """``0E service kind reason``: e.g. ``0E 01 06 01`` = initiate refused, DLMS version too low.

    ``reason`` is the plain number because its meaning depends on ``kind``;
    :attr:`reason_name` gives the standard's wording.
    """

    TAG: ClassVar[int] = 0x0E

    service: ConfirmedService
    kind: ServiceErrorKind
    reason: int

    def __post_init__(self) -> None:
        check_range("service", self.service, 0, 0xFF)
        check_range("service error kind", self.kind, 0, 0xFF)
        check_range("service error reason", self.reason, 0, 0xFF)

    @property
    def reason_name(self) -> str:
        return service_error_reason_name(self.kind, self.reason)

    def __str__(self) -> str:
        return f"{self.service.name.lower()}: {self.kind.name.lower()} {self.reason_name}"

    def to_bytes(self) -> bytes:
        return bytes((0x0E, self.service, self.kind, self.reason))

    @classmethod
    def from_bytes(cls, data: bytes) -> ConfirmedServiceError:
        reader = start(data, 0x0E, None, "confirmed-service-error")
        service = ConfirmedService(reader.u8("service"))
        kind = ServiceErrorKind(reader.u8("service error kind"))
        reason = reader.u8("service error reason")
        reader.end("confirmed-service-error")
        return cls(service, kind, reason)
