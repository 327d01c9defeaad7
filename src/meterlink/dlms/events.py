"""What the DLMS association state machines report, for both roles.

APDUs to send never appear here: :meth:`~meterlink.dlms.association.ClientAssociation.data_to_send`
hands them out (already ciphered where the association says so), the lower layer (HDLC or the
wrapper) frames them. Events are what the caller has to act on or may want to log.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterlink.dlms.apdu import (
    AARE,
    ActionOutcome,
    ConfirmedServiceError,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
)
from meterlink.dlms.apdu.initiate import Conformance
from meterlink.dlms.security import CipheredApdu

__all__ = [
    "ActionCompleted",
    "Associated",
    "AssociationRefused",
    "Event",
    "EventReported",
    "GetCompleted",
    "PushReceived",
    "Released",
    "ServiceFailed",
    "SetCompleted",
]


@dataclass(frozen=True, slots=True)
class Associated:
    """The association is open (after HLS pass 4 where a high-level mechanism is used)."""

    conformance: Conformance
    """Negotiated: what both sides support."""
    max_pdu_size: int
    """The largest APDU the peer accepts (its max receive PDU size)."""
    peer_system_title: bytes | None


@dataclass(frozen=True, slots=True)
class AssociationRefused:
    """The meter said no in its AARE (or failed our HLS check, ``aare`` then the accepting one)."""

    aare: AARE
    reason: str
    error: ConfirmedServiceError | None = None


@dataclass(frozen=True, slots=True)
class GetCompleted:
    """One GET answered, blocks joined. ``results`` has one entry per requested attribute: the
    raw A-XDR Data, or the meter's DataAccessResult for that attribute."""

    invoke_id: int
    results: tuple[bytes | DataAccessResult, ...]


@dataclass(frozen=True, slots=True)
class SetCompleted:
    invoke_id: int
    results: tuple[DataAccessResult, ...]


@dataclass(frozen=True, slots=True)
class ActionCompleted:
    invoke_id: int
    outcomes: tuple[ActionOutcome, ...]


@dataclass(frozen=True, slots=True)
class ServiceFailed:
    """The pending request was answered with an exception-response or confirmed-service-error."""

    invoke_id: int | None
    error: ExceptionResponse | ConfirmedServiceError


@dataclass(frozen=True, slots=True)
class PushReceived:
    """A DataNotification, in any state; ``ciphered`` is its envelope when it came protected."""

    notification: DataNotification
    ciphered: CipheredApdu | None = None


@dataclass(frozen=True, slots=True)
class EventReported:
    notification: EventNotificationRequest


@dataclass(frozen=True, slots=True)
class Released:
    """The association ended: ``reason`` says how (RLRE, RLRQ from the peer, or locally)."""

    reason: str


Event = (
    Associated
    | AssociationRefused
    | GetCompleted
    | SetCompleted
    | ActionCompleted
    | ServiceFailed
    | PushReceived
    | EventReported
    | Released
)
