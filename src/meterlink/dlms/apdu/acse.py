"""ACSE APDUs (BER): AARQ, AARE, RLRQ, RLRE.

Lengths are definite, short or long form, on both sides (Kamstrup OMNIA sends ``61 82 00 35``).
The outer length form of a decoded APDU is remembered in ``outer_length_octets`` so it
re-encodes byte for byte; inner elements are written in the shortest form. Elements this codec
does not model (called-AP-title, implementation-information, ...) are kept raw in
``other_elements`` and written back in tag order.

``user_information`` is the content of the user-information OCTET STRING: an xDLMS
InitiateRequest/-Response, a ConfirmedServiceError, or their ciphered forms, which the security
layer unwraps before :meth:`AARQ.decode_user_information` can read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Final

from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.errors import LocalProtocolError, MalformedDataError

from ._common import OpenIntEnum, Reader, check_bytes, check_range
from .initiate import InitiateRequest, InitiateResponse
from .xdlms import ConfirmedServiceError

__all__ = [
    "AARE",
    "AARQ",
    "RLRE",
    "RLRQ",
    "AcseServiceProviderDiagnostic",
    "AcseServiceUserDiagnostic",
    "ApplicationContextName",
    "AssociationResult",
    "DiagnosticSource",
    "MechanismName",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
]

_CONTEXT_PREFIX: Final = bytes.fromhex("608574050801")  # 2.16.756.5.8.1 (application contexts)
_MECHANISM_PREFIX: Final = bytes.fromhex("608574050802")  # 2.16.756.5.8.2 (authentication mechanisms)
_FU_AUTHENTICATION: Final = b"\x07\x80"  # BIT STRING, 7 unused bits, bit 0 = authentication


class ApplicationContextName(OpenIntEnum):
    """Last arc of the DLMS application context OID 2.16.756.5.8.1.x."""

    LN = 1
    SN = 2
    LN_CIPHERED = 3
    SN_CIPHERED = 4


class MechanismName(OpenIntEnum):
    """Last arc of the authentication mechanism OID 2.16.756.5.8.2.x."""

    NONE = 0
    LOW = 1
    HIGH = 2
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7


class AssociationResult(OpenIntEnum):
    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class DiagnosticSource(OpenIntEnum):
    """Which CHOICE of result-source-diagnostic the AARE carries."""

    SERVICE_USER = 1
    SERVICE_PROVIDER = 2


class AcseServiceUserDiagnostic(OpenIntEnum):
    """Why the server's ACSE user (the COSEM application) accepted or refused.

    ``AUTHENTICATION_REQUIRED`` on an *accepted* HLS association means "now send
    reply_to_HLS_authentication" (pass 3).
    """

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


class AcseServiceProviderDiagnostic(OpenIntEnum):
    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2


class ReleaseRequestReason(OpenIntEnum):
    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(OpenIntEnum):
    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


# -- BER helpers ----------------------------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + encode_length(len(content)) + content


def _tag_number(element: bytes) -> int:
    """Context tag number of a raw element, for ordering (multi-byte tags read in full)."""
    if not element:
        return 0x7FFFFFFF
    number = element[0] & 0x1F
    if number != 0x1F:
        return number
    number = 0
    for byte in element[1:6]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return number


def _read_tag(reader: Reader) -> int:
    """One BER identifier; multi-byte tags come back as the int of all their bytes."""
    tag = reader.u8("BER tag")
    if tag & 0x1F != 0x1F:
        return tag
    for _ in range(4):
        byte = reader.u8("BER tag continuation")
        tag = (tag << 8) | byte
        if not byte & 0x80:
            return tag
    reader.fail("BER tag longer than 5 bytes")


def _read_tlv(reader: Reader, what: str) -> tuple[int, int, int]:
    """``(tag, content start, content end)``; the reader moves past the element."""
    tag = _read_tag(reader)
    at = reader.pos
    if at < len(reader.data) and reader.data[at] == 0x80:
        reader.fail(f"{what}: indefinite BER length is not allowed in DLMS", at)
    size, content = decode_length(reader.data, at)
    if content + size > len(reader.data):
        reader.fail(f"{what}: length {size} runs past the end ({len(reader.data) - content} bytes left)", at)
    reader.pos = content + size
    return tag, content, content + size


def _inner(reader: Reader, start: int, end: int, tag: int, what: str) -> bytes:
    """Content of the single element ``tag`` that makes up ``data[start:end]``."""
    inner = Reader(reader.data, start)
    found, content, stop = _read_tlv(inner, what)
    if found != tag:
        inner.fail(f"{what}: expected tag {tag:#04x}, got {found:#x}", start)
    if stop != end:
        inner.fail(f"{what}: {end - stop} unexpected bytes after the value", stop)
    return reader.data[content:stop]


def _integer(reader: Reader, content: bytes, at: int, what: str) -> int:
    if not 1 <= len(content) <= 3:
        reader.fail(f"{what}: INTEGER of {len(content)} bytes", at)
    value = int.from_bytes(content, "big", signed=True)
    if not 0 <= value <= 0xFFFF:
        reader.fail(f"{what}: value {value} out of range", at)
    return value


def _encode_integer(value: int) -> bytes:
    """Shortest two's complement (``00 C8`` for 200, ``80`` for -128)."""
    bits = value.bit_length() if value >= 0 else (~value).bit_length()
    return value.to_bytes(bits // 8 + 1, "big", signed=True)


def _oid_name(
    content: bytes, prefix: bytes, enum: type[ApplicationContextName] | type[MechanismName]
) -> ApplicationContextName | MechanismName | bytes:
    if len(content) == 7 and content[:6] == prefix:
        return enum(content[6])
    return content


def _encode_oid(value: int | bytes, prefix: bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return prefix + bytes((value,))


def _outer(tag: int, content: bytes, octets: int) -> bytes:
    if octets and len(content) < 1 << (8 * octets):
        return bytes((tag, 0x80 | octets)) + len(content).to_bytes(octets, "big") + content
    return _tlv(tag, content)


def _open(data: bytes | bytearray | memoryview, tag: int, name: str) -> tuple[Reader, int]:
    """Reader over the content of an ACSE APDU, and how many length octets its header used."""
    if not isinstance(data, bytes):
        data = bytes(data)
    reader = Reader(data)
    if reader.u8(f"{name} tag") != tag:
        reader.fail(f"not an {name}: tag {data[0]:#04x}, expected {tag:#04x}", 0)
    first = data[1] if len(data) > 1 else 0
    _tag, _start, end = _read_tlv(Reader(data), name)
    if end != len(data):
        reader.fail(f"{len(data) - end} unexpected bytes after the {name}", end)
    reader.pos = _start
    return reader, (first & 0x7F if first & 0x80 else 0)


def _elements(reader: Reader, name: str) -> list[tuple[int, int, int, int]]:
    """``(tag, element start, content start, content end)`` of each element, duplicates refused."""
    found: list[tuple[int, int, int, int]] = []
    seen: set[int] = set()
    while reader.pos < len(reader.data):
        at = reader.pos
        tag, content, end = _read_tlv(reader, f"{name} element")
        if tag in seen:
            reader.fail(f"{name}: element {tag:#x} appears twice", at)
        seen.add(tag)
        found.append((tag, at, content, end))
    return found


def _assemble(tag: int, parts: list[bytes], others: tuple[bytes, ...], octets: int) -> bytes:
    ordered = sorted([*parts, *others], key=_tag_number)
    return _outer(tag, b"".join(ordered), octets)


def _check_others(others: tuple[bytes, ...]) -> None:
    for element in others:
        check_bytes("other element", element)


def _check_optional_bytes(name: str, value: bytes | None) -> None:
    if value is not None:
        check_bytes(name, value)


def _check_oid_field(name: str, value: int | bytes | None) -> None:
    if value is None or isinstance(value, bytes):
        return
    check_range(name, value, 0, 0xFF)


_Handler = Callable[[Reader, int, int, dict[str, object]], None]


def _octets_in(tag: int, key: str, what: str) -> _Handler:
    def handle(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
        out[key] = _inner(reader, start, end, tag, what)

    return handle


def _raw(key: str) -> _Handler:
    def handle(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
        out[key] = reader.data[start:end]

    return handle


def _context(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
    content = _inner(reader, start, end, 0x06, "application-context-name")
    out["application_context_name"] = _oid_name(content, _CONTEXT_PREFIX, ApplicationContextName)


def _mechanism(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
    out["mechanism_name"] = _oid_name(reader.data[start:end], _MECHANISM_PREFIX, MechanismName)


def _requirements(key: str) -> _Handler:
    def handle(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
        content = reader.data[start:end]
        if content != _FU_AUTHENTICATION:
            reader.fail(f"ACSE requirements must be 07 80 (authentication), got {content.hex(' ')}", start)
        out[key] = True

    return handle


def _invocation_id(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
    content = _inner(reader, start, end, 0x02, "calling-AE-invocation-identifier")
    if not 1 <= len(content) <= 4:
        reader.fail(f"calling-AE-invocation-identifier of {len(content)} bytes", start)
    out["calling_ae_invocation_id"] = int.from_bytes(content, "big", signed=True)


def _authentication(key: str) -> _Handler:
    def handle(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
        out[key] = _inner(reader, start, end, 0x80, "authentication-value (charstring)")

    return handle


def _parse(reader: Reader, name: str, handlers: dict[int, _Handler]) -> dict[str, object]:
    out: dict[str, object] = {}
    others: list[bytes] = []
    for tag, at, content, end in _elements(reader, name):
        handler = handlers.get(tag)
        if handler is None:
            others.append(reader.data[at:end])
        else:
            handler(reader, content, end, out)
    out["other_elements"] = tuple(others)
    return out


def _decode_user_apdu(data: bytes | None, table: dict[int, Callable[[bytes], object]], name: str) -> object:
    if data is None:
        return None
    if not data:
        raise MalformedDataError(f"{name} user-information is empty", data=data, offset=0)
    decoder = table.get(data[0])
    if decoder is None:
        raise MalformedDataError(
            f"{name} user-information with tag {data[0]:#04x}: ciphered (unprotect it first) or not xDLMS",
            data=data,
            offset=0,
        )
    return decoder(data)


# -- the APDUs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AARQ:
    """A-ASSOCIATE request (``60 L ...``), sent by the client to open an association.

    ``calling_ap_title`` is the client system title (needed for ciphering and HLS 5-7);
    ``calling_authentication_value`` the LLS password or the HLS challenge CtoS.
    """

    TAG: ClassVar[int] = 0x60

    application_context_name: ApplicationContextName | bytes = ApplicationContextName.LN
    user_information: bytes | None = None
    mechanism_name: MechanismName | bytes | None = None
    calling_authentication_value: bytes | None = None
    sender_acse_requirements: bool = False
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ae_invocation_id: int | None = None
    protocol_version: bytes | None = None
    other_elements: tuple[bytes, ...] = ()
    outer_length_octets: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_oid_field("application context name", self.application_context_name)
        _check_oid_field("mechanism name", self.mechanism_name)
        for name in ("user_information", "calling_authentication_value", "calling_ap_title"):
            _check_optional_bytes(name, getattr(self, name))
        _check_optional_bytes("calling_ae_qualifier", self.calling_ae_qualifier)
        _check_optional_bytes("protocol_version", self.protocol_version)
        _check_others(self.other_elements)
        if self.calling_ae_invocation_id is not None:
            check_range("calling AE invocation id", self.calling_ae_invocation_id, -(1 << 31), (1 << 31) - 1)
        check_range("outer length octets", self.outer_length_octets, 0, 4)

    @classmethod
    def build(
        cls,
        initiate_request: InitiateRequest | bytes,
        *,
        mechanism: MechanismName = MechanismName.NONE,
        secret: bytes | None = None,
        system_title: bytes | None = None,
        ciphered: bool = False,
    ) -> AARQ:
        """The usual AARQ: context LN (or LN-ciphered), mechanism and authentication when not NONE."""
        user = initiate_request if isinstance(initiate_request, bytes) else initiate_request.to_bytes()
        authenticated = mechanism != MechanismName.NONE
        if authenticated and secret is None:
            raise LocalProtocolError(f"mechanism {mechanism.name} needs a secret (password or challenge)")
        return cls(
            application_context_name=ApplicationContextName.LN_CIPHERED
            if ciphered
            else ApplicationContextName.LN,
            user_information=user,
            mechanism_name=mechanism if authenticated else None,
            calling_authentication_value=secret if authenticated else None,
            sender_acse_requirements=authenticated,
            calling_ap_title=system_title,
        )

    def decode_user_information(self) -> InitiateRequest | None:
        """The InitiateRequest inside; MalformedDataError if it is ciphered or something else."""
        return _decode_user_apdu(self.user_information, _AARQ_USER, "AARQ")  # type: ignore[return-value]

    def to_bytes(self) -> bytes:
        parts = [_tlv(0xA1, _tlv(0x06, _encode_oid(self.application_context_name, _CONTEXT_PREFIX)))]
        if self.protocol_version is not None:
            parts.append(_tlv(0x80, self.protocol_version))
        if self.calling_ap_title is not None:
            parts.append(_tlv(0xA6, _tlv(0x04, self.calling_ap_title)))
        if self.calling_ae_qualifier is not None:
            parts.append(_tlv(0xA7, _tlv(0x04, self.calling_ae_qualifier)))
        if self.calling_ae_invocation_id is not None:
            parts.append(_tlv(0xA9, _tlv(0x02, _encode_integer(self.calling_ae_invocation_id))))
        if self.sender_acse_requirements:
            parts.append(_tlv(0x8A, _FU_AUTHENTICATION))
        if self.mechanism_name is not None:
            parts.append(_tlv(0x8B, _encode_oid(self.mechanism_name, _MECHANISM_PREFIX)))
        if self.calling_authentication_value is not None:
            parts.append(_tlv(0xAC, _tlv(0x80, self.calling_authentication_value)))
        if self.user_information is not None:
            parts.append(_tlv(0xBE, _tlv(0x04, self.user_information)))
        return _assemble(0x60, parts, self.other_elements, self.outer_length_octets)

    @classmethod
    def from_bytes(cls, data: bytes) -> AARQ:
        reader, octets = _open(data, 0x60, "AARQ")
        fields = _parse(reader, "AARQ", _AARQ_HANDLERS)
        if "application_context_name" not in fields:
            raise MalformedDataError("AARQ without application-context-name", data=reader.data, offset=0)
        return cls(outer_length_octets=octets, **fields)  # type: ignore[arg-type]


_AARQ_HANDLERS: Final[dict[int, _Handler]] = {
    0x80: _raw("protocol_version"),
    0xA1: _context,
    0xA6: _octets_in(0x04, "calling_ap_title", "calling-AP-title"),
    0xA7: _octets_in(0x04, "calling_ae_qualifier", "calling-AE-qualifier"),
    0xA9: _invocation_id,
    0x8A: _requirements("sender_acse_requirements"),
    0x8B: _mechanism,
    0xAC: _authentication("calling_authentication_value"),
    0xBE: _octets_in(0x04, "user_information", "user-information"),
}
_AARQ_USER: Final[dict[int, Callable[[bytes], object]]] = {0x01: InitiateRequest.from_bytes}


def _result(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
    content = _inner(reader, start, end, 0x02, "association-result")
    out["result"] = AssociationResult(_integer(reader, content, start, "association-result"))


def _diagnostic(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
    inner = Reader(reader.data, start)
    tag, content, stop = _read_tlv(inner, "result-source-diagnostic")
    if stop != end:
        inner.fail(f"result-source-diagnostic: {end - stop} unexpected bytes", stop)
    if tag not in (0xA1, 0xA2):
        inner.fail(f"result-source-diagnostic must be A1 (user) or A2 (provider), got {tag:#x}", start)
    value = _integer(reader, _inner(reader, content, stop, 0x02, "diagnostic"), content, "diagnostic")
    out["diagnostic"] = (
        AcseServiceUserDiagnostic(value) if tag == 0xA1 else AcseServiceProviderDiagnostic(value)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AARE:
    """A-ASSOCIATE response (``61 L ...``).

    ``diagnostic`` is an :class:`AcseServiceUserDiagnostic` or an
    :class:`AcseServiceProviderDiagnostic`; its type says which source it came from
    (:attr:`diagnostic_source`). ``user_information`` is None when the meter leaves it out, as
    L+G meters do on a reject.
    """

    TAG: ClassVar[int] = 0x61

    result: AssociationResult = AssociationResult.ACCEPTED
    diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic = AcseServiceUserDiagnostic.NULL
    application_context_name: ApplicationContextName | bytes = ApplicationContextName.LN
    user_information: bytes | None = None
    responding_ap_title: bytes | None = None
    responder_acse_requirements: bool = False
    mechanism_name: MechanismName | bytes | None = None
    responding_authentication_value: bytes | None = None
    protocol_version: bytes | None = None
    other_elements: tuple[bytes, ...] = ()
    outer_length_octets: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        check_range("association result", self.result, 0, 0xFFFF)
        if not isinstance(self.diagnostic, AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic):
            raise LocalProtocolError(
                f"diagnostic must be an AcseServiceUserDiagnostic or AcseServiceProviderDiagnostic, "
                f"got {self.diagnostic!r}"
            )
        _check_oid_field("application context name", self.application_context_name)
        _check_oid_field("mechanism name", self.mechanism_name)
        _check_optional_bytes("user_information", self.user_information)
        _check_optional_bytes("responding_ap_title", self.responding_ap_title)
        _check_optional_bytes("responding_authentication_value", self.responding_authentication_value)
        _check_optional_bytes("protocol_version", self.protocol_version)
        _check_others(self.other_elements)
        check_range("outer length octets", self.outer_length_octets, 0, 4)

    @property
    def diagnostic_source(self) -> DiagnosticSource:
        if isinstance(self.diagnostic, AcseServiceProviderDiagnostic):
            return DiagnosticSource.SERVICE_PROVIDER
        return DiagnosticSource.SERVICE_USER

    @property
    def accepted(self) -> bool:
        return self.result == AssociationResult.ACCEPTED

    def decode_user_information(self) -> InitiateResponse | ConfirmedServiceError | None:
        """The InitiateResponse (or the ConfirmedServiceError of a refused initiate) inside."""
        return _decode_user_apdu(self.user_information, _AARE_USER, "AARE")  # type: ignore[return-value]

    def to_bytes(self) -> bytes:
        source = 0xA2 if isinstance(self.diagnostic, AcseServiceProviderDiagnostic) else 0xA1
        parts = [
            _tlv(0xA1, _tlv(0x06, _encode_oid(self.application_context_name, _CONTEXT_PREFIX))),
            _tlv(0xA2, _tlv(0x02, _encode_integer(self.result))),
            _tlv(0xA3, _tlv(source, _tlv(0x02, _encode_integer(self.diagnostic)))),
        ]
        if self.protocol_version is not None:
            parts.append(_tlv(0x80, self.protocol_version))
        if self.responding_ap_title is not None:
            parts.append(_tlv(0xA4, _tlv(0x04, self.responding_ap_title)))
        if self.responder_acse_requirements:
            parts.append(_tlv(0x88, _FU_AUTHENTICATION))
        if self.mechanism_name is not None:
            parts.append(_tlv(0x89, _encode_oid(self.mechanism_name, _MECHANISM_PREFIX)))
        if self.responding_authentication_value is not None:
            parts.append(_tlv(0xAA, _tlv(0x80, self.responding_authentication_value)))
        if self.user_information is not None:
            parts.append(_tlv(0xBE, _tlv(0x04, self.user_information)))
        return _assemble(0x61, parts, self.other_elements, self.outer_length_octets)

    @classmethod
    def from_bytes(cls, data: bytes) -> AARE:
        reader, octets = _open(data, 0x61, "AARE")
        fields = _parse(reader, "AARE", _AARE_HANDLERS)
        for required in ("application_context_name", "result", "diagnostic"):
            if required not in fields:
                raise MalformedDataError(
                    f"AARE without {required.replace('_', '-')}", data=reader.data, offset=0
                )
        return cls(outer_length_octets=octets, **fields)  # type: ignore[arg-type]


_AARE_HANDLERS: Final[dict[int, _Handler]] = {
    0x80: _raw("protocol_version"),
    0xA1: _context,
    0xA2: _result,
    0xA3: _diagnostic,
    0xA4: _octets_in(0x04, "responding_ap_title", "responding-AP-title"),
    0x88: _requirements("responder_acse_requirements"),
    0x89: _mechanism,
    0xAA: _authentication("responding_authentication_value"),
    0xBE: _octets_in(0x04, "user_information", "user-information"),
}
_AARE_USER: Final[dict[int, Callable[[bytes], object]]] = {
    0x08: InitiateResponse.from_bytes,
    0x0E: ConfirmedServiceError.from_bytes,
}


def _reason(enum: type[ReleaseRequestReason] | type[ReleaseResponseReason]) -> _Handler:
    def handle(reader: Reader, start: int, end: int, out: dict[str, object]) -> None:
        out["reason"] = enum(_integer(reader, reader.data[start:end], start, "release reason"))

    return handle


@dataclass(frozen=True, slots=True, kw_only=True)
class RLRQ:
    """A-RELEASE request (``62 L [80 01 reason] [BE ...]``), e.g. ``62 03 80 01 00``.

    In a ciphered association the user-information repeats the (ciphered) InitiateRequest of
    the AARQ (GB 9.3.3.2, u9n #79). ``reason=None`` leaves the OPTIONAL field out.
    """

    TAG: ClassVar[int] = 0x62

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: bytes | None = None
    other_elements: tuple[bytes, ...] = ()
    outer_length_octets: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_release(self)

    def to_bytes(self) -> bytes:
        return _encode_release(0x62, self)

    @classmethod
    def from_bytes(cls, data: bytes) -> RLRQ:
        return cls(**_decode_release(data, 0x62, "RLRQ", _RLRQ_HANDLERS))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class RLRE:
    """A-RELEASE response (``63 L [80 01 reason] [BE ...]``)."""

    TAG: ClassVar[int] = 0x63

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: bytes | None = None
    other_elements: tuple[bytes, ...] = ()
    outer_length_octets: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_release(self)

    def to_bytes(self) -> bytes:
        return _encode_release(0x63, self)

    @classmethod
    def from_bytes(cls, data: bytes) -> RLRE:
        return cls(**_decode_release(data, 0x63, "RLRE", _RLRE_HANDLERS))  # type: ignore[arg-type]


def _check_release(apdu: RLRQ | RLRE) -> None:
    if apdu.reason is not None:
        check_range("release reason", apdu.reason, 0, 0xFFFF)
    _check_optional_bytes("user_information", apdu.user_information)
    _check_others(apdu.other_elements)
    check_range("outer length octets", apdu.outer_length_octets, 0, 4)


def _encode_release(tag: int, apdu: RLRQ | RLRE) -> bytes:
    """RLRQ and RLRE share their layout: ``[80 01 reason] [BE 04 user-information]``."""
    parts = []
    if apdu.reason is not None:
        parts.append(_tlv(0x80, _encode_integer(apdu.reason)))
    if apdu.user_information is not None:
        parts.append(_tlv(0xBE, _tlv(0x04, apdu.user_information)))
    return _assemble(tag, parts, apdu.other_elements, apdu.outer_length_octets)


def _decode_release(data: bytes, tag: int, name: str, handlers: dict[int, _Handler]) -> dict[str, object]:
    reader, octets = _open(data, tag, name)
    fields = _parse(reader, name, handlers)
    fields.setdefault("reason", None)
    fields["outer_length_octets"] = octets
    return fields


_RLRQ_HANDLERS: Final[dict[int, _Handler]] = {
    0x80: _reason(ReleaseRequestReason),
    0xBE: _octets_in(0x04, "user_information", "user-information"),
}
_RLRE_HANDLERS: Final[dict[int, _Handler]] = {
    0x80: _reason(ReleaseResponseReason),
    0xBE: _octets_in(0x04, "user_information", "user-information"),
}
