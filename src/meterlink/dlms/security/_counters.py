"""Invocation counters per key and direction (Green Book 9.2.3.3.7): never reused, never wrapped.

A counter that repeats under the same key and system title reuses a GCM nonce, which leaks the
XOR of two plaintexts and lets an attacker forge tags - hence the hard error at 2**32 instead of a
wrap. The table is plain data (``to_dict``/``from_dict``) so the gateway can persist it between runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from meterlink.errors import LocalProtocolError, ReplayError

__all__ = ["MAX_INVOCATION_COUNTER", "InvocationCounters"]

MAX_INVOCATION_COUNTER: Final = 0xFFFFFFFF


def _check_value(what: str, value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INVOCATION_COUNTER:
        raise LocalProtocolError(f"{what} must be an int 0..0xFFFFFFFF, got {value!r}")
    return value


class InvocationCounters:
    """Counters keyed by a key label of your choice (``"guek"``, ``"ded"``, ``"gbek"``, a key id...).

    *Sending*: :meth:`next_to_send` returns the counter for the next APDU we protect and moves on.
    *Receiving*: :meth:`accept` records the counter of an APDU whose tag has verified; anything not
    above the last accepted value raises :class:`ReplayError`. The first counter seen for a key is
    accepted (seed it with :meth:`set_last_received` when the last value is known).
    """

    __slots__ = ("_received", "_send")

    def __init__(self) -> None:
        self._send: dict[str, int] = {}
        self._received: dict[str, int] = {}

    # -- sending -------------------------------------------------------------------------------
    def next_to_send(self, key: str) -> int:
        """The counter to put in the next APDU protected with ``key``; consumed by this call."""
        value = self._send.get(key, 0)
        if value > MAX_INVOCATION_COUNTER:
            raise LocalProtocolError(
                f"invocation counter for key {key!r} is exhausted (2**32 APDUs sent): change the key"
            )
        self._send[key] = value + 1
        return value

    def peek_send(self, key: str) -> int:
        """What :meth:`next_to_send` would return, without consuming it."""
        return self._send.get(key, 0)

    def set_next_to_send(self, key: str, value: int) -> None:
        """Start sending at ``value`` - e.g. the meter's frame counter object (0.0.43.1.x.255) + 1.

        Going backwards is refused: it would reuse nonces already sent under this key.
        """
        _check_value("an invocation counter", value)
        current = self._send.get(key)
        if current is not None and value < current:
            raise LocalProtocolError(
                f"refusing to move the send counter for key {key!r} back from {current} to {value}"
            )
        self._send[key] = value

    # -- receiving -----------------------------------------------------------------------------
    def check(self, key: str, received: int) -> None:
        """Raise :class:`ReplayError` if ``received`` would be refused; changes nothing."""
        last = self._received.get(key)
        if last is not None and received <= last:
            raise ReplayError(
                f"invocation counter {received} for key {key!r} is not above the last accepted {last}",
                received=received,
                expected_above=last,
            )

    def accept(self, key: str, received: int) -> None:
        """Record ``received`` as the newest counter for ``key`` (call it after the tag verified)."""
        _check_value("a received invocation counter", received)
        self.check(key, received)
        self._received[key] = received

    def last_received(self, key: str) -> int | None:
        return self._received.get(key)

    def set_last_received(self, key: str, value: int) -> None:
        """Seed or raise the replay floor (a persisted value, or a re-key to a fresh floor)."""
        self._received[key] = _check_value("an invocation counter", value)

    def forget(self, key: str) -> None:
        """Drop both counters of ``key`` - only right when the key itself was replaced."""
        self._send.pop(key, None)
        self._received.pop(key, None)

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, int]]:
        """``{"send": {key: next value}, "received": {key: last accepted}}`` - JSON/TOML friendly."""
        return {"send": dict(self._send), "received": dict(self._received)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]]) -> InvocationCounters:
        counters = cls()
        for section, target, limit in (
            ("send", counters._send, MAX_INVOCATION_COUNTER + 1),
            ("received", counters._received, MAX_INVOCATION_COUNTER),
        ):
            items = data.get(section, {})
            if not isinstance(items, Mapping):
                raise LocalProtocolError(f"invocation counters: {section!r} must be a mapping")
            for key, value in items.items():
                if not isinstance(key, str):
                    raise LocalProtocolError(f"invocation counters: key {key!r} is not a string")
                if type(value) is not int or not 0 <= value <= limit:
                    raise LocalProtocolError(
                        f"invocation counters: {section}[{key!r}] = {value!r} is out of range"
                    )
                target[key] = value
        unknown = set(data) - {"send", "received"}
        if unknown:
            raise LocalProtocolError(f"invocation counters: unknown sections {sorted(unknown)}")
        return counters

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InvocationCounters):
            return NotImplemented
        return self._send == other._send and self._received == other._received

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"InvocationCounters(send={self._send!r}, received={self._received!r})"
