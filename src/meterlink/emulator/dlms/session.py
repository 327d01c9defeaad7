"""One line of the emulated meter, sans-io: bytes and the time in, bytes (with a send time) out.

:class:`LinkSession` runs the driver loop of ``tests/dlms/test_stack.py`` for the meter side:
bytes go to the framing (HDLC, or the wrapper on a stream or datagrams), whole APDUs go to the
server association of the client SAP that sent them, the association's answers go back through
the framing. Each logical device has its own framing on the line (its HDLC address or wrapper
port), so one connection reaches whichever device the client addresses. A line quiet for the
idle timeout is closed (``closed`` turns True), as a meter drops a dead HDLC link.

:class:`ModeESession` puts the IEC 62056-21 sign-on in front (the core's
:class:`~meterlink.iec62056_21.connection.MeterConnection`): the meter answers ``/?!`` with an
identification containing ``\\2``, takes ``ACK 2 Z 2``, and from then on speaks HDLC until the
client disconnects or goes quiet; then it listens for a sign-on again.

:class:`PushSender` frames the pushes of a push setup for its destination. A push setup whose
destination is ``session`` pushes over the line instead: :meth:`LinkSession.push` hands the
DataNotification to the client's open association there (ciphered as it ciphers) and sends it
as HDLC UI frames or wrapper PDUs between the requests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from meterlink.dlms._state import State
from meterlink.dlms.association import ServerAssociation
from meterlink.dlms.framing import ApduIn, HdlcFraming, LinkDown, LinkUp, NeedData, Role, WrapperFraming
from meterlink.dlms.wrapper import WrapperPdu
from meterlink.errors import MeterlinkError
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.connection import HdlcConnection
from meterlink.hdlc.parameters import HdlcParameters
from meterlink.iec62056_21.connection import MeterConnection, MeterSettings
from meterlink.iec62056_21.events import BinaryModeEntered, Send
from meterlink.iec62056_21.framer import NeedData as IecNeedData
from meterlink.obis import Obis
from meterlink.transport.base import line_time

from .objects import DlmsMeter, PushSetup

__all__ = ["LinkSession", "ModeESession", "Outgoing", "PushSender"]

log = logging.getLogger("meterlink.emulator.dlms")

Framing = HdlcFraming | WrapperFraming


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes to write (one datagram each on UDP), not before ``not_before``."""

    data: bytes
    not_before: float = 0.0


def server_address(logical: int, physical: int) -> HdlcAddress:
    return HdlcAddress(logical, physical)


