"""The security control byte (SC) that leads every ciphered APDU, and the policies it encodes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from meterlink.errors import LocalProtocolError

__all__ = ["KEY_LENGTHS", "SecurityControl", "SecurityPolicy", "SecuritySuite"]


class SecuritySuite(IntEnum):
    """Security suites of the Green Book; the number sits in bits 0-3 of the SC."""

    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA_256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA_384 = 2


KEY_LENGTHS: Final[dict[int, int]] = {0: 16, 1: 16, 2: 32}
"""Block cipher key length per suite; suites 1 and 2 share the symmetric part with suite 0."""


class SecurityPolicy(IntEnum):
    """Which protection an APDU carries: the A (0x10) and E (0x20) bits of the SC."""

    NONE = 0x00
    AUTHENTICATED = 0x10
    ENCRYPTED = 0x20
    AUTHENTICATED_ENCRYPTED = 0x30


_AUTH: Final = 0x10
_ENC: Final = 0x20
_BROADCAST: Final = 0x40
_COMPRESSED: Final = 0x80


@dataclass(frozen=True, slots=True)
class SecurityControl:
    """The SC byte taken apart; every one of the 256 byte values has a meaning, so parsing never fails.

    Whether a suite or the compression bit is *supported* is decided where the byte is used.
    """

    suite: int = 0
    authenticated: bool = False
    encrypted: bool = False
    broadcast_key: bool = False
    compressed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.suite <= 0x0F:
            raise LocalProtocolError(f"security suite {self.suite} does not fit the 4 bits of the SC byte")

    @classmethod
    def from_byte(cls, value: int) -> SecurityControl:
        """Decode one SC byte (cached: there are only 256)."""
        if not 0 <= value <= 0xFF:
            raise LocalProtocolError(f"a security control byte is 0..255, got {value}")
        return _BY_BYTE[value]

    @classmethod
    def for_policy(
        cls, policy: SecurityPolicy | int, suite: int = 0, *, broadcast_key: bool = False
    ) -> SecurityControl:
        """The SC for a policy: ``for_policy(SecurityPolicy.AUTHENTICATED_ENCRYPTED)`` is 0x30."""
        bits = int(policy)
        if bits & ~0x30:
            raise LocalProtocolError(f"0x{bits:02X} is not a security policy (0x00, 0x10, 0x20, 0x30)")
        return cls(suite, bool(bits & _AUTH), bool(bits & _ENC), broadcast_key, False)

    def to_byte(self) -> int:
        return (
            self.suite
            | (_AUTH if self.authenticated else 0)
            | (_ENC if self.encrypted else 0)
            | (_BROADCAST if self.broadcast_key else 0)
            | (_COMPRESSED if self.compressed else 0)
        )

    @property
    def policy(self) -> SecurityPolicy:
        return SecurityPolicy((_AUTH if self.authenticated else 0) | (_ENC if self.encrypted else 0))

    def __int__(self) -> int:
        return self.to_byte()


def _decode(value: int) -> SecurityControl:
    return SecurityControl(
        value & 0x0F,
        bool(value & _AUTH),
        bool(value & _ENC),
        bool(value & _BROADCAST),
        bool(value & _COMPRESSED),
    )


_BY_BYTE: Final[tuple[SecurityControl, ...]] = tuple(_decode(v) for v in range(256))
