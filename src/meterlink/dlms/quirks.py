"""What real meters do differently from the Green Book, as one serialisable object per meter.

A gateway keeps a meter's quirks next to its address and keys (``to_dict``/``from_dict`` give plain
TOML/JSON-friendly values), and every layer reads the one field it cares about. Defaults are what
the standard says, so ``Quirks()`` is a conforming meter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis

__all__ = ["PRESETS", "DeviationSign", "Quirks"]

DeviationSign = Literal["utc-minus-local", "local-minus-utc"]

_ASSOCIATION = Obis.parse("0.0.40.0.0.255")
_FRAME_COUNTER = Obis.parse("0.0.43.1.0.255")


@dataclass(frozen=True, slots=True)
class Quirks:
    """Per-meter departures from the standard. Every field defaults to the conforming behaviour."""

    empty_system_title: bool = False
    """general-glo-ciphering arrives with a zero-length system title (Pietro Fiorentini RSE): use
    the one from the AARE instead of failing."""
    release_with_rlrq: bool = True
    """False for devices that never answer RLRQ: the association ends with the link (DISC)."""
    aare_without_user_information: bool = False
    """An accepting AARE may lack the InitiateResponse; assume the proposed conformance and PDU size."""
    tagged_push_date_time: bool = False
    """Kaifa puts an octet-string tag (``09 0C``) before the DataNotification date-time; decoding
    accepts both forms anyway, this makes an emulated meter send it."""
    iframe_pushes: bool = False
    """Pushes arrive in HDLC I-frames instead of UI frames."""
    high_priority: bool = True
    """Invoke-id-and-priority with the priority bit (0xC1). Older stacks send 0x81."""
    association_object: Obis = field(default=_ASSOCIATION)
    """The Association LN object that takes reply_to_HLS_authentication (Italian installer
    clients use another instance)."""
    frame_counter_object: Obis = field(default=_FRAME_COUNTER)
    """The Data object holding the invocation counter, read through the public client first."""
    deviation_sign: DeviationSign = "utc-minus-local"
    """How the meter signs the date-time deviation (most send UTC minus local, CET = -60)."""
    hls_challenge_length: int = 16
    """Bytes in our HLS challenge; 8..64 are allowed, some meters accept only 16."""

    _LIMITS: ClassVar[tuple[int, int]] = (8, 64)

    def __post_init__(self) -> None:
        low, high = self._LIMITS
        if not low <= self.hls_challenge_length <= high:
            raise LocalProtocolError(
                f"hls_challenge_length must be {low}..{high}, not {self.hls_challenge_length}"
            )
        if self.deviation_sign not in ("utc-minus-local", "local-minus-utc"):
            raise LocalProtocolError(f"unknown deviation_sign {self.deviation_sign!r}")

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from the standard, as plain values (OBIS codes as text)."""
        out: dict[str, Any] = {}
        default = Quirks()
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = str(value) if isinstance(value, Obis) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quirks:
        """The inverse of :meth:`to_dict`; unknown keys are an error, not silently ignored."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise LocalProtocolError(f"unknown quirk {key!r}; known: {', '.join(sorted(known))}")
            default = known[key].default
            if isinstance(default, Obis):
                value = Obis.parse(value) if isinstance(value, str) else value
                if not isinstance(value, Obis):
                    raise LocalProtocolError(f"quirk {key!r} wants an OBIS code")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise LocalProtocolError(f"quirk {key!r} wants true or false, not {value!r}")
            elif isinstance(default, int) and (not isinstance(value, int) or isinstance(value, bool)):
                raise LocalProtocolError(f"quirk {key!r} wants a whole number, not {value!r}")
            values[key] = value
        return cls(**values)

    def replace(self, **changes: Any) -> Quirks:
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, Quirks] = {
    "standard": Quirks(),
    "pietro-fiorentini": Quirks(empty_system_title=True),
    "kaifa": Quirks(tagged_push_date_time=True),
    "no-release": Quirks(release_with_rlrq=False),
    "legacy-invoke-id": Quirks(high_priority=False),
}
"""Named starting points for meters whose departures are known (see the DLMS reference notes)."""