class LinkSession:
    """A DLMS line (TCP connection, pty, UDP peer) of one meter; see the module docstring."""

    def __init__(
        self, meter: DlmsMeter, transport: str = "hdlc", *, datagrams: bool = False, now: float = 0.0
    ) -> None:
        if transport not in ("hdlc", "wrapper"):
            raise ValueError(f"transport is hdlc or wrapper, not {transport!r}")
        self.meter = meter
        self.transport = transport
        d = meter.description
        self.idle_timeout = d.hdlc.inactivity_timeout if transport == "hdlc" else d.idle_timeout
        self.framings: dict[int, Framing] = {}
        for device in d.logical_devices:
            framing: Framing
            if transport == "hdlc":
                params = HdlcParameters(d.hdlc.max_info, d.hdlc.max_info, d.hdlc.window, d.hdlc.window)
                framing = HdlcFraming(
                    Role.SERVER,
                    server_address=server_address(device.address, d.physical_address),
                    parameters=params,
                    echo=False,
                )
            else:
                framing = WrapperFraming(
                    Role.SERVER, local_port=device.address, remote_port=16, datagrams=datagrams
                )
            framing.open(now)
            self.framings[device.address] = framing
        self.associations: dict[tuple[int, int], ServerAssociation] = {}
        self.closed = False
        self.last_rx = now
        self.links_ended = 0
        """HDLC links the client took down (DISC) so far."""
        self._out: list[Outgoing] = []
        self._pump(now)

    # -- input ------------------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the line (one whole datagram on UDP)."""
        if self.closed or not data:
            return
        self.last_rx = now
        for framing in self.framings.values():
            try:
                framing.receive_data(data, now)
            except MeterlinkError as exc:  # a meter ignores what it cannot parse
                log.debug("framing dropped input: %s", exc)
        self._pump(now)

    def time_passed(self, now: float) -> None:
        for framing in self.framings.values():
            deadline = framing.deadline
            if deadline is not None and now >= deadline:
                try:
                    framing.time_passed(now)
                except MeterlinkError as exc:
                    log.debug("framing timed out: %s", exc)
        if now - self.last_rx >= self.idle_timeout:
            self.close(now)
        self._pump(now)

    @property
    def deadline(self) -> float | None:
        """When :meth:`time_passed` must run if nothing arrives before (HDLC timers, idle timeout)."""
        if self.closed:
            return None
        times = [f.deadline for f in self.framings.values() if f.deadline is not None]
        return min([*times, self.last_rx + self.idle_timeout])

    def close(self, now: float) -> None:
        """The line is gone (or idle): every association with it."""
        for association in self.associations.values():
            association.link_lost()
        self.associations.clear()
        self.closed = True

    # -- pushes over the open line ---------------------------------------------------------------
    def push(self, logical: int, obis: Obis, now: float) -> int:
        """Push ``obis`` of ``logical`` to the clients associated on this line; how many got it.

        The push goes to the association of the push setup's ``association`` client, or to every
        open association on the logical device when it names none; each association ciphers it
        as it ciphers its responses. Over HDLC it goes in UI frames to the connected client, over
        the wrapper from the logical device's port to the client's port.
        """
        framing = self.framings.get(logical)
        device = self.meter.devices.get(logical)
        setup = device.objects.get(obis) if device is not None else None
        if self.closed or framing is None or not isinstance(setup, PushSetup):
            return 0
        wanted = int(setup.params["association"])
        targets = [
            association
            for (ld, client), association in self.associations.items()
            if ld == logical and (not wanted or client == wanted) and association.state is State.ASSOCIATED
        ]
        if not targets:
            return 0
        body = self.meter.push_body(logical, obis, now)
        stamp = self.meter.date_time(self.meter.wall_time(now))
        for association in targets:
            for apdu in association.push(body, date_time=stamp):
                try:
                    framing.send_push(apdu, now)
                except MeterlinkError as exc:
                    log.debug("cannot push over the line: %s", exc)
        self._pump(now)
        return len(targets)

    # -- output -----------------------------------------------------------------------------------
    def data_to_send(self) -> list[Outgoing]:
        out, self._out = self._out, []
        return out

    # -- the loop ---------------------------------------------------------------------------------
    def _client_of(self, framing: Framing, event: ApduIn) -> int | None:
        """The client SAP (wrapper source port, or the HDLC client that set the link up)."""
        return event.source

    def _pump(self, now: float) -> None:
        for logical, framing in self.framings.items():
            while not isinstance(event := framing.next_event(), NeedData):
                if isinstance(event, ApduIn):
                    self._apdu(logical, framing, event, now)
                elif isinstance(event, LinkDown):
                    self.links_ended += 1
                    for key in [k for k in self.associations if k[0] == logical]:
                        self.associations.pop(key).link_lost()
                elif isinstance(event, LinkUp) and isinstance(framing, HdlcFraming):
                    for key in [k for k in self.associations if k[0] == logical]:
                        self.associations.pop(key).link_lost()  # a new SNRM: a new link
            self._out += [Outgoing(chunk, now) for chunk in framing.data_to_send()]

    def _apdu(self, logical: int, framing: Framing, event: ApduIn, now: float) -> None:
        client = self._client_of(framing, event)
        if client is None or not event.data:
            return
        key = (logical, client)
        association = self.associations.get(key)
        if association is None:
            association = self.meter.open_association(logical, client)
            if association is None:
                refusal = self.meter.refusal(event.data)
                if refusal is not None:
                    framing.send_apdu(refusal, now)
                return
            self.associations[key] = association
        application = association.application
        application.now = now  # type: ignore[attr-defined]
        try:
            association.receive_apdu(event.data)
        except MeterlinkError as exc:  # bad APDUs, replays, wrong tags: a meter stays silent
            log.debug("association of client %d ignored an APDU: %s", client, exc)
        for apdu in association.data_to_send():
            try:
                framing.send_apdu(apdu, now)
            except MeterlinkError as exc:
                log.debug("cannot send an answer: %s", exc)


