"""xDLMS InitiateRequest / InitiateResponse and the conformance block they negotiate.

They travel inside the user-information of AARQ and AARE (possibly ciphered as
glo-/ded-initiate, which :mod:`meterlink.dlms.security` unwraps first).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final

from meterlink.errors import LocalProtocolError

from ._common import U16, Reader, check_bytes, check_range, octet_string, start

__all__ = ["Conformance", "InitiateRequest", "InitiateResponse"]

_CONFORMANCE_HEAD: Final = b"\x5f\x1f\x04"


class Conformance(enum.IntFlag):
    """The 24-bit conformance block; bit 0 of the standard is the MSB of the first byte.

    So the standard's bit ``n`` is ``1 << (23 - n)`` here and ``int.from_bytes(b0 b1 b2)`` is
    the flag value: ``00 10 1D`` = BLOCK_TRANSFER_WITH_GET_OR_READ | GET | SET |
    SELECTIVE_ACCESS | ACTION.
    """

    RESERVED_ZERO = 1 << 23
    GENERAL_PROTECTION = 1 << 22
    GENERAL_BLOCK_TRANSFER = 1 << 21
    READ = 1 << 20
    WRITE = 1 << 19
    UNCONFIRMED_WRITE = 1 << 18
    DELTA_VALUE_ENCODING = 1 << 17
    RESERVED_SEVEN = 1 << 16
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << 15
    PRIORITY_MGMT_SUPPORTED = 1 << 14
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << 13
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << 12
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << 11
    BLOCK_TRANSFER_WITH_ACTION = 1 << 10
    MULTIPLE_REFERENCES = 1 << 9
    INFORMATION_REPORT = 1 << 8
    DATA_NOTIFICATION = 1 << 7
    ACCESS = 1 << 6
    PARAMETERIZED_ACCESS = 1 << 5
    GET = 1 << 4
    SET = 1 << 3
    SELECTIVE_ACCESS = 1 << 2
    EVENT_NOTIFICATION = 1 << 1
    ACTION = 1 << 0

    @classmethod
    def from_bit(cls, bit: int) -> Conformance:
        """The flag of the standard's bit number ``bit`` (0-23)."""
        check_range("conformance bit", bit, 0, 23)
        return cls(1 << (23 - bit))

    def to_ber(self) -> bytes:
        """The BER form ``5F 1F 04 00 b0 b1 b2`` (not ``to_bytes``: that is ``int``'s)."""
        return _CONFORMANCE_HEAD + b"\x00" + int(self).to_bytes(3, "big")

    @classmethod
    def from_ber(cls, data: bytes) -> Conformance:
        """Decode exactly the 7 bytes ``5F 1F 04 00 b0 b1 b2``."""
        reader = Reader(bytes(data))
        value = cls.read(reader)
        reader.end("conformance")
        return value

    @classmethod
    def read(cls, reader: Reader) -> Conformance:
        at = reader.pos
        if reader.take(3, "conformance tag") != _CONFORMANCE_HEAD:
            reader.fail("conformance must start 5F 1F 04", at)
        reader.u8("conformance unused-bits count")  # always 0 for 24 bits; ignored, like every peer
        return cls(int.from_bytes(reader.take(3, "conformance bits"), "big"))


DEFAULT_CONFORMANCE: Final = (
    Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.GET
    | Conformance.SET
    | Conformance.SELECTIVE_ACCESS
    | Conformance.EVENT_NOTIFICATION
    | Conformance.ACTION
    | Conformance.PRIORITY_MGMT_SUPPORTED
    | Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET
)
"""``00 7E 1F``, the Green Book example proposal."""


