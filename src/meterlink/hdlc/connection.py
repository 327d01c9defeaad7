"""The HDLC data link of the DLMS profile (normal response mode), sans-io, for both roles.

One class, :class:`HdlcConnection`, plays the client (primary station: it polls) or the server
(secondary station: it answers polls). It never touches a port, a clock or a thread. The code
around it:

1. calls what the application wants - :meth:`~HdlcConnection.connect`,
   :meth:`~HdlcConnection.send_apdu`, :meth:`~HdlcConnection.send_push`,
   :meth:`~HdlcConnection.disconnect` - and feeds what arrived with
   :meth:`~HdlcConnection.receive_data`, passing its clock's ``now``;
2. after each call writes :meth:`~HdlcConnection.data_to_send` to the link and drains
   :meth:`~HdlcConnection.next_event` until :data:`NEED_DATA`;
3. calls :meth:`~HdlcConnection.time_passed` once :attr:`~HdlcConnection.deadline` has come
   without input: that is how the client notices a lost frame and repeats it.

Output is bytes (``data_to_send()``), input is events - one shape for every transport. The
connection owns segmentation (S bit, the LLC header in the first segment only), the negotiated
window (k frames in flight, P/F on the last of the window), N(S)/N(R) modulo 8 with go-back-N
recovery on each poll, RR/RNR, DM/FRMR as typed events and UI push reassembly. Every transition
is looked up in the tables of :mod:`._state`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from meterlink.errors import (
    FrameTooLongError,
    LocalProtocolError,
    MalformedDataError,
    RemoteProtocolError,
    ResponseTimeout,
    UnexpectedMessageError,
)

from ._state import INPUT_OF_KIND, RECEIVED, TABLES, Input, Role, State
from .address import SERVER_UPPER_ALL_STATION, SERVER_UPPER_ALL_STATION_4, HdlcAddress
from .framer import NEED_DATA, BadFrame, Framer, NeedData
from .frames import MAX_FRAME_LENGTH, Frame, FrameKind, FrmrInfo
from .parameters import DEFAULT_PARAMETERS, HdlcParameters, answer_snrm, negotiate

__all__ = [
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "NEED_DATA",
    "ApduReceived",
    "Connected",
    "DisconnectReason",
    "Disconnected",
    "Event",
    "FrameDiscarded",
    "FrameRejected",
    "HdlcConnection",
    "NeedData",
    "PushReceived",
    "Role",
    "State",
]

LLC_REQUEST: Final = b"\xe6\xe6\x00"
"""LLC header of the first segment of an APDU from client to server."""
LLC_RESPONSE: Final = b"\xe6\xe7\x00"
"""LLC header of the first segment of an APDU from server to client (responses and pushes)."""


# ------------------------------------------------------------------------------------------------
# events
# ------------------------------------------------------------------------------------------------
class DisconnectReason(StrEnum):
    LOCAL = "our DISC was answered"
    REMOTE = "the client sent DISC"
    DM = "the peer answered DM (disconnected mode)"


@dataclass(frozen=True, slots=True)
class Connected:
    """The link is up; ``parameters`` are this station's effective values (transmit = outgoing)."""

    parameters: HdlcParameters


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A whole APDU, reassembled from its I-frame segments, LLC header removed."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PushReceived:
    """A whole APDU that came in UI frames (or I frames outside a link): a push."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: DisconnectReason


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """The peer answered FRMR; the link is down and must be set up again (connect()).

    ``info`` is None when the FRMR information field was too short to decode; ``raw`` keeps it.
    """

    info: FrmrInfo | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class FrameDiscarded:
    """A damaged frame (or noise that looked like one) was dropped; for logs and statistics."""

    error: RemoteProtocolError


Event = Connected | ApduReceived | PushReceived | Disconnected | FrameRejected | FrameDiscarded


def _strip_llc(data: bytes) -> bytes:
    if len(data) >= 3 and data[0] == 0xE6 and data[1] in (0xE6, 0xE7) and data[2] == 0:
        return data[3:]
    return data


# ------------------------------------------------------------------------------------------------
# the connection
# ------------------------------------------------------------------------------------------------
class HdlcConnection:
    """An HDLC data link for one role.

    ``client_address`` is the client SAP (an int) or address; a server may leave it ``None`` to
    accept any client, binding to the one that sends SNRM. ``server_address`` is the server's
    address (a client may address the upper all-station address to listen for any meter's
    pushes). ``parameters`` are this station's wishes (client) or capabilities (server).
    ``response_timeout`` and ``retries`` govern how a client repeats unanswered frames;
    ``echo`` drops our own frames if the link sends them back (optical heads, RS-485).
    """

    def __init__(
        self,
        role: Role,
        *,
        client_address: HdlcAddress | int | None,
        server_address: HdlcAddress,
        parameters: HdlcParameters = DEFAULT_PARAMETERS,
        response_timeout: float = 2.0,
        retries: int = 3,
        echo: bool = True,
        max_apdu_size: int = 1 << 20,
        max_sequence_errors: int = 8,
    ) -> None:
        if isinstance(client_address, int):
            client_address = HdlcAddress.client(client_address)
        if client_address is None and role is Role.CLIENT:
            raise LocalProtocolError("a client needs its own client address")
        if client_address is not None and client_address.size != 1:
            raise LocalProtocolError("a client address is always one byte")
        if retries < 0 or response_timeout <= 0:
            raise LocalProtocolError("retries must be >= 0 and response_timeout > 0")
        self.role = role
        self.client_address = client_address
        self.server_address = server_address
        self.parameters = parameters
        self.negotiated = DEFAULT_PARAMETERS
        """The effective parameters of the current link (this station's view)."""
        self.response_timeout = response_timeout
        self.retries = retries
        self.max_apdu_size = max_apdu_size
        self.max_sequence_errors = max_sequence_errors
        self.busy = False
        """Server only: answer polls with RNR (receiver not ready) while True."""
        self.state = State.DISCONNECTED
        self._table = TABLES[role]
        self._echo = echo
        self._framer = Framer(drop_echo=echo)
        self._events: deque[Event] = deque()
        self._out = bytearray()
        self._deadline: float | None = None
        self._now = 0.0
        self._peer: HdlcAddress | None = server_address if role is Role.CLIENT else client_address
        self._reset_link()
        self._push_rx = bytearray()
        self._last_command = b""
        self._frmr_frame = b""

    # -- the link state -------------------------------------------------------------------------
    def _reset_link(self) -> None:
        self._vs = 0
        self._vr = 0
        self._va = 0
        self._unacked = 0
        self._segments: deque[tuple[bytes, bool]] = deque()
        self._rx = bytearray()
        self._rx_more = False
        self._peer_busy = False
        self._awaiting_reply = False
        self._holding_poll = False
        self._delivered = False
        self._seq_errors = 0
        self._retries_left = self.retries
        self._deadline = None
        self._poll_out = False

    @property
    def peer(self) -> HdlcAddress | None:
        """The station at the other end: for a server, the client that set the link up (its SAP
        picks the association); for a client, the meter it talks to."""
        return self._peer

    @property
    def own_address(self) -> HdlcAddress:
        if self.role is Role.CLIENT:
            assert self.client_address is not None
            return self.client_address
        return self.server_address

    @property
    def deadline(self) -> float | None:
        """When the connection wants :meth:`time_passed` called if nothing arrives before."""
        return self._deadline

    @property
    def sending(self) -> bool:
        """Whether APDU segments wait to be sent or acknowledged."""
        return bool(self._segments)

    @property
    def max_info_transmit(self) -> int:
        """Largest information field this station puts in one frame on the current link."""
        return min(self.negotiated.max_info_transmit, self._room())

    def _room(self) -> int:
        """The information field that fits the 11-bit length with our addresses."""
        return MAX_FRAME_LENGTH - 7 - len(self.own_address.encoded) - len(self._peer_address().encoded)

    # -- input ----------------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes arrived from the link at time ``now``."""
        self._now = max(self._now, now)
        if data:
            self._framer.feed(data)

    def time_passed(self, now: float) -> None:
        """Let the connection see the clock; past the deadline, the timeout transition runs.

        Raises :class:`~meterlink.errors.ResponseTimeout` when the peer stayed silent through
        every repetition (the link is then considered down).
        """
        self._now = max(self._now, now)
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._input(Input.TIMEOUT, None)

    def next_event(self) -> Event | NeedData:
        """The next protocol event, or :data:`NEED_DATA`.

        Raises :class:`~meterlink.errors.RemoteProtocolError` subclasses when the peer broke the
        protocol in a way the link cannot recover from (a frame not allowed in this state, an
        N(R) acknowledging frames never sent, sequence errors that do not stop).
        """
        while not self._events:
            item = self._framer.next_frame()
            if isinstance(item, NeedData):
                return NEED_DATA
            if isinstance(item, BadFrame):
                self._events.append(FrameDiscarded(item.error))
                break
            self._on_frame(item)
        return self._events.popleft()

    def events(self) -> list[Event]:
        """Drain :meth:`next_event` into a list."""
        found: list[Event] = []
        while not isinstance(event := self.next_event(), NeedData):
            found.append(event)
        return found

    def data_to_send(self) -> bytes:
        """Everything queued for transmission since the last call (frames back to back)."""
        data = bytes(self._out)
        self._out.clear()
        return data

    # -- what the caller wants ------------------------------------------------------------------
    def connect(self, now: float | None = None) -> None:
        """Client: send SNRM with our parameters; ``Connected`` follows the UA."""
        self._tick(now)
        self._input(Input.CONNECT, None)

    def send_apdu(self, apdu: bytes, now: float | None = None, *, expect_reply: bool = True) -> None:
        """Send one APDU in as many I frames as the negotiated length needs.

        A client keeps polling for the answer unless ``expect_reply`` is False (unconfirmed
        services). A server sends when the client polls (right away if it is holding the poll).
        """
        if not apdu:
            raise LocalProtocolError("an APDU cannot be empty")
        self._tick(now)
        self._input(Input.SEND_APDU, (bytes(apdu), expect_reply))

    def send_push(self, apdu: bytes, now: float | None = None) -> None:
        """Send an APDU in UI frames (S bit on all but the last; LLC header first)."""
        if not apdu:
            raise LocalProtocolError("an APDU cannot be empty")
        self._tick(now)
        self._input(Input.SEND_PUSH, bytes(apdu))

    def disconnect(self, now: float | None = None) -> None:
        """Client: send DISC (also allowed when not connected, to clear a stale link on the meter)."""
        self._tick(now)
        self._input(Input.DISCONNECT, None)

    def _tick(self, now: float | None) -> None:
        if now is not None:
            self._now = max(self._now, now)

    # -- dispatch -------------------------------------------------------------------------------
    def _on_frame(self, frame: Frame) -> None:
        own = self.own_address
        server = self.server_address
        any_server = server.logical in (SERVER_UPPER_ALL_STATION, SERVER_UPPER_ALL_STATION_4)
        # A push listener (server address all-station) takes UI frames whatever they are
        # addressed to: meters push to odd destinations (L+G E450: 2-byte CE FF).
        listening = self.role is Role.CLIENT and any_server and frame.kind is FrameKind.UI
        if not listening and not own.accepts(frame.destination):
            return  # another station's frame on a shared line
        if self.role is Role.CLIENT:
            if not any_server and not server.same_station(frame.source):
                return
        else:
            if frame.source.size != 1:
                return
            expected = self._peer if self._peer is not None else self.client_address
            if expected is not None and not expected.same_station(frame.source):
                takeover = frame.kind is FrameKind.SNRM and self.client_address is None
                if not takeover:
                    return  # another client's frame while the link belongs to this one
        self._input(INPUT_OF_KIND[frame.kind], frame)

    def _input(self, kind: Input, payload: Any) -> None:
        entry = self._table.get((self.state, kind))
        if entry is None:
            if kind in RECEIVED:
                raise UnexpectedMessageError(
                    f"{self.role} received {kind.value} while {self.state.value}",
                    data=payload.to_bytes(),
                    offset=0,
                )
            raise LocalProtocolError(f"{kind.value} not allowed for a {self.role} while {self.state.value}")
        name, targets = entry
        handler: Callable[[Any], State] = getattr(self, "_" + name)
        new_state = handler(payload)
        if new_state not in targets:  # guards the table against the code
            raise AssertionError(f"{name} moved to {new_state} from {self.state}; table allows {targets}")
        self.state = new_state

    # -- output helpers -------------------------------------------------------------------------
    def _peer_address(self) -> HdlcAddress:
        peer = self._peer
        if peer is None:
            raise LocalProtocolError("no client has connected yet")
        return peer

    def _transmit(
        self,
        kind: FrameKind,
        poll_final: bool,
        info: bytes = b"",
        *,
        segmented: bool = False,
        send_seq: int = 0,
        receive_seq: int = 0,
        to: HdlcAddress | None = None,
    ) -> bytes:
        destination = self._peer_address() if to is None else to
        frame = Frame(kind, destination, self.own_address, poll_final, info, segmented, send_seq, receive_seq)
        data = frame.to_bytes()
        self._out += data
        if self._echo:
            self._framer.expect_echo(data)
        return data

    def _arm(self) -> None:
        self._deadline = self._now + self.response_timeout

    def _send_command(self, kind: FrameKind, info: bytes = b"") -> None:
        self._last_command = self._transmit(kind, True, info)
        self._retries_left = self.retries
        self._poll_out = True
        self._arm()

    def _segment(self, apdu: bytes, llc: bytes, size: int) -> list[tuple[bytes, bool]]:
        data = llc + apdu
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        return [(chunk, i < len(chunks) - 1) for i, chunk in enumerate(chunks)]

    def _send_window(self) -> None:
        """Send up to a window of I frames from the oldest unacknowledged one (go-back-N)."""
        self._vs = self._va
        count = min(self.negotiated.window_transmit, len(self._segments))
        for i in range(count):
            info, more = self._segments[i]
            self._transmit(
                FrameKind.I,
                i == count - 1,
                info,
                segmented=more,
                send_seq=self._vs,
                receive_seq=self._vr,
            )
            self._vs = (self._vs + 1) & 7
        self._unacked = count
        if self.role is Role.CLIENT:
            self._poll_out = True
            self._arm()

    def _poll_peer(self) -> None:
        """Client: RR with P set - "send what you have" (or tell us where you are)."""
        self._transmit(FrameKind.RR, True, receive_seq=self._vr)
        self._poll_out = True
        self._arm()

    # -- numbered transfer, both roles ----------------------------------------------------------
    def _acknowledge(self, frame: Frame) -> bool:
        """Apply the N(R) of ``frame``; False if it acknowledges frames never sent."""
        acked = (frame.receive_seq - self._va) & 7
        if acked > self._unacked:
            return False
        for _ in range(acked):
            self._segments.popleft()
        self._unacked -= acked
        self._va = frame.receive_seq
        return True

    def _bad_receive_seq(self, frame: Frame) -> State:
        if self.role is Role.SERVER:
            return self._reject(frame, FrmrInfo(frame.control, invalid_receive_seq=True))
        raise UnexpectedMessageError(
            f"N(R)={frame.receive_seq} acknowledges frames never sent (V(A)={self._va}, V(S)={self._vs})",
            data=frame.to_bytes(),
            offset=0,
        )

    def _reject(self, frame: Frame, reason: FrmrInfo) -> State:
        info = FrmrInfo(
            reason.rejected_control,
            send_state=self._vs,
            receive_state=self._vr,
            undefined_control=reason.undefined_control,
            info_not_allowed=reason.info_not_allowed,
            info_too_long=reason.info_too_long,
            invalid_receive_seq=reason.invalid_receive_seq,
            invalid_send_seq=reason.invalid_send_seq,
        ).to_bytes()
        self._frmr_frame = self._transmit(FrameKind.FRMR, True, info)
        self._segments.clear()
        self._unacked = 0
        return State.FRAME_REJECT

    def _on_i(self, frame: Frame) -> State:
        if not self._acknowledge(frame):
            return self._bad_receive_seq(frame)
        if self.role is Role.SERVER and len(frame.info) > self.negotiated.max_info_receive:
            return self._reject(frame, FrmrInfo(frame.control, info_too_long=True))
        if frame.send_seq == self._vr:
            self._seq_errors = 0
            self._vr = (self._vr + 1) & 7
            self._take_segment(frame)
        else:
            self._seq_errors += 1  # a lost or repeated frame: the poll answer tells the peer
            if self._seq_errors > self.max_sequence_errors:
                raise UnexpectedMessageError(
                    f"N(S)={frame.send_seq} where {self._vr} was due, {self._seq_errors} times in a row",
                    data=frame.to_bytes(),
                    offset=0,
                )
        self._after_numbered(frame)
        return self.state

    def _on_rr(self, frame: Frame) -> State:
        if not self._acknowledge(frame):
            return self._bad_receive_seq(frame)
        self._peer_busy = False
        self._after_numbered(frame)
        return self.state

    def _on_rnr(self, frame: Frame) -> State:
        if not self._acknowledge(frame):
            return self._bad_receive_seq(frame)
        self._peer_busy = True
        self._after_numbered(frame)
        return self.state

    def _after_numbered(self, frame: Frame) -> None:
        if frame.poll_final:
            self._poll_turn()
        elif self.role is Role.CLIENT:
            self._arm()  # the server is still sending its window

    def _take_segment(self, frame: Frame) -> None:
        if len(self._rx) + len(frame.info) > self.max_apdu_size:
            self._rx.clear()
            self._rx_more = False
            raise FrameTooLongError(
                f"APDU over {self.max_apdu_size} bytes", data=frame.to_bytes()[:64], offset=0
            )
        self._rx += frame.info
        if frame.segmented:
            self._rx_more = True
            return
        self._rx_more = False
        data = _strip_llc(bytes(self._rx))
        self._rx.clear()
        self._awaiting_reply = False
        self._delivered = True
        self._events.append(ApduReceived(data))

    def _poll_turn(self) -> None:
        """The peer handed over the poll: act on what is pending."""
        delivered, self._delivered = self._delivered, False
        if self.role is Role.CLIENT:
            self._retries_left = self.retries
            self._deadline = None
            self._poll_out = False
            if self._segments and not self._peer_busy:
                self._send_window()
            elif self._rx_more:
                self._poll_peer()
            elif self._segments or self._awaiting_reply:
                self._arm()  # the server is busy or not ready: poll it when the deadline comes
            return
        if self.busy:
            self._transmit(FrameKind.RNR, True, receive_seq=self._vr)
        elif self._segments:
            self._send_window()
        elif self._rx_more or not (delivered or self._holding_poll):
            self._transmit(FrameKind.RR, True, receive_seq=self._vr)
        else:
            self._holding_poll = True  # the application owes an answer: send_apdu() sends it

    # -- handlers: client -----------------------------------------------------------------------
    def _start_connect(self, _: None) -> State:
        self._reset_link()
        self._send_command(FrameKind.SNRM, self.parameters.to_info())
        return State.CONNECTING

    def _on_connect_ua(self, frame: Frame) -> State:
        try:
            stated = HdlcParameters.from_info(frame.info)
        except MalformedDataError as exc:
            raise MalformedDataError(
                f"UA parameters: {exc.message}", data=frame.to_bytes(), offset=exc.offset
            ) from None
        self._reset_link()
        self.negotiated = negotiate(self.parameters, stated)
        self._events.append(Connected(self.negotiated))
        return State.CONNECTED

    def _on_dm(self, frame: Frame) -> State:
        self._reset_link()
        self._events.append(Disconnected(DisconnectReason.DM))
        return State.DISCONNECTED

    def _on_frmr(self, frame: Frame) -> State:
        try:
            info: FrmrInfo | None = FrmrInfo.from_bytes(frame.info)
        except MalformedDataError:
            info = None
        self._reset_link()
        self._events.append(FrameRejected(info, frame.info))
        return State.DISCONNECTED

    def _retry_command(self, _: None) -> State:
        if self._retries_left <= 0:
            return self._give_up()
        self._retries_left -= 1
        self._out += self._last_command
        if self._echo:
            self._framer.expect_echo(self._last_command)
        self._arm()
        return self.state

    def _give_up(self) -> State:
        what = self.state.value
        self._reset_link()
        self.state = State.DISCONNECTED
        raise ResponseTimeout(f"no answer from the server while {what}, after {self.retries} repetitions")

    def _on_timeout(self, _: None) -> State:
        if self._retries_left <= 0:
            return self._give_up()
        self._retries_left -= 1
        if self._unacked and not self._peer_busy:
            self._send_window()  # repeat what was not acknowledged
        else:
            self._poll_peer()
        return self.state

    def _start_disconnect(self, _: None) -> State:
        self._reset_link()
        self._send_command(FrameKind.DISC)
        return State.DISCONNECTING

    def _on_released(self, frame: Frame) -> State:
        self._reset_link()
        self._events.append(Disconnected(DisconnectReason.LOCAL))
        return State.DISCONNECTED

    def _send_apdu(self, payload: tuple[bytes, bool]) -> State:
        apdu, expect_reply = payload
        llc = LLC_REQUEST if self.role is Role.CLIENT else LLC_RESPONSE
        self._segments.extend(self._segment(apdu, llc, self.max_info_transmit))
        if self.role is Role.CLIENT:
            self._awaiting_reply = self._awaiting_reply or expect_reply
            # the client holds the poll unless a window or a poll is out
            if not self._poll_out and not self._peer_busy:
                self._send_window()
        elif self._holding_poll and not self.busy:
            self._holding_poll = False
            self._send_window()
        return self.state

    # -- handlers: server -----------------------------------------------------------------------
    def _on_snrm(self, frame: Frame) -> State:
        try:
            requested = HdlcParameters.from_info(frame.info)
        except MalformedDataError as exc:
            raise MalformedDataError(
                f"SNRM parameters: {exc.message}", data=frame.to_bytes(), offset=exc.offset
            ) from None
        self._peer = frame.source
        self._reset_link()
        self.negotiated = answer_snrm(requested, self.parameters)
        self._transmit(FrameKind.UA, True, self.negotiated.to_info())
        self._events.append(Connected(self.negotiated))
        return State.CONNECTED

    def _on_disc(self, frame: Frame) -> State:
        self._transmit(FrameKind.UA, True)
        self._reset_link()
        self._events.append(Disconnected(DisconnectReason.REMOTE))
        return State.DISCONNECTED

    def _answer_dm(self, frame: Frame) -> State:
        if frame.poll_final or frame.kind is FrameKind.DISC:
            self._transmit(FrameKind.DM, True, to=frame.source)
        return State.DISCONNECTED

    def _repeat_frmr(self, frame: Frame) -> State:
        if frame.poll_final and self._frmr_frame:
            self._out += self._frmr_frame
        return State.FRAME_REJECT

    # -- handlers: both -------------------------------------------------------------------------
    def _ignore(self, _: object) -> State:
        return self.state

    def _on_push_frame(self, frame: Frame) -> State:
        if len(self._push_rx) + len(frame.info) > self.max_apdu_size:
            self._push_rx.clear()
            raise FrameTooLongError(
                f"pushed APDU over {self.max_apdu_size} bytes", data=frame.to_bytes()[:64], offset=0
            )
        self._push_rx += frame.info
        if not frame.segmented:
            data = _strip_llc(bytes(self._push_rx))
            self._push_rx.clear()
            if data:
                self._events.append(PushReceived(data))
        return self.state

    def _send_push(self, apdu: bytes) -> State:
        llc = LLC_REQUEST if self.role is Role.CLIENT else LLC_RESPONSE
        if self._peer is None:
            raise LocalProtocolError("no client address to push to")
        size = self.max_info_transmit
        if self.state is State.DISCONNECTED:  # no negotiation: our own setting decides
            size = min(self.parameters.max_info_transmit, self._room())
        for info, more in self._segment(apdu, llc, size):
            self._transmit(FrameKind.UI, not more, info, segmented=more)
        return self.state
