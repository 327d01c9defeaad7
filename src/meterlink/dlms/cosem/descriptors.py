"""Addresses of COSEM attributes and methods: class id, logical name, index.

The 9-byte descriptor (``class uint16 | logical name 6 | index int8``) is what every GET, SET and
ACTION carries; :class:`CaptureObject` adds the ``data_index`` of profile columns and selective
access. Unknown class ids stay ints: a meter with a class newer than our table still works.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeGuard

from meterlink.dlms import axdr
from meterlink.errors import LocalProtocolError, MalformedDataError, ObisError
from meterlink.obis import Obis

__all__ = ["CaptureObject", "ClassId", "CosemAttribute", "CosemMethod", "class_id"]


class ClassId(IntEnum):
    """COSEM interface class ids (IEC 62056-6-2, DLMS UA Blue Book)."""

    DATA = 1
    REGISTER = 3
    EXTENDED_REGISTER = 4
    DEMAND_REGISTER = 5
    REGISTER_ACTIVATION = 6
    PROFILE_GENERIC = 7
    CLOCK = 8
    SCRIPT_TABLE = 9
    SCHEDULE = 10
    SPECIAL_DAYS_TABLE = 11
    ASSOCIATION_SN = 12
    ASSOCIATION_LN = 15
    SAP_ASSIGNMENT = 17
    IMAGE_TRANSFER = 18
    IEC_LOCAL_PORT_SETUP = 19
    ACTIVITY_CALENDAR = 20
    REGISTER_MONITOR = 21
    SINGLE_ACTION_SCHEDULE = 22
    IEC_HDLC_SETUP = 23
    IEC_TWISTED_PAIR_SETUP = 24
    MBUS_SLAVE_PORT_SETUP = 25
    UTILITY_TABLES = 26
    MODEM_CONFIGURATION = 27
    AUTO_ANSWER = 28
    AUTO_CONNECT = 29
    DATA_PROTECTION = 30
    PUSH_SETUP = 40
    TCP_UDP_SETUP = 41
    IPV4_SETUP = 42
    MAC_ADDRESS_SETUP = 43
    PPP_SETUP = 44
    GPRS_MODEM_SETUP = 45
    SMTP_SETUP = 46
    GSM_DIAGNOSTIC = 47
    IPV6_SETUP = 48
    REGISTER_TABLE = 61
    COMPACT_DATA = 62
    STATUS_MAPPING = 63
    SECURITY_SETUP = 64
    PARAMETER_MONITOR = 65
    SENSOR_MANAGER = 67
    ARBITRATOR = 68
    DISCONNECT_CONTROL = 70
    LIMITER = 71
    MBUS_CLIENT = 72
    WIRELESS_MODE_Q_CHANNEL = 73
    MBUS_MASTER_PORT_SETUP = 74
    NTP_SETUP = 100
    ACCOUNT = 111
    CREDIT = 112
    CHARGE = 113
    TOKEN_GATEWAY = 115
    IEC_62055_41_ATTRIBUTES = 116
    FUNCTION_CONTROL = 122
    ARRAY_MANAGER = 123
    COMMUNICATION_PORT_PROTECTION = 124
    LTE_MONITORING = 151


_CLASS_BY_ID: Final[dict[int, ClassId]] = {int(c): c for c in ClassId}


def class_id(value: int) -> ClassId | int:
    """The :class:`ClassId` member for ``value``, or ``value`` itself when the class is unknown."""
    return _CLASS_BY_ID.get(value, value)


_DESCRIPTOR: Final = struct.Struct(">H6sb")
_CAPTURE_BODY: Final = struct.Struct(">BBBH BB6s Bb BH")  # 02 04 12 cccc 09 06 ln 0F aa 12 dddd


def _check_class(value: object) -> ClassId | int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise LocalProtocolError(f"class id must be an int 0..65535, got {value!r}")
    return class_id(int(value))


def _check_obis(value: object) -> Obis:
    if isinstance(value, str):
        try:
            value = Obis.parse(value)
        except ObisError as exc:
            raise LocalProtocolError(str(exc)) from None
    if isinstance(value, bytes | bytearray):
        try:
            value = Obis.from_bytes(value)
        except ObisError as exc:
            raise LocalProtocolError(str(exc)) from None
    if not isinstance(value, Obis) or not value.is_complete:
        raise LocalProtocolError(f"a COSEM logical name needs all six OBIS groups, got {value!r}")
    return value


def _check_index(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -128 <= value <= 127:
        raise LocalProtocolError(f"{name} must be an int8 (-128..127), got {value!r}")
    return int(value)


def _decode_descriptor(data: bytes, offset: int, what: str) -> tuple[int, Obis, int]:
    if offset < 0 or len(data) - offset < 9:
        raise MalformedDataError(f"{what} descriptor needs 9 bytes", data=bytes(data), offset=offset)
    cid, ln, index = _DESCRIPTOR.unpack_from(data, offset)
    return cid, Obis.from_bytes(ln), index


@dataclass(frozen=True, slots=True)
class CosemAttribute:
    """Cosem-Attribute-Descriptor: which attribute of which object.

    ``instance`` also accepts OBIS text or 6 bytes; ``interface`` becomes a :class:`ClassId`
    when known.
    """

    interface: ClassId | int
    instance: Obis
    attribute: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "interface", _check_class(self.interface))
        object.__setattr__(self, "instance", _check_obis(self.instance))
        object.__setattr__(self, "attribute", _check_index("attribute id", self.attribute))

    def to_bytes(self) -> bytes:
        return _DESCRIPTOR.pack(self.interface, self.instance.to_bytes(), self.attribute)

    @classmethod
    def from_bytes(cls, data: bytes) -> CosemAttribute:
        """Exactly 9 bytes."""
        if len(data) != 9:
            raise MalformedDataError(
                f"attribute descriptor is 9 bytes, got {len(data)}", data=bytes(data), offset=0
            )
        return cls.decode_from(data, 0)[0]

    @classmethod
    def decode_from(cls, data: bytes, offset: int = 0) -> tuple[CosemAttribute, int]:
        """Read one descriptor at ``offset``; returns it and the offset after it."""
        cid, ln, index = _decode_descriptor(data, offset, "attribute")
        return cls(cid, ln, index), offset + 9


@dataclass(frozen=True, slots=True)
class CosemMethod:
    """Cosem-Method-Descriptor: which method of which object."""

    interface: ClassId | int
    instance: Obis
    method: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "interface", _check_class(self.interface))
        object.__setattr__(self, "instance", _check_obis(self.instance))
        object.__setattr__(self, "method", _check_index("method id", self.method))

    def to_bytes(self) -> bytes:
        return _DESCRIPTOR.pack(self.interface, self.instance.to_bytes(), self.method)

    @classmethod
    def from_bytes(cls, data: bytes) -> CosemMethod:
        """Exactly 9 bytes."""
        if len(data) != 9:
            raise MalformedDataError(
                f"method descriptor is 9 bytes, got {len(data)}", data=bytes(data), offset=0
            )
        return cls.decode_from(data, 0)[0]

    @classmethod
    def decode_from(cls, data: bytes, offset: int = 0) -> tuple[CosemMethod, int]:
        """Read one descriptor at ``offset``; returns it and the offset after it."""
        cid, ln, index = _decode_descriptor(data, offset, "method")
        return cls(cid, ln, index), offset + 9


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """capture_object_definition: a profile column, a push object, a selective-access restriction.

    ``data_index`` 0 means the whole attribute; n > 0 the n-th element of an array/structure.
    """

    class_id: ClassId | int
    logical_name: Obis
    attribute: int
    data_index: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_id", _check_class(self.class_id))
        object.__setattr__(self, "logical_name", _check_obis(self.logical_name))
        object.__setattr__(self, "attribute", _check_index("attribute index", self.attribute))
        if isinstance(self.data_index, bool) or not isinstance(self.data_index, int):
            raise LocalProtocolError(f"data index must be an int 0..65535, got {self.data_index!r}")
        if not 0 <= self.data_index <= 0xFFFF:
            raise LocalProtocolError(f"data index must be an int 0..65535, got {self.data_index!r}")

    @property
    def attribute_descriptor(self) -> CosemAttribute:
        return CosemAttribute(self.class_id, self.logical_name, self.attribute)

    @classmethod
    def of(cls, attribute: CosemAttribute, data_index: int = 0) -> CaptureObject:
        return cls(attribute.interface, attribute.instance, attribute.attribute, data_index)

    def to_value(self) -> tuple[axdr.DataValue, ...]:
        """The decoded-value form ``(uint16, octet-string, int8, uint16)`` for :func:`axdr.encode`."""
        return (
            axdr.LongUnsigned(self.class_id),
            self.logical_name.to_bytes(),
            axdr.Integer(self.attribute),
            axdr.LongUnsigned(self.data_index),
        )

    def to_bytes(self) -> bytes:
        """A-XDR ``02 04 12 cccc 09 06 <ln> 0F aa 12 dddd`` (18 bytes)."""
        return _CAPTURE_BODY.pack(
            0x02, 0x04, 0x12, self.class_id, 0x09, 0x06, self.logical_name.to_bytes(), 0x0F, self.attribute,
            0x12, self.data_index,
        )  # fmt: skip

    @classmethod
    def from_value(cls, value: object, *, data: bytes = b"", offset: int | None = None) -> CaptureObject:
        """From the decoded structure; ``data``/``offset`` only label the error."""
        if isinstance(value, tuple) and len(value) in (3, 4):
            cid, ln, attr = value[0], value[1], value[2]
            index = value[3] if len(value) == 4 else 0
            if (
                _is_int(cid) and 0 <= cid <= 0xFFFF
                and isinstance(ln, bytes) and len(ln) == 6
                and _is_int(attr) and -128 <= attr <= 127
                and _is_int(index) and 0 <= index <= 0xFFFF
            ):  # fmt: skip
                return cls(int(cid), Obis.from_bytes(ln), int(attr), int(index))
        raise MalformedDataError(
            "capture object must be structure{long-unsigned, octet-string(6), integer, long-unsigned}, "
            f"got {value!r}"[:300],
            data=data,
            offset=offset,
        )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