def _optional_u8(reader: Reader, what: str) -> int | None:
    at = reader.pos
    flag = reader.u8(f"{what} flag")
    if flag == 0:
        return None
    if flag != 1:
        reader.fail(f"{what} flag must be 0 or 1, got {flag}", at)
    return reader.u8(what)


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """xDLMS-Initiate.request, the user-information of an AARQ.

    ``response_allowed`` is DEFAULT TRUE: normally encoded as ``00``. Some clients send it
    explicitly (``01 FF``, Enerdis Saphir ``01 01``); ``response_allowed_byte`` keeps that byte
    so the request re-encodes unchanged (None = the DEFAULT form, or ``01 00`` for FALSE).
    """

    TAG: ClassVar[int] = 0x01

    proposed_conformance: Conformance = DEFAULT_CONFORMANCE
    client_max_receive_pdu_size: int = 0xFFFF
    proposed_dlms_version: int = 6
    dedicated_key: bytes | None = None
    response_allowed: bool = True
    response_allowed_byte: int | None = None
    proposed_quality_of_service: int | None = None

    def __post_init__(self) -> None:
        check_range("client max receive pdu size", self.client_max_receive_pdu_size, 0, 0xFFFF)
        check_range("dlms version", self.proposed_dlms_version, 0, 0xFF)
        check_range("conformance", self.proposed_conformance, 0, 0xFFFFFF)
        if self.dedicated_key is not None:
            check_bytes("dedicated key", self.dedicated_key)
        if self.proposed_quality_of_service is not None:
            check_range("quality of service", self.proposed_quality_of_service, 0, 0xFF)
        if self.response_allowed_byte is not None:
            check_range("response-allowed byte", self.response_allowed_byte, 0, 0xFF)
            if bool(self.response_allowed_byte) != self.response_allowed:
                raise LocalProtocolError("response_allowed_byte contradicts response_allowed")

    def to_bytes(self) -> bytes:
        key = b"\x00" if self.dedicated_key is None else b"\x01" + octet_string(self.dedicated_key)
        if self.response_allowed_byte is not None:
            allowed = bytes((1, self.response_allowed_byte))
        else:
            allowed = b"\x00" if self.response_allowed else b"\x01\x00"
        qos = (
            b"\x00"
            if self.proposed_quality_of_service is None
            else bytes((1, self.proposed_quality_of_service))
        )
        return (
            b"\x01"
            + key
            + allowed
            + qos
            + bytes((self.proposed_dlms_version,))
            + self.proposed_conformance.to_ber()
            + U16.pack(self.client_max_receive_pdu_size)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> InitiateRequest:
        reader = start(data, 0x01, None, "initiate-request")
        at = reader.pos
        flag = reader.u8("dedicated-key flag")
        key = None
        if flag == 1:
            key = reader.octet_string("dedicated key")
        elif flag != 0:
            reader.fail(f"dedicated-key flag must be 0 or 1, got {flag}", at)
        explicit = _optional_u8(reader, "response-allowed")
        qos = _optional_u8(reader, "proposed-quality-of-service")
        version = reader.u8("dlms version")
        conformance = Conformance.read(reader)
        size = reader.u16("client-max-receive-pdu-size")
        reader.end("initiate-request")
        allowed = True if explicit is None else bool(explicit)
        byte = None if explicit is None or (explicit == 0) else explicit
        return cls(conformance, size, version, key, allowed, byte, qos)


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    """xDLMS-Initiate.response, the user-information of an accepting AARE.

    ``vaa_name`` is 0x0007 for logical-name associations and 0xFA00 (the base name) for SN.
    """

    TAG: ClassVar[int] = 0x08

    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    negotiated_dlms_version: int = 6
    vaa_name: int = 0x0007
    negotiated_quality_of_service: int | None = None

    def __post_init__(self) -> None:
        check_range("server max receive pdu size", self.server_max_receive_pdu_size, 0, 0xFFFF)
        check_range("dlms version", self.negotiated_dlms_version, 0, 0xFF)
        check_range("conformance", self.negotiated_conformance, 0, 0xFFFFFF)
        check_range("vaa name", self.vaa_name, 0, 0xFFFF)
        if self.negotiated_quality_of_service is not None:
            check_range("quality of service", self.negotiated_quality_of_service, 0, 0xFF)

    def to_bytes(self) -> bytes:
        qos = (
            b"\x00"
            if self.negotiated_quality_of_service is None
            else bytes((1, self.negotiated_quality_of_service))
        )
        return (
            b"\x08"
            + qos
            + bytes((self.negotiated_dlms_version,))
            + self.negotiated_conformance.to_ber()
            + U16.pack(self.server_max_receive_pdu_size)
            + U16.pack(self.vaa_name)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> InitiateResponse:
        reader = start(data, 0x08, None, "initiate-response")
        qos = _optional_u8(reader, "negotiated-quality-of-service")
        version = reader.u8("dlms version")
        conformance = Conformance.read(reader)
        size = reader.u16("server-max-receive-pdu-size")
        vaa = reader.u16("vaa-name")
        reader.end("initiate-response")
        return cls(conformance, size, version, vaa, qos)
