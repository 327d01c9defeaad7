"""Fault knobs: the ways a real meter or line misbehaves, on demand and reproducibly.

:class:`Faults` is the configuration (the ``[faults]`` table of a description, or built in
Python); :class:`FaultInjector` is its running state for one connection: counters and a random
generator seeded with :attr:`Faults.seed`, so the same session spoils the same bytes every time.
The emulator's connection (:class:`~meterlink.emulator.connection.EmulatorConnection`) applies
them where a real meter would: to what it hears, to what it sends and to when it sends it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from meterlink.errors import LocalProtocolError

if TYPE_CHECKING:
    from ._toml import Table

__all__ = ["FaultInjector", "Faults"]

_SOH, _STX, _ETX, _EOT = 0x01, 0x02, 0x03, 0x04


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong. Every knob is off by default.

    Probabilities are per byte (``drop``, ``corrupt``) or per framed message (``wrong_bcc``);
    ``*_every = N`` spoils every Nth instead (deterministic without a seed).
    """

    seed: int = 0
    echo: bool = False
    """Send every received byte straight back (a half-duplex bus or optical head)."""
    delay: float = 0.0
    """Seconds added before every transmission (a slow meter)."""
    late: float = 0.0
    """Seconds added to replies to commands, e.g. 2.0: after the client's 1.5 s timeout."""
    late_every: int = 1
    """Only every Nth command reply is late (1: all of them)."""
    drop_probability: float = 0.0
    drop_every: int = 0
    corrupt_probability: float = 0.0
    corrupt_every: int = 0
    wrong_bcc_probability: float = 0.0
    wrong_bcc_every: int = 0
    nak_storm: int = 0
    """Answer the first N commands of the connection with NAK."""
    silent: bool = False
    """Never answer anything."""
    answer_after: int = 0
    """Ignore the first N requests (``/?...!``), as a meter still waking up."""
    inactivity_timeout: float | None = None
    """Override the meter's inactivity timeout (a meter that drops sessions early)."""

    def __post_init__(self) -> None:
        for name in ("drop_probability", "corrupt_probability", "wrong_bcc_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise LocalProtocolError(f"faults.{name} must be between 0 and 1, got {value}")
        for name in ("drop_every", "corrupt_every", "wrong_bcc_every", "nak_storm", "answer_after"):
            if getattr(self, name) < 0:
                raise LocalProtocolError(f"faults.{name} cannot be negative")
        if self.late_every < 1:
            raise LocalProtocolError("faults.late_every must be at least 1")
        if self.delay < 0 or self.late < 0:
            raise LocalProtocolError("faults.delay and faults.late cannot be negative")
        if self.inactivity_timeout is not None and self.inactivity_timeout <= 0:
            raise LocalProtocolError("faults.inactivity_timeout must be positive")

    @property
    def spoils_bytes(self) -> bool:
        return bool(
            self.drop_probability
            or self.drop_every
            or self.corrupt_probability
            or self.corrupt_every
            or self.wrong_bcc_probability
            or self.wrong_bcc_every
        )

    @classmethod
    def from_table(cls, table: Table) -> Faults:
        """Read the ``[faults]`` table; unknown keys and wrong types name the key."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if not table.has(f.name):
                continue
            if f.name in ("echo", "silent"):
                values[f.name] = table.flag(f.name, False)
            elif f.name in ("delay", "late", "inactivity_timeout") or f.name.endswith("_probability"):
                values[f.name] = table.number(f.name, minimum=0.0)
            else:
                values[f.name] = table.integer(f.name, 0)
        table.finish()
        try:
            return cls(**values)  # type: ignore[arg-type]
        except LocalProtocolError as exc:
            raise LocalProtocolError(str(exc).replace("faults.", f"{table.path}.", 1)) from None


class FaultInjector:
    """The running state of :class:`Faults` for one connection."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)
        self.bytes_seen = 0
        self.frames_seen = 0
        self.replies_seen = 0
        self.dropped = 0
        """Bytes dropped so far."""
        self.corrupted = 0
        """Bytes changed so far."""
        self.bad_bccs = 0
        """Framed messages sent with a wrong BCC so far."""

    def _hit(self, probability: float, every: int, count: int) -> bool:
        if every and count % every == 0:
            return True
        return bool(probability) and self.random.random() < probability

    def spoil(self, data: bytes) -> bytes:
        """What actually leaves the meter when it means to send ``data``."""
        f = self.faults
        if not f.spoils_bytes:
            return data
        out = bytearray(data)
        if len(out) >= 3 and out[0] in (_SOH, _STX) and out[-2] in (_ETX, _EOT):
            self.frames_seen += 1
            if self._hit(f.wrong_bcc_probability, f.wrong_bcc_every, self.frames_seen):
                out[-1] = (out[-1] ^ 0x01) & 0x7F
                self.bad_bccs += 1
        kept = bytearray()
        for byte in out:
            self.bytes_seen += 1
            value = byte
            if self._hit(f.corrupt_probability, f.corrupt_every, self.bytes_seen):
                value ^= 1 << self.random.randrange(7)
                self.corrupted += 1
            if self._hit(f.drop_probability, f.drop_every, self.bytes_seen):
                self.dropped += 1
                continue
            kept.append(value)
        return bytes(kept)

    def reply_delay(self) -> float:
        """Extra seconds before the reply to a command."""
        self.replies_seen += 1
        f = self.faults
        if f.late and self.replies_seen % f.late_every == 0:
            return f.late
        return 0.0
