"""Authentication mechanisms and the HLS 4-pass exchange (Green Book 9.2.2.2, 9.2.7.4).

Pass 1: the AARQ carries CtoS; pass 2: the AARE carries StoC; pass 3: the client sends
f(StoC) with ACTION reply_to_HLS_authentication; pass 4: the server answers f(CtoS), which the
client checks. One :class:`HlsProcessor` per mechanism computes both f's and checks the peer's:

=========  ========================================================================================
HLS_MD5    f(C) = MD5(C || secret)
HLS_SHA1   f(C) = SHA-1(C || secret)
HLS_GMAC   SC(0x10|suite) || IC(4) || GMAC(EK, IV = own ST || IC, AAD = SC || AK || C); 17 bytes
HLS_SHA256 client: SHA-256(secret || ST_C || ST_S || StoC || CtoS); server: SHA-256(secret || ST_S ||
           ST_C || CtoS || StoC)
HLS (2)    manufacturer specific: register a processor with :func:`register_mechanism`;
           :class:`AesEcbProcessor` is the common "AES-128-ECB of the challenge" variant
=========  ========================================================================================
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Protocol, runtime_checkable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterlink.errors import AuthenticationError, LocalProtocolError

from ._control import SecurityControl
from ._gcm import gmac

__all__ = [
    "AesEcbProcessor",
    "GmacProcessor",
    "HashProcessor",
    "HlsParameters",
    "HlsProcessor",
    "Mechanism",
    "Sha256Processor",
    "client_response",
    "get_processor",
    "gmac_counter",
    "make_challenge",
    "register_mechanism",
    "server_response",
    "unregister_mechanism",
    "verify_client_response",
    "verify_server_response",
]


class Mechanism(IntEnum):
    """Authentication mechanism ids (last arc of the mechanism-name OID 2.16.756.5.8.2.x)."""

    NONE = 0
    LLS = 1
    HLS = 2
    HLS_MD5 = 3
    HLS_SHA1 = 4
    HLS_GMAC = 5
    HLS_SHA256 = 6
    HLS_ECDSA = 7


def make_challenge(length: int = 16) -> bytes:
    """A random challenge; 8..64 bytes allowed, 16 by default because some (TI-based) meters take no other."""
    if not 8 <= length <= 64:
        raise LocalProtocolError(f"an HLS challenge is 8..64 bytes, not {length}")
    return secrets.token_bytes(length)


@dataclass(frozen=True, slots=True)
class HlsParameters:
    """Everything the mechanisms draw on; each uses only some fields (the others may stay empty).

    ``secret`` is the HLS secret (MD5, SHA-1, SHA-256, manufacturer); ``key``/``auth_key`` the
    GUEK and AK (GMAC); system titles are needed by GMAC and SHA-256.
    """

    client_challenge: bytes  # CtoS, sent in the AARQ
    server_challenge: bytes  # StoC, sent in the AARE
    secret: bytes = b""
    client_system_title: bytes = b""
    server_system_title: bytes = b""
    key: bytes = b""
    auth_key: bytes = b""
    security_suite: int = 0


@runtime_checkable
class HlsProcessor(Protocol):
    """One authentication mechanism.

    ``client_response`` is f(StoC) the client sends in pass 3, ``server_response`` f(CtoS) the
    server sends in pass 4. ``invocation_counter`` is the sender's counter for mechanisms that use
    one (GMAC) and ignored by the others. The verify methods raise
    :class:`~meterlink.errors.AuthenticationError` when the peer's answer is wrong.
    """

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes: ...

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes: ...

    def verify_client_response(self, params: HlsParameters, response: bytes) -> None: ...

    def verify_server_response(self, params: HlsParameters, response: bytes) -> None: ...


def _refuse(who: str, mechanism: str, response: bytes) -> AuthenticationError:
    return AuthenticationError(
        f"{who} failed {mechanism} authentication: its reply does not match", data=response
    )


def _need(value: bytes, what: str, mechanism: str) -> bytes:
    if not value:
        raise LocalProtocolError(f"{mechanism} needs the {what}")
    return value


class _Symmetric:
    """Mechanisms whose peer reply can be checked by recomputing it (all but GMAC and ECDSA)."""

    name = "HLS"

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        raise NotImplementedError

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        raise NotImplementedError

    def verify_client_response(self, params: HlsParameters, response: bytes) -> None:
        if not hmac.compare_digest(self.client_response(params), bytes(response)):
            raise _refuse("client", self.name, bytes(response))

    def verify_server_response(self, params: HlsParameters, response: bytes) -> None:
        if not hmac.compare_digest(self.server_response(params), bytes(response)):
            raise _refuse("server", self.name, bytes(response))


class HashProcessor(_Symmetric):
    """HLS-MD5 (3) and HLS-SHA1 (4): f(C) = H(C || secret)."""

    def __init__(self, hash_name: str, name: str) -> None:
        self._hash_name = hash_name
        self.name = name

    def _f(self, challenge: bytes, params: HlsParameters) -> bytes:
        return hashlib.new(self._hash_name, _need(challenge, "challenge", self.name) + params.secret).digest()

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params.server_challenge, params)

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params.client_challenge, params)


class Sha256Processor(_Symmetric):
    """HLS-SHA256 (6): both titles and both challenges enter, in mirrored order per side."""

    name = "HLS-SHA256"

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return hashlib.sha256(
            params.secret
            + _need(params.client_system_title, "client system title", self.name)
            + _need(params.server_system_title, "server system title", self.name)
            + params.server_challenge
            + params.client_challenge
        ).digest()

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return hashlib.sha256(
            params.secret
            + _need(params.server_system_title, "server system title", self.name)
            + _need(params.client_system_title, "client system title", self.name)
            + params.client_challenge
            + params.server_challenge
        ).digest()


class AesEcbProcessor(_Symmetric):
    """A common manufacturer mechanism 2: AES-128-ECB(secret zero-padded to 16, challenge zero-padded).

    Not registered by default - mechanism 2 means "whatever the manufacturer chose"; register it
    with ``register_mechanism(Mechanism.HLS, AesEcbProcessor())`` for meters known to use it.
    """

    name = "HLS (AES-ECB)"

    def _f(self, challenge: bytes, params: HlsParameters) -> bytes:
        if len(params.secret) > 16:
            raise LocalProtocolError(f"an AES-ECB HLS secret is at most 16 bytes, got {len(params.secret)}")
        key = params.secret.ljust(16, b"\x00")
        block = _need(challenge, "challenge", self.name)
        block = block.ljust(-(-len(block) // 16) * 16, b"\x00")
        encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return encryptor.update(block) + encryptor.finalize()

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params.server_challenge, params)

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params.client_challenge, params)


_GMAC_HEAD: Final = struct.Struct(">BI")


class GmacProcessor:
    """HLS-GMAC (5). The reply carries the sender's invocation counter, which the check reuses.

    Callers should also feed that counter to their :class:`InvocationCounters` (see
    :func:`gmac_counter`), as the Green Book asks for every counter received under the key.
    """

    name = "HLS-GMAC"

    def _f(self, params: HlsParameters, title: bytes, counter: int, challenge: bytes) -> bytes:
        sc = SecurityControl(params.security_suite, authenticated=True)
        tag = gmac(sc, title, counter, params.key, params.auth_key, _need(challenge, "challenge", self.name))
        return _GMAC_HEAD.pack(sc.to_byte(), counter) + tag

    def client_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params, params.client_system_title, invocation_counter, params.server_challenge)

    def server_response(self, params: HlsParameters, invocation_counter: int = 0) -> bytes:
        return self._f(params, params.server_system_title, invocation_counter, params.client_challenge)

    def _check(
        self, params: HlsParameters, response: bytes, title: bytes, challenge: bytes, who: str
    ) -> None:
        response = bytes(response)
        expected_sc = 0x10 | params.security_suite
        if len(response) != 17 or response[0] != expected_sc:
            raise AuthenticationError(
                f"{who} HLS-GMAC reply must be 17 bytes starting with SC 0x{expected_sc:02X}",
                data=response,
                offset=0,
            )
        counter = _GMAC_HEAD.unpack_from(response)[1]
        if not hmac.compare_digest(self._f(params, title, counter, challenge), response):
            raise _refuse(who, self.name, response)

    def verify_client_response(self, params: HlsParameters, response: bytes) -> None:
        self._check(params, response, params.client_system_title, params.server_challenge, "client")

    def verify_server_response(self, params: HlsParameters, response: bytes) -> None:
        self._check(params, response, params.server_system_title, params.client_challenge, "server")


def gmac_counter(response: bytes) -> int:
    """The invocation counter inside an HLS-GMAC reply (bytes 1..4)."""
    if len(response) != 17:
        raise AuthenticationError("an HLS-GMAC reply is 17 bytes", data=bytes(response), offset=0)
    return int(_GMAC_HEAD.unpack_from(response)[1])


_BUILTIN: Final[dict[int, HlsProcessor]] = {
    Mechanism.HLS_MD5: HashProcessor("md5", "HLS-MD5"),
    Mechanism.HLS_SHA1: HashProcessor("sha1", "HLS-SHA1"),
    Mechanism.HLS_GMAC: GmacProcessor(),
    Mechanism.HLS_SHA256: Sha256Processor(),
}
_registry: dict[int, HlsProcessor] = dict(_BUILTIN)


def register_mechanism(mechanism: int, processor: HlsProcessor, *, replace: bool = False) -> None:
    """Plug in a processor, typically for the manufacturer-specific mechanism 2.

    Built-in mechanisms are only replaced with ``replace=True`` so a typo cannot silently weaken them.
    """
    if mechanism in (Mechanism.NONE, Mechanism.LLS):
        raise LocalProtocolError(f"mechanism {mechanism} has no HLS exchange")
    if not isinstance(processor, HlsProcessor):
        raise LocalProtocolError(f"{processor!r} does not implement the HlsProcessor protocol")
    if mechanism in _BUILTIN and not replace:
        raise LocalProtocolError(f"mechanism {mechanism} is built in; pass replace=True to override it")
    _registry[int(mechanism)] = processor


def unregister_mechanism(mechanism: int) -> None:
    """Remove a plugged-in processor (built-ins come back)."""
    _registry.pop(int(mechanism), None)
    if mechanism in _BUILTIN:
        _registry[int(mechanism)] = _BUILTIN[mechanism]


def get_processor(mechanism: int) -> HlsProcessor:
    processor = _registry.get(int(mechanism))
    if processor is not None:
        return processor
    if mechanism == Mechanism.HLS:
        raise LocalProtocolError(
            "mechanism 2 (HLS) is manufacturer specific: register_mechanism(2, processor) first, "
            "e.g. AesEcbProcessor()"
        )
    if mechanism == Mechanism.HLS_ECDSA:
        raise LocalProtocolError("mechanism 7 (HLS-ECDSA, security suites 1/2) is not implemented")
    if mechanism in (Mechanism.NONE, Mechanism.LLS):
        raise LocalProtocolError(f"mechanism {mechanism} has no HLS exchange")
    raise LocalProtocolError(f"unknown authentication mechanism {mechanism}")


def client_response(mechanism: int, params: HlsParameters, invocation_counter: int = 0) -> bytes:
    """f(StoC): what the client sends with reply_to_HLS_authentication (pass 3)."""
    return get_processor(mechanism).client_response(params, invocation_counter)


def server_response(mechanism: int, params: HlsParameters, invocation_counter: int = 0) -> bytes:
    """f(CtoS): what the server returns in the ACTION response (pass 4)."""
    return get_processor(mechanism).server_response(params, invocation_counter)


def verify_client_response(mechanism: int, params: HlsParameters, response: bytes) -> None:
    """Server side: check the client's f(StoC); raises AuthenticationError."""
    get_processor(mechanism).verify_client_response(params, response)


def verify_server_response(mechanism: int, params: HlsParameters, response: bytes) -> None:
    """Client side: check the server's f(CtoS); raises AuthenticationError."""
    get_processor(mechanism).verify_server_response(params, response)