class ModeESession:
    """IEC 62056-21 sign-on, then HDLC (mode E), on a serial line; see the module docstring."""

    def __init__(self, meter: DlmsMeter, *, now: float = 0.0) -> None:
        self.meter = meter
        spec = meter.description.mode_e
        self.settings = MeterSettings(
            identification=spec.identification,
            reaction_time=spec.reaction_time,
            switch_delay=spec.switch_delay,
            option_timeout=spec.option_timeout,
            inactivity_timeout=spec.inactivity_timeout,
        )
        self.iec: MeterConnection | None = MeterConnection(self.settings)
        self.hdlc: LinkSession | None = None
        self.baud_rate = 300
        self.closed = False
        self._rx_free = 0.0
        self._out: list[Outgoing] = []

    def receive_data(self, data: bytes, now: float) -> None:
        if self.hdlc is not None:
            self.hdlc.receive_data(data, now)
            self._after_hdlc(now)
            return
        assert self.iec is not None
        # A pty hands over at once what a line delivers character by character: the meter hears
        # the last byte after its line time (its reaction time counts from there, as on a line).
        now = self._rx_free = max(now, self._rx_free) + line_time(len(data), self.iec.baud_rate)
        try:
            self.iec.receive_data(data, now)
        except MeterlinkError as exc:
            log.debug("sign-on ignored input: %s", exc)
        self._drain(now)

    def time_passed(self, now: float) -> None:
        if self.hdlc is not None:
            self.hdlc.time_passed(now)
            self._after_hdlc(now)
            return
        assert self.iec is not None
        deadline = self.iec.deadline
        if deadline is not None and now >= deadline:
            try:
                self.iec.time_passed(now)
            except MeterlinkError as exc:
                log.debug("sign-on timed out: %s", exc)
        self._drain(now)

    @property
    def deadline(self) -> float | None:
        if self.hdlc is not None:
            return self.hdlc.deadline
        return self.iec.deadline if self.iec is not None else None

    def data_to_send(self) -> list[Outgoing]:
        out, self._out = self._out, []
        return out

    def push(self, logical: int, obis: Obis, now: float) -> int:
        """As :meth:`LinkSession.push`, once the line speaks HDLC (0 during the sign-on)."""
        if self.hdlc is None:
            return 0
        count = self.hdlc.push(logical, obis, now)
        self._after_hdlc(now)
        return count

    def _drain(self, now: float) -> None:
        iec = self.iec
        assert iec is not None
        while True:
            try:
                event = iec.next_event()
            except MeterlinkError as exc:
                log.debug("sign-on ignored a message: %s", exc)
                continue
            if isinstance(event, IecNeedData):
                return
            if isinstance(event, Send):
                self._out.append(Outgoing(event.data, event.not_before))
            elif isinstance(event, BinaryModeEntered):
                self.baud_rate = event.baud_rate
                self.iec = None
                self.hdlc = LinkSession(self.meter, "hdlc", now=now)
                self.hdlc.idle_timeout = self.settings.inactivity_timeout
                if event.leftover:
                    self.hdlc.receive_data(event.leftover, now)
                self._after_hdlc(now)
                return
            # everything else (sign-on seen, readout requested...) has no DLMS meaning: mode E only

    def _after_hdlc(self, now: float) -> None:
        hdlc = self.hdlc
        assert hdlc is not None
        self._out += hdlc.data_to_send()
        if hdlc.closed or hdlc.links_ended:
            # DISC or silence: the line returns to 300 Bd and waits for a sign-on
            self.hdlc = None
            self.iec = MeterConnection(self.settings)
            self.baud_rate = 300


class PushSender:
    """Frames the pushes of one push setup: wrapper PDUs or HDLC UI frames, ready for the socket."""

    def __init__(self, meter: DlmsMeter, logical: int, obis: Obis) -> None:
        self.meter = meter
        self.logical = logical
        self.obis = obis
        obj = meter.devices[logical].objects[obis]
        assert isinstance(obj, PushSetup)
        self.setup = obj
        self.session = meter.push_session(logical, obis)
        self.client_sap = int(obj.params["client_sap"])
        self.transport: str = obj.params["transport"]
        self.destination: str | None = obj.params["destination"]
        d = meter.description
        if self.transport == "hdlc":
            info = int(obj.params["max_info"])
            self.hdlc: HdlcConnection | None = HdlcConnection(
                Role.SERVER,
                client_address=HdlcAddress.client(self.client_sap),
                server_address=server_address(logical, d.physical_address),
                parameters=HdlcParameters(info, info),
                echo=False,
            )
            self.hdlc.negotiated = HdlcParameters(info, info)
        else:
            self.hdlc = None

    def frames(self, now: float) -> list[bytes]:
        """One push now: the chunks to send (datagrams on UDP, concatenate on TCP)."""
        body = self.meter.push_body(self.logical, self.obis, now)
        stamp = self.meter.date_time(self.meter.wall_time(now))
        apdus = self.session.push(body, date_time=stamp)
        if self.hdlc is None:
            return [WrapperPdu(self.logical, self.client_sap, apdu).to_bytes() for apdu in apdus]
        out = []
        for apdu in apdus:
            self.hdlc.send_push(apdu, now)
            out.append(self.hdlc.data_to_send())
        return out


DEFAULT_WRAPPER_PORT: Final = 4059
