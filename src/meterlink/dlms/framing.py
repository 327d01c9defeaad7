"""The layer under the DLMS association, one shape for HDLC and for the IEC 62056-47 wrapper.

An association speaks in whole APDUs; a link carries bytes. :class:`HdlcFraming` and
:class:`WrapperFraming` sit between them, sans-io, for either role:

* ``open(now)`` / ``close(now)`` set the link up and take it down (SNRM/UA and DISC for HDLC;
  nothing to do for the wrapper, which reports :class:`LinkUp` at once);
* ``send_apdu(apdu, now)`` frames one APDU (segments, windows, wrapper header);
* ``receive_data(data, now)`` takes bytes from the transport;
* ``next_event()`` gives :class:`LinkUp`, :class:`ApduIn` (``push=True`` for UI frames and
  wrapper PDUs from a meter's push port), :class:`LinkDown`, or :data:`NEED_DATA`;
* ``data_to_send()`` gives the chunks to write; on a datagram transport (UDP) each chunk is one
  datagram;
* ``deadline`` and ``time_passed(now)`` drive retransmission where the layer has any (HDLC).

The clients, the emulator and the push listener all run one of these under an association,
so HDLC over a serial port, HDLC over TCP and the wrapper over TCP or UDP differ in one line.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.dlms.wrapper import WrapperFramer, WrapperPdu, decode_datagram
from meterlink.errors import LocalProtocolError
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.connection import (
    ApduReceived,
    Connected,
    Disconnected,
    FrameDiscarded,
    FrameRejected,
    HdlcConnection,
    Role,
)
from meterlink.hdlc.connection import PushReceived as HdlcPush
from meterlink.hdlc.parameters import DEFAULT_PARAMETERS, HdlcParameters

__all__ = [
    "NEED_DATA",
    "ApduIn",
    "Framing",
    "FramingEvent",
    "HdlcFraming",
    "LinkDown",
    "LinkUp",
    "NeedData",
    "Role",
    "WrapperFraming",
]


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The link is ready for the AARQ; ``max_apdu_size`` is what the layer itself limits (HDLC
    segments anything, so it reports None)."""

    max_apdu_size: int | None = None


