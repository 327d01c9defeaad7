"""The association over each framing layer, both roles, in memory: the whole sans-io stack.

Bytes cross a simulated wire cut into small pieces; the client association and framing run
against the server association and framing exactly as the blocking and asyncio fronts drive them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meterlink.dlms import axdr
from meterlink.dlms.association import ClientAssociation, SecuritySettings, ServerAssociation, Settings
from meterlink.dlms.events import Associated, Event, GetCompleted, PushReceived, Released
from meterlink.dlms.framing import (
    ApduIn,
    Framing,
    HdlcFraming,
    LinkDown,
    LinkUp,
    NeedData,
    Role,
    WrapperFraming,
)
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.parameters import HdlcParameters

from .test_association import AK, BUFFER, CLIENT_TITLE, EK, ENERGY, METER_TITLE, Meter, octets, u32


class Stack:
    def __init__(
        self, client: Framing, server: Framing, settings: Callable[[str], Settings], piece: int
    ) -> None:
        self.client_framing, self.server_framing = client, server
        self.meter = Meter()
        self.client = ClientAssociation(settings("client"))
        self.server = ServerAssociation(self.meter, settings("server"))
        self.piece = piece
        self.events: list[Event] = []
        self.link_events: list[object] = []
        self.sources: set[int | None] = set()
        """Where the server's APDUs came from, as the framing reports it (the client SAP)."""
        self.now = 0.0

    def _wire(self, chunks: list[bytes], to: Framing) -> bool:
        moved = False
        for chunk in chunks:
            datagram = isinstance(to, WrapperFraming) and to.datagrams
            pieces = (
                [chunk] if datagram else [chunk[i : i + self.piece] for i in range(0, len(chunk), self.piece)]
            )
            for piece in pieces:
                moved = True
                to.receive_data(piece, self.now)
        return moved

    def run(self) -> list[Event]:
        for _ in range(100_000):
            moved = False
            for apdu in self.client.data_to_send():
                self.client_framing.send_apdu(apdu, self.now)
            for apdu in self.server.data_to_send():
                self.server_framing.send_apdu(apdu, self.now)
            moved |= self._wire(self.client_framing.data_to_send(), self.server_framing)
            moved |= self._wire(self.server_framing.data_to_send(), self.client_framing)
            for framing, assoc in ((self.server_framing, self.server), (self.client_framing, self.client)):
                while not isinstance(event := framing.next_event(), NeedData):
                    moved = True
                    if isinstance(event, ApduIn):
                        if framing is self.server_framing:
                            self.sources.add(event.source)
                        assoc.receive_apdu(event.data)
                    else:
                        self.link_events.append(event)
            if not moved:
                events = self.client.events()
                self.events += events
                return events
        raise AssertionError("no quiet moment")


def hdlc(window: int, info: int) -> tuple[Framing, Framing]:
    params = HdlcParameters(info, info, window, window)
    server_address = HdlcAddress(1, 17)
    return (
        HdlcFraming(Role.CLIENT, client_address=16, server_address=server_address, parameters=params),
        HdlcFraming(Role.SERVER, server_address=server_address, parameters=params),
    )


def wrapper(datagrams: bool) -> tuple[Framing, Framing]:
    return (
        WrapperFraming(Role.CLIENT, local_port=16, remote_port=1, datagrams=datagrams),
        WrapperFraming(Role.SERVER, local_port=1, remote_port=16, datagrams=datagrams),
    )


def ciphered(role: str) -> Settings:
    title = CLIENT_TITLE if role == "client" else METER_TITLE
    security = SecuritySettings(
        SecurityPolicy.AUTHENTICATED_ENCRYPTED, key=EK, auth_key=AK, system_title=title
    )
    return Settings(mechanism=Mechanism.HLS_GMAC, security=security, max_receive_pdu_size=512)


LINKS = {
    "hdlc-window1-info128": lambda: hdlc(1, 128),
    "hdlc-window3-info48": lambda: hdlc(3, 48),
    "wrapper-tcp": lambda: wrapper(False),
    "wrapper-udp": lambda: wrapper(True),
}


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("security", ["plain", "hls-gmac-ciphered"])
def test_associate_get_long_get_push_release(link: str, security: str) -> None:
    client, server = LINKS[link]()
    settings = (lambda role: Settings(max_receive_pdu_size=512)) if security == "plain" else ciphered
    stack = Stack(client, server, settings, piece=7)
    client.open(0.0)
    server.open(0.0)
    stack.run()
    assert any(isinstance(e, LinkUp) for e in stack.link_events)
    stack.client.associate()
    assert isinstance(stack.run()[0], Associated)
    assert stack.sources == {16}  # the meter knows which client (association) is talking
    stack.client.get(ENERGY)
    assert stack.run() == [GetCompleted(1 if security == "plain" else 2, (u32(123_456),))]
    stack.client.get(BUFFER)
    (done,) = stack.run()
    assert isinstance(done, GetCompleted) and done.results == (octets(3000),)
    body = axdr.encode((axdr.DoubleLongUnsigned(7), b"push"))
    for apdu in stack.server.push(body):
        server.send_push(apdu, stack.now)  # type: ignore[attr-defined]
    (push,) = stack.run()
    assert isinstance(push, PushReceived) and push.notification.body == body
    stack.client.release()
    assert stack.run() == [Released("RLRE: normal")]
    client.close(1.0)
    stack.run()
    if link.startswith("hdlc"):
        assert any(isinstance(e, LinkDown) for e in stack.link_events)
