"""AES key wrap (RFC 3394) and the Security setup (class 64) ``global_key_transfer`` argument.

A wrapped key is 8 bytes *longer* than the key (the RFC 3394 integrity block); u9n's
``unwrap_key`` checks it against the key length and so rejects every genuine wrapped key.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Final

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.errors import DecryptionError, LocalProtocolError, MalformedDataError

__all__ = ["KeyId", "global_key_transfer", "parse_global_key_transfer", "unwrap_key", "wrap_key"]

_AES_KEY_LENGTHS: Final = (16, 24, 32)
_ARRAY: Final = 0x01
_STRUCTURE: Final = 0x02
_OCTET_STRING: Final = 0x09
_ENUM: Final = 0x16


class KeyId(IntEnum):
    """key_id of global_key_transfer (Security setup method 2)."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0  # GUEK
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1  # GBEK
    AUTHENTICATION_KEY = 2  # AK
    MASTER_KEY = 3  # KEK


def _check_kek(kek: bytes) -> bytes:
    if len(kek) not in _AES_KEY_LENGTHS:
        raise LocalProtocolError(f"a key-encrypting key is 16, 24 or 32 bytes, got {len(kek)}")
    return bytes(kek)


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 wrap of ``key`` (16 or 32 bytes for DLMS) under ``kek``; 8 bytes longer than ``key``."""
    kek = _check_kek(kek)
    if len(key) < 16 or len(key) % 8:
        raise LocalProtocolError(f"a key to wrap is a multiple of 8 bytes, at least 16, got {len(key)}")
    return aes_key_wrap(kek, bytes(key))


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """Inverse of :func:`wrap_key`; a wrong KEK or altered data raises :class:`DecryptionError`."""
    kek = _check_kek(kek)
    wrapped = bytes(wrapped)
    if len(wrapped) < 24 or len(wrapped) % 8:
        raise MalformedDataError(
            f"a wrapped key is a multiple of 8 bytes, at least 24 (key + 8), got {len(wrapped)}",
            data=wrapped,
            offset=0,
        )
    try:
        return aes_key_unwrap(kek, wrapped)
    except InvalidUnwrap:
        raise DecryptionError(
            "key unwrap integrity check failed: wrong key-encrypting key or altered data",
            data=wrapped,
            offset=0,
        ) from None


def global_key_transfer(kek: bytes, keys: Iterable[tuple[KeyId | int, bytes]]) -> bytes:
    """A-XDR argument of global_key_transfer: ``array of structure{key_id enum, key_wrapped octet-string}``.

    ``keys`` are the *plain* new keys; each is wrapped under ``kek`` (the current master key).
    """
    entries = []
    for key_id, key in keys:
        if not 0 <= int(key_id) <= 3:
            raise LocalProtocolError(f"key_id {key_id} is not 0 (GUEK), 1 (GBEK), 2 (AK) or 3 (KEK)")
        wrapped = wrap_key(kek, key)
        entries.append(
            bytes((_STRUCTURE, 2, _ENUM, int(key_id), _OCTET_STRING)) + encode_length(len(wrapped)) + wrapped
        )
    if not entries:
        raise LocalProtocolError("global_key_transfer needs at least one key")
    return bytes((_ARRAY,)) + encode_length(len(entries)) + b"".join(entries)


def _expect(data: bytes, pos: int, value: int, what: str) -> int:
    if pos >= len(data):
        raise MalformedDataError(f"{what} missing", data=data, offset=pos)
    if data[pos] != value:
        raise MalformedDataError(
            f"expected {what} (0x{value:02X}), got 0x{data[pos]:02X}", data=data, offset=pos
        )
    return pos + 1


def parse_global_key_transfer(data: bytes, kek: bytes) -> list[tuple[KeyId, bytes]]:
    """Meter side of :func:`global_key_transfer`: the key ids and the *unwrapped* keys."""
    data = bytes(data)
    pos = _expect(data, 0, _ARRAY, "array tag")
    count, pos = decode_length(data, pos)
    result: list[tuple[KeyId, bytes]] = []
    for _ in range(count):
        pos = _expect(data, pos, _STRUCTURE, "structure tag")
        pos = _expect(data, pos, 2, "structure of 2 elements")
        pos = _expect(data, pos, _ENUM, "enum tag")
        if pos >= len(data):
            raise MalformedDataError("key_id missing", data=data, offset=pos)
        if data[pos] > 3:
            raise MalformedDataError(f"key_id {data[pos]} is not 0..3", data=data, offset=pos)
        key_id = KeyId(data[pos])
        pos = _expect(data, pos + 1, _OCTET_STRING, "octet-string tag")
        length_at = pos
        length, pos = decode_length(data, pos)
        if pos + length > len(data):
            raise MalformedDataError(
                f"key_wrapped of {length} bytes runs past the end", data=data, offset=length_at
            )
        try:
            key = unwrap_key(kek, data[pos : pos + length])
        except MalformedDataError as exc:
            raise MalformedDataError(exc.message, data=data, offset=length_at) from None
        except DecryptionError as exc:
            raise DecryptionError(exc.message, data=data, offset=pos) from None
        result.append((key_id, key))
        pos += length
    if pos != len(data):
        raise MalformedDataError(f"{len(data) - pos} bytes after the key list", data=data, offset=pos)
    return result
