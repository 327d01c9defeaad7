"""Ciphering envelopes (Green Book 9.2.7.2.4): glo-/ded-, general-glo/-ded and general-ciphering.

Layouts (lengths in A-XDR form, ``81 F8``, ``82 01 F2``)::

    glo-/ded-xxx        tag LEN SC IC(4) payload                       LEN counts SC..end
    general-glo / -ded  DB|DC LEN ST LEN SC IC(4) payload              ST may be empty (Fiorentini RSE)
    general-ciphering   DD tid orig-ST recip-ST date-time other-info [key-info] LEN SC IC(4) payload

``payload`` is plaintext||tag (authenticated), ciphertext (encrypted) or ciphertext||tag (both).
The envelope must fill the given bytes exactly: a length that overruns or leaves bytes behind is
:class:`~meterlink.errors.MalformedDataError`, with the offending offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.errors import DecryptionError, LocalProtocolError, MalformedDataError

from ._control import KEY_LENGTHS, SecurityControl
from ._gcm import _iv, _open, _seal

__all__ = [
    "GENERAL_CIPHERING",
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "CipheredApdu",
    "CipheredKind",
    "GeneralCipheringHeader",
    "KeyInfo",
    "KeyInfoChoice",
    "ciphered_tag",
    "parse_ciphered",
    "protect",
    "unprotect",
]


class CipheredKind(Enum):
    """Which envelope, hence which key: global (GUEK/GBEK) or dedicated (per association)."""

    GLO = "glo"
    DED = "ded"
    GENERAL_GLO = "general-glo"
    GENERAL_DED = "general-ded"
    GENERAL_CIPHERING = "general-ciphering"


GENERAL_GLO_CIPHERING: Final = 0xDB
GENERAL_DED_CIPHERING: Final = 0xDC
GENERAL_CIPHERING: Final = 0xDD

# plain tag -> (glo tag, ded tag)
_SERVICE_TAGS: Final[dict[int, tuple[int, int]]] = {
    0xC0: (0xC8, 0xD0),  # get-request
    0xC1: (0xC9, 0xD1),  # set-request
    0xC2: (0xCA, 0xD2),  # event-notification-request
    0xC3: (0xCB, 0xD3),  # action-request
    0xC4: (0xCC, 0xD4),  # get-response
    0xC5: (0xCD, 0xD5),  # set-response
    0xC7: (0xCF, 0xD7),  # action-response
    0x01: (0x21, 0x41),  # initiateRequest
    0x08: (0x28, 0x48),  # initiateResponse
    0x0E: (0x2E, 0x4E),  # confirmedServiceError
    0x05: (0x25, 0x45),  # readRequest (SN)
    0x06: (0x26, 0x46),  # writeRequest (SN)
    0x0C: (0x2C, 0x4C),  # readResponse (SN)
    0x0D: (0x2D, 0x4D),  # writeResponse (SN)
}
# ciphered tag -> (kind, plain tag)
_BY_CIPHERED_TAG: Final[dict[int, tuple[CipheredKind, int | None]]] = {
    **{glo: (CipheredKind.GLO, plain) for plain, (glo, _) in _SERVICE_TAGS.items()},
    **{ded: (CipheredKind.DED, plain) for plain, (_, ded) in _SERVICE_TAGS.items()},
    GENERAL_GLO_CIPHERING: (CipheredKind.GENERAL_GLO, None),
    GENERAL_DED_CIPHERING: (CipheredKind.GENERAL_DED, None),
    GENERAL_CIPHERING: (CipheredKind.GENERAL_CIPHERING, None),
}
_GENERAL_TAGS: Final = {
    CipheredKind.GENERAL_GLO: GENERAL_GLO_CIPHERING,
    CipheredKind.GENERAL_DED: GENERAL_DED_CIPHERING,
    CipheredKind.GENERAL_CIPHERING: GENERAL_CIPHERING,
}
_HEAD: Final = struct.Struct(">BI")  # SC, IC


def ciphered_tag(plain_tag: int, kind: CipheredKind) -> int:
    """The glo-/ded- tag standing for ``plain_tag`` (``0xC0`` -> ``0xC8`` / ``0xD0``)."""
    if kind is CipheredKind.GLO or kind is CipheredKind.DED:
        pair = _SERVICE_TAGS.get(plain_tag)
        if pair is None:
            raise LocalProtocolError(f"APDU tag 0x{plain_tag:02X} has no service-specific ciphered form")
        return pair[0] if kind is CipheredKind.GLO else pair[1]
    return _GENERAL_TAGS[kind]


class KeyInfoChoice(IntEnum):
    IDENTIFIED_KEY = 0
    WRAPPED_KEY = 1
    AGREED_KEY = 2


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """general-ciphering key-info: ``key_id`` is the key-id (0 GUEK, 1 GBEK) or the kek-id (0 master key)."""

    choice: KeyInfoChoice
    key_id: int = 0
    key_parameters: bytes = b""
    key_ciphered_data: bytes = b""

    def to_bytes(self) -> bytes:
        if self.choice is KeyInfoChoice.IDENTIFIED_KEY:
            return bytes((0, self.key_id))
        if self.choice is KeyInfoChoice.WRAPPED_KEY:
            return bytes((1, self.key_id)) + _octets(self.key_ciphered_data)
        return b"\x02" + _octets(self.key_parameters) + _octets(self.key_ciphered_data)


@dataclass(frozen=True, slots=True)
class GeneralCipheringHeader:
    """The fields general-ciphering adds; all but ``key_info`` enter the AAD as length||value."""

    transaction_id: bytes = b""
    recipient_system_title: bytes = b""
    date_time: bytes = b""
    other_information: bytes = b""
    key_info: KeyInfo | None = None


def _octets(value: bytes) -> bytes:
    return encode_length(len(value)) + value


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """One ciphered APDU, parsed but not deciphered.

    ``plain_tag`` is the APDU the service-specific envelope stands for (``None`` for general-*);
    ``system_title`` the title carried in general-* envelopes (``None`` when absent or empty: it
    then comes from the association); ``general`` the extra header of general-ciphering.
    """

    kind: CipheredKind
    security_control: SecurityControl
    invocation_counter: int
    payload: bytes
    system_title: bytes | None = None
    plain_tag: int | None = None
    general: GeneralCipheringHeader | None = None

    def __post_init__(self) -> None:
        service = self.kind is CipheredKind.GLO or self.kind is CipheredKind.DED
        if service:
            if self.plain_tag is None or self.plain_tag not in _SERVICE_TAGS:
                raise LocalProtocolError(
                    f"a {self.kind.value} envelope needs a plain tag with a ciphered form"
                )
            if self.system_title is not None:
                raise LocalProtocolError("service-specific envelopes carry no system title")
        elif self.plain_tag is not None:
            raise LocalProtocolError(f"a {self.kind.value} envelope stands for no single plain tag")
        if (self.general is not None) != (self.kind is CipheredKind.GENERAL_CIPHERING):
            raise LocalProtocolError("the general-ciphering header goes with general-ciphering only")
        if not 0 <= self.invocation_counter <= 0xFFFFFFFF:
            raise LocalProtocolError(f"invocation counter {self.invocation_counter} does not fit 4 bytes")

    @property
    def tag(self) -> int:
        if self.plain_tag is not None:
            return ciphered_tag(self.plain_tag, self.kind)
        return _GENERAL_TAGS[self.kind]

    @property
    def sc(self) -> SecurityControl:
        return self.security_control

    def content(self) -> bytes:
        """SC || IC || payload - the part every envelope shares."""
        return _HEAD.pack(self.security_control.to_byte(), self.invocation_counter) + self.payload

    def to_bytes(self) -> bytes:
        content = self.content()
        body = encode_length(len(content)) + content
        if self.kind is CipheredKind.GLO or self.kind is CipheredKind.DED:
            return bytes((self.tag,)) + body
        title = self.system_title or b""
        if self.general is None:
            return bytes((self.tag,)) + _octets(title) + body
        g = self.general
        key_info = b"\x00" if g.key_info is None else b"\x01" + g.key_info.to_bytes()
        return bytes((GENERAL_CIPHERING,)) + _general_aad(title, g) + key_info + body


def _general_aad(originator: bytes, g: GeneralCipheringHeader) -> bytes:
    return (
        _octets(g.transaction_id)
        + _octets(originator)
        + _octets(g.recipient_system_title)
        + _octets(g.date_time)
        + _octets(g.other_information)
    )


def _read_octets(data: bytes, pos: int, what: str) -> tuple[bytes, int]:
    length, start = decode_length(data, pos)
    end = start + length
    if end > len(data):
        raise MalformedDataError(f"{what} of {length} bytes runs past the end", data=data, offset=pos)
    return data[start:end], end


def _read_byte(data: bytes, pos: int, what: str) -> int:
    if pos >= len(data):
        raise MalformedDataError(f"{what} missing", data=data, offset=pos)
    return data[pos]


def _parse(data: bytes) -> tuple[CipheredApdu, bytes, int]:
    """The APDU, the raw general-ciphering AAD header (``b""`` otherwise) and the payload offset."""
    if not data:
        raise MalformedDataError("empty APDU", data=data, offset=0)
    tag = data[0]
    entry = _BY_CIPHERED_TAG.get(tag)
    if entry is None:
        raise MalformedDataError(f"0x{tag:02X} is not a ciphered APDU tag", data=data, offset=0)
    kind, plain_tag = entry
    pos = 1
    title: bytes | None = None
    general: GeneralCipheringHeader | None = None
    aad_header = b""
    if kind is CipheredKind.GENERAL_GLO or kind is CipheredKind.GENERAL_DED:
        raw_title, pos = _read_octets(data, pos, "system title")
        title = raw_title or None
    elif kind is CipheredKind.GENERAL_CIPHERING:
        tid, pos = _read_octets(data, pos, "transaction-id")
        raw_title, pos = _read_octets(data, pos, "originator-system-title")
        recipient, pos = _read_octets(data, pos, "recipient-system-title")
        date_time, pos = _read_octets(data, pos, "date-time")
        other, pos = _read_octets(data, pos, "other-information")
        aad_header = data[1:pos]
        title = raw_title or None
        key_info: KeyInfo | None = None
        flag = _read_byte(data, pos, "key-info presence flag")
        pos += 1
        if flag == 1:
            choice = _read_byte(data, pos, "key-info choice")
            pos += 1
            if choice == KeyInfoChoice.IDENTIFIED_KEY:
                key_id = _read_byte(data, pos, "key-id")
                if key_id > 1:
                    raise MalformedDataError(
                        f"key-id {key_id} is neither GUEK (0) nor GBEK (1)", data=data, offset=pos
                    )
                key_info = KeyInfo(KeyInfoChoice.IDENTIFIED_KEY, key_id)
                pos += 1
            elif choice == KeyInfoChoice.WRAPPED_KEY:
                kek_id = _read_byte(data, pos, "kek-id")
                wrapped, pos = _read_octets(data, pos + 1, "key-ciphered-data")
                key_info = KeyInfo(KeyInfoChoice.WRAPPED_KEY, kek_id, key_ciphered_data=wrapped)
            elif choice == KeyInfoChoice.AGREED_KEY:
                params, pos = _read_octets(data, pos, "key-parameters")
                ciphered, pos = _read_octets(data, pos, "key-ciphered-data")
                key_info = KeyInfo(KeyInfoChoice.AGREED_KEY, 0, params, ciphered)
            else:
                raise MalformedDataError(
                    f"key-info choice {choice} is not 0, 1 or 2", data=data, offset=pos - 1
                )
        elif flag != 0:
            raise MalformedDataError(
                f"key-info OPTIONAL flag must be 0 or 1, not {flag}", data=data, offset=pos - 1
            )
        general = GeneralCipheringHeader(tid, recipient, date_time, other, key_info)
    length_at = pos
    length, pos = decode_length(data, pos)
    if pos + length != len(data):
        what = "runs past the end" if pos + length > len(data) else f"leaves {len(data) - pos - length} bytes"
        raise MalformedDataError(
            f"ciphered content length {length} {what} of the {len(data)}-byte APDU",
            data=data,
            offset=length_at,
        )
    if length < _HEAD.size:
        raise MalformedDataError(
            f"ciphered content of {length} bytes cannot hold SC and invocation counter",
            data=data,
            offset=length_at,
        )
    sc_byte, counter = _HEAD.unpack_from(data, pos)
    payload_at = pos + _HEAD.size
    apdu = CipheredApdu(
        kind,
        SecurityControl.from_byte(sc_byte),
        counter,
        data[payload_at:],
        title,
        plain_tag,
        general,
    )
    return apdu, aad_header, payload_at


def parse_ciphered(data: bytes) -> CipheredApdu:
    """Parse (not decipher) any ciphered APDU: service-specific, general-glo/-ded or general-ciphering."""
    return _parse(bytes(data))[0]


def _choose_key(apdu: CipheredApdu, key: bytes, broadcast_key: bytes | None) -> bytes:
    wants_broadcast = apdu.security_control.broadcast_key
    info = apdu.general.key_info if apdu.general is not None else None
    if info is not None:
        if info.choice is not KeyInfoChoice.IDENTIFIED_KEY:
            raise LocalProtocolError(
                f"general-ciphering with {info.choice.name.lower().replace('_', '-')} key-info is not "
                "supported (only identified-key or no key-info)"
            )
        wants_broadcast = info.key_id == 1
    if wants_broadcast and broadcast_key is not None:
        return broadcast_key
    return key


def unprotect(
    data: bytes,
    *,
    key: bytes,
    auth_key: bytes | None,
    system_title: bytes | None = None,
    verify: bool = True,
    broadcast_key: bytes | None = None,
) -> tuple[CipheredApdu, bytes]:
    """Parse and decipher a ciphered APDU; returns it and the plain APDU it carries.

    ``system_title`` is the peer's title from the association (AARQ/AARE AP-title); it is
    required for service-specific envelopes and for general-* ones sent with an empty title.
    A title carried in the APDU wins. ``key`` is the GUEK or the dedicated key, matching the
    envelope; ``broadcast_key`` (the GBEK) is used when the SC key-set bit or the key-info asks
    for it. ``verify=False`` deciphers without checking the tag (the AK may then be ``None``).

    The invocation counter is *not* checked here: call
    :meth:`InvocationCounters.accept` with ``apdu.invocation_counter`` once this returned.
    """
    raw = bytes(data)
    apdu, aad_header, payload_at = _parse(raw)
    title = apdu.system_title
    if title is None:
        if system_title is None:
            raise LocalProtocolError(
                f"the {apdu.kind.value} APDU carries no system title: pass the peer's system_title= "
                "from the association"
            )
        title = system_title
        if len(title) != 8:
            raise LocalProtocolError(f"a system title is 8 bytes, got {len(title)}")
    elif len(title) != 8:
        raise MalformedDataError(f"system title of {len(title)} bytes (8 expected)", data=raw, offset=1)
    sc = apdu.security_control
    sc_at = payload_at - _HEAD.size
    if not (sc.authenticated or sc.encrypted):
        raise MalformedDataError(
            f"security control 0x{sc.to_byte():02X} in a ciphered APDU applies no protection",
            data=raw,
            offset=sc_at,
        )
    if sc.compressed:
        raise DecryptionError("compressed APDUs (SC bit 7) are not supported", data=raw, offset=sc_at)
    if sc.suite not in KEY_LENGTHS:
        raise DecryptionError(f"security suite {sc.suite} is not supported", data=raw, offset=sc_at)
    chosen = _choose_key(apdu, key, broadcast_key)
    iv = _iv(title, apdu.invocation_counter)
    plain = _open(
        sc,
        iv,
        chosen,
        auth_key,
        apdu.payload,
        verify=verify,
        extra_aad=aad_header,
        error_data=raw,
        error_offset=payload_at,
    )
    return apdu, plain


def protect(
    plain_apdu: bytes,
    *,
    kind: CipheredKind,
    security_control: SecurityControl | int,
    system_title: bytes,
    invocation_counter: int,
    key: bytes,
    auth_key: bytes | None,
    general: GeneralCipheringHeader | None = None,
    include_system_title: bool = True,
) -> bytes:
    """Cipher ``plain_apdu`` into the envelope ``kind``; ``system_title`` is *our* title (the IV).

    ``include_system_title=False`` writes general-glo/-ded with an empty title (``DB 00``), as some
    meters do. general-ciphering needs ``general`` (transaction-id, recipient...); only
    identified-key or absent key-info can be produced.
    """
    plain = bytes(plain_apdu)
    sc = (
        security_control
        if isinstance(security_control, SecurityControl)
        else SecurityControl.from_byte(security_control)
    )
    iv = _iv(system_title, invocation_counter)
    plain_tag: int | None = None
    title: bytes | None = None
    extra_aad = b""
    if kind is CipheredKind.GLO or kind is CipheredKind.DED:
        if not plain:
            raise LocalProtocolError("cannot cipher an empty APDU")
        plain_tag = plain[0]
        ciphered_tag(plain_tag, kind)  # raises for tags without a service-specific form
    else:
        title = bytes(system_title) if include_system_title else None
    if kind is CipheredKind.GENERAL_CIPHERING:
        if general is None:
            raise LocalProtocolError("general-ciphering needs general=GeneralCipheringHeader(...)")
        if general.key_info is not None and general.key_info.choice is not KeyInfoChoice.IDENTIFIED_KEY:
            raise LocalProtocolError("only identified-key (or no) key-info is supported")
        extra_aad = _general_aad(title or b"", general)
    elif general is not None:
        raise LocalProtocolError(f"general= applies to general-ciphering, not {kind.value}")
    payload = _seal(sc, iv, key, auth_key, plain, extra_aad)
    return CipheredApdu(kind, sc, invocation_counter, payload, title, plain_tag, general).to_bytes()