@dataclass(frozen=True, slots=True)
class ApduIn:
    data: bytes
    push: bool = False
    source: int | None = None
    """The sender's wrapper port or HDLC logical address, where the layer knows it."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


FramingEvent = LinkUp | ApduIn | LinkDown


class Framing(Protocol):
    role: Role

    def open(self, now: float) -> None: ...
    def close(self, now: float) -> None: ...
    def send_apdu(self, apdu: bytes, now: float) -> None: ...
    def receive_data(self, data: bytes, now: float) -> None: ...
    def next_event(self) -> FramingEvent | NeedData: ...
    def data_to_send(self) -> list[bytes]: ...
    @property
    def deadline(self) -> float | None: ...
    def time_passed(self, now: float) -> None: ...


class HdlcFraming:
    """HDLC (IEC 62056-46) under an association; the HDLC state machine does the real work."""

    def __init__(
        self,
        role: Role,
        *,
        client_address: int = 16,
        server_address: HdlcAddress | None = None,
        parameters: HdlcParameters = DEFAULT_PARAMETERS,
        response_timeout: float = 2.0,
        retries: int = 3,
        echo: bool = True,
    ) -> None:
        self.role = role
        self.hdlc = HdlcConnection(
            role,
            client_address=client_address if role is Role.CLIENT else None,
            server_address=server_address or HdlcAddress(1),
            parameters=parameters,
            response_timeout=response_timeout,
            retries=retries,
            echo=echo,
        )
        self.discarded = 0
        """Damaged frames dropped so far (noise, bad checksums): for statistics."""
        self._events: deque[FramingEvent] = deque()

    def open(self, now: float) -> None:
        if self.role is Role.CLIENT:
            self.hdlc.connect(now)

    def close(self, now: float) -> None:
        if self.role is Role.CLIENT:
            self.hdlc.disconnect(now)

    def send_apdu(self, apdu: bytes, now: float) -> None:
        self.hdlc.send_apdu(apdu, now)

    def send_push(self, apdu: bytes, now: float) -> None:
        self.hdlc.send_push(apdu, now)

    def receive_data(self, data: bytes, now: float) -> None:
        self.hdlc.receive_data(data, now)

    def time_passed(self, now: float) -> None:
        self.hdlc.time_passed(now)

    @property
    def deadline(self) -> float | None:
        return self.hdlc.deadline

    def data_to_send(self) -> list[bytes]:
        data = self.hdlc.data_to_send()
        return [data] if data else []

    def next_event(self) -> FramingEvent | NeedData:
        while True:
            if self._events:
                return self._events.popleft()
            event = self.hdlc.next_event()
            if isinstance(event, NeedData):
                return NEED_DATA
            if isinstance(event, Connected):
                return LinkUp()
            if isinstance(event, ApduReceived):
                peer = self.hdlc.peer
                return ApduIn(event.data, source=peer.logical if peer is not None else None)
            if isinstance(event, HdlcPush):
                return ApduIn(event.data, push=True)
            if isinstance(event, Disconnected):
                return LinkDown(str(event.reason))
            if isinstance(event, FrameRejected):
                return LinkDown(f"the meter rejected a frame (FRMR {event.raw.hex()})")
            if isinstance(event, FrameDiscarded):
                self.discarded += 1
                continue
            raise AssertionError(f"unknown HDLC event {event!r}")  # pragma: no cover


class WrapperFraming:
    """The IEC 62056-47 wrapper over TCP (a stream) or UDP (``datagrams=True``).

    ``local_port``/``remote_port`` are wrapper ports: the client SAP (16 public, 1 management)
    and the server's logical device (1). PDUs addressed to another port are dropped, except that
    a client takes pushes from any source port (meters push from their own logical device).
    """

    def __init__(
        self,
        role: Role,
        *,
        local_port: int,
        remote_port: int,
        datagrams: bool = False,
        max_apdu_size: int = 0xFFFF,
    ) -> None:
        self.role = role
        self.local_port = local_port
        self.remote_port = remote_port
        self.datagrams = datagrams
        self.discarded = 0
        self._framer = WrapperFramer(max_apdu_size=max_apdu_size)
        self._events: deque[FramingEvent] = deque()
        self._out: list[bytes] = []
        self.peer_port: int | None = None
        """Server role: the client port of the last PDU, answered to."""

    def open(self, now: float) -> None:
        self._events.append(LinkUp(0xFFFF))

    def close(self, now: float) -> None:
        self._events.append(LinkDown("closed"))

    def send_apdu(self, apdu: bytes, now: float) -> None:
        destination = self.remote_port
        if self.role is Role.SERVER and self.peer_port is not None:
            destination = self.peer_port
        if len(apdu) > 0xFFFF:
            raise LocalProtocolError(f"an APDU of {len(apdu)} bytes does not fit a wrapper PDU")
        self._out.append(WrapperPdu(self.local_port, destination, apdu).to_bytes())

    def send_push(self, apdu: bytes, now: float) -> None:
        self.send_apdu(apdu, now)

    def receive_data(self, data: bytes, now: float) -> None:
        if self.datagrams:
            self._take(decode_datagram(data))
            return
        self._framer.feed(data)
        while True:
            pdu = self._framer.next_pdu()
            if isinstance(pdu, NeedData):
                return
            self._take(pdu)

    def _take(self, pdu: WrapperPdu) -> None:
        if pdu.destination != self.local_port:
            self.discarded += 1
            return
        if self.role is Role.SERVER:
            self.peer_port = pdu.source
            self._events.append(ApduIn(pdu.apdu, source=pdu.source))
            return
        push = pdu.source != self.remote_port
        self._events.append(ApduIn(pdu.apdu, push=push, source=pdu.source))

    def next_event(self) -> FramingEvent | NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def data_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        if self.datagrams or len(out) <= 1:
            return out
        return [b"".join(out)]

    @property
    def deadline(self) -> float | None:
        return None

    def time_passed(self, now: float) -> None:
        return None

