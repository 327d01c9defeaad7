"""The HDLC link: a client and a server driven against each other in memory, plus real peers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import LocalProtocolError, MeterlinkError, ResponseTimeout, UnexpectedMessageError
from meterlink.hdlc import (
    ApduReceived,
    Connected,
    Disconnected,
    DisconnectReason,
    Event,
    Frame,
    FrameDiscarded,
    FrameKind,
    Framer,
    FrameRejected,
    FrmrInfo,
    HdlcAddress,
    HdlcConnection,
    HdlcParameters,
    PushReceived,
    Role,
    State,
    parse_frame,
)

METER = HdlcAddress(1, 17)
CLIENT = HdlcAddress.client(16)
APDU = bytes((i * 7) & 0xFF for i in range(5000))


def split(data: bytes) -> list[Frame]:
    framer = Framer(drop_echo=False)
    framer.feed(data)
    items = list(framer)
    assert all(isinstance(item, Frame) for item in items)
    return items  # type: ignore[return-value]


class Link:
    """Two connections and a wire between them; ``lose`` decides which frames vanish."""

    def __init__(self, client: HdlcConnection, server: HdlcConnection) -> None:
        self.client = client
        self.server = server
        self.now = 0.0
        self.lose: Callable[[str, Frame], bool] = lambda direction, frame: False
        self.log: list[tuple[str, Frame]] = []
        self.client_events: list[Event] = []
        self.server_events: list[Event] = []

    def _carry(self, direction: str, data: bytes, to: HdlcConnection) -> bool:
        moved = False
        for frame in split(data):
            self.log.append((direction, frame))
            if not self.lose(direction, frame):
                to.receive_data(frame.to_bytes(), self.now)
                moved = True
        return moved or bool(data)

    def pump(self) -> None:
        for _ in range(100_000):
            a = self.client.data_to_send()
            moved = self._carry("c>s", a, self.server) if a else False
            self.server_events += self.server.events()
            b = self.server.data_to_send()
            moved = (self._carry("s>c", b, self.client) if b else False) or moved
            self.client_events += self.client.events()
            if not moved and not self.client.data_to_send() and not self.server.data_to_send():
                return
        raise AssertionError("the link did not settle")

    def wait(self) -> None:
        """Let the client's deadline pass, then pump."""
        deadline = self.client.deadline
        assert deadline is not None
        self.now = deadline
        self.client.time_passed(self.now)
        self.pump()


def make_link(client_params: HdlcParameters, server_params: HdlcParameters, **kw: object) -> Link:
    client = HdlcConnection(
        Role.CLIENT,
        client_address=16,
        server_address=METER,
        parameters=client_params,
        **kw,  # type: ignore[arg-type]
    )
    server = HdlcConnection(Role.SERVER, client_address=None, server_address=METER, parameters=server_params)
    return Link(client, server)


def connected(client_params: HdlcParameters, server_params: HdlcParameters, **kw: object) -> Link:
    link = make_link(client_params, server_params, **kw)
    link.client.connect(0.0)
    link.pump()
    assert link.client.state is State.CONNECTED and link.server.state is State.CONNECTED
    link.client_events.clear()
    link.server_events.clear()
    link.log.clear()
    return link


def test_connect_negotiates_both_directions() -> None:
    link = make_link(HdlcParameters(512, 512, 7, 7), HdlcParameters(256, 128, 1, 3))
    link.client.connect(0.0)
    (snrm,) = split(link.client.data_to_send())
    assert snrm.kind is FrameKind.SNRM and snrm.poll_final
    assert HdlcParameters.from_info(snrm.info) == HdlcParameters(512, 512, 7, 7)
    link.server.receive_data(snrm.to_bytes(), 0.0)
    link.server_events += link.server.events()
    (ua,) = split(link.server.data_to_send())
    assert ua.kind is FrameKind.UA
    assert HdlcParameters.from_info(ua.info) == HdlcParameters(256, 128, 1, 3)
    link.client.receive_data(ua.to_bytes(), 0.0)
    assert link.client.events() == [Connected(HdlcParameters(128, 256, 3, 1))]
    assert link.server_events == [Connected(HdlcParameters(256, 128, 1, 3))]
    assert link.client.deadline is None


@pytest.mark.parametrize("window", [1, 3])
def test_5000_byte_apdu_both_ways(window: int) -> None:
    params = HdlcParameters(32, 32, window, window)
    link = connected(params, params)
    link.client.send_apdu(APDU, 0.0)
    link.pump()
    assert link.server_events == [ApduReceived(APDU)]
    link.server.send_apdu(APDU[::-1])
    link.pump()
    assert link.client_events == [ApduReceived(APDU[::-1])]

    for direction, llc in (("c>s", b"\xe6\xe6\x00"), ("s>c", b"\xe6\xe7\x00")):
        frames = [f for d, f in link.log if d == direction and f.kind is FrameKind.I]
        assert len(frames) == -(-(len(APDU) + 3) // 32)
        assert all(len(f.info) <= 32 for f in frames)
        assert frames[0].info[:3] == llc and all(f.info[:3] != llc for f in frames[1:])
        assert [f.segmented for f in frames] == [True] * (len(frames) - 1) + [False]
        assert [f.send_seq for f in frames] == [(frames[0].send_seq + i) % 8 for i in range(len(frames))]
        # P/F on the last frame of each window and on the last segment only
        finals = [i for i, f in enumerate(frames) if f.poll_final]
        expected = sorted({*range(window - 1, len(frames), window), len(frames) - 1})
        assert finals == expected
    # the receiver answers each window of a segmented transfer with RR
    rrs = [f for d, f in link.log if d == "s>c" and f.kind is FrameKind.RR]
    assert len(rrs) == -(-(len(APDU) + 3) // (32 * window)) - 1


def test_ui_push_reassembly() -> None:
    link = connected(HdlcParameters(32, 32), HdlcParameters(32, 32))
    push = b"\x0f" + bytes(range(100))
    link.server.send_push(push)
    frames = split(link.server.data_to_send())
    assert [f.kind for f in frames] == [FrameKind.UI] * 4
    assert [f.segmented for f in frames] == [True, True, True, False]
    assert [f.poll_final for f in frames] == [False, False, False, True]  # ISKRA: 0x03 ... 0x13
    for frame in frames:
        link.client.receive_data(frame.to_bytes(), 0.0)
    assert link.client.events() == [PushReceived(push)]


def test_push_listener_without_a_link() -> None:
    """UI and I frames reaching a disconnected client are pushes (any meter when listening broadly)."""
    listener = HdlcConnection(Role.CLIENT, client_address=16, server_address=HdlcAddress(0x7F))
    for kind in (FrameKind.UI, FrameKind.I):
        first = Frame(kind, CLIENT, METER, False, b"\xe6\xe7\x00\x0f\x01", segmented=True)
        last = Frame(kind, CLIENT, METER, True, b"\x02\x03")
        listener.receive_data(first.to_bytes() + last.to_bytes(), 0.0)
        assert listener.events() == [PushReceived(b"\x0f\x01\x02\x03")]
        assert listener.data_to_send() == b""


def test_disconnect() -> None:
    link = connected(HdlcParameters(), HdlcParameters())
    link.client.disconnect(1.0)
    link.pump()
    assert link.client_events == [Disconnected(DisconnectReason.LOCAL)]
    assert link.server_events == [Disconnected(DisconnectReason.REMOTE)]
    # DISC again (a stale link on the meter, u9n #74): the meter answers DM
    link.client.disconnect(2.0)
    link.pump()
    assert link.log[-1][1].kind is FrameKind.DM
    assert link.client_events[-1] == Disconnected(DisconnectReason.LOCAL)
    with pytest.raises(LocalProtocolError):
        link.client.send_apdu(b"\xc0")


def test_dm_answer_to_snrm_and_to_data() -> None:
    client = HdlcConnection(Role.CLIENT, client_address=16, server_address=METER)
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(Frame(FrameKind.DM, CLIENT, METER).to_bytes(), 0.1)
    assert client.events() == [Disconnected(DisconnectReason.DM)]
    assert client.state is State.DISCONNECTED and client.deadline is None
    # a meter that lost the link answers a poll with DM
    link = connected(HdlcParameters(), HdlcParameters())
    link.server.receive_data(Frame(FrameKind.DISC, METER, CLIENT).to_bytes(), 0.0)
    link.server.events()
    link.server.data_to_send()
    link.client.send_apdu(b"\xc0\x01\xc1", 0.0)
    link.pump()
    assert link.client_events == [Disconnected(DisconnectReason.DM)]


def test_frmr_becomes_an_event() -> None:
    link = connected(HdlcParameters(), HdlcParameters())
    frmr = Frame(FrameKind.FRMR, CLIENT, METER, True, bytes.fromhex("540010"))
    link.client.receive_data(frmr.to_bytes(), 0.0)
    (event,) = link.client.events()
    assert isinstance(event, FrameRejected) and event.info is not None and event.info.invalid_send_seq
    assert link.client.state is State.DISCONNECTED
    short = Frame(FrameKind.FRMR, CLIENT, METER, True, b"\x54")
    link.client.connect(1.0)
    link.client.receive_data(short.to_bytes(), 1.0)
    assert link.client.events() == [FrameRejected(None, b"\x54")]


def test_server_rejects_an_invalid_nr() -> None:
    link = connected(HdlcParameters(), HdlcParameters())
    bad = Frame(FrameKind.I, METER, CLIENT, True, b"\xe6\xe6\x00\xc0", send_seq=0, receive_seq=3)
    link.server.receive_data(bad.to_bytes(), 0.0)
    assert link.server.events() == []
    (frmr,) = split(link.server.data_to_send())
    assert frmr.kind is FrameKind.FRMR and frmr.frmr == FrmrInfo(bad.control, invalid_receive_seq=True)
    assert link.server.state is State.FRAME_REJECT
    link.server.receive_data(Frame(FrameKind.RR, METER, CLIENT).to_bytes(), 0.0)
    link.server.events()
    assert split(link.server.data_to_send()) == [frmr]  # repeated until SNRM or DISC
    # the client: an N(R) that acknowledges nothing sent is a protocol error
    link.client.receive_data(Frame(FrameKind.RR, CLIENT, METER, True, receive_seq=5).to_bytes(), 0.0)
    with pytest.raises(UnexpectedMessageError) as info:
        link.client.events()
    assert info.value.data[0] == 0x7E


@pytest.mark.parametrize("window", [1, 3])
@pytest.mark.parametrize("victim", ["first I", "window end", "server I", "RR", "last I"])
def test_lost_frames_are_repeated_after_the_deadline(window: int, victim: str) -> None:
    params = HdlcParameters(32, 32, window, window)
    link = connected(params, params, response_timeout=1.5)
    lost: list[Frame] = []

    def lose(direction: str, frame: Frame) -> bool:
        if lost:
            return False
        hit = {
            "first I": direction == "c>s" and frame.kind is FrameKind.I,
            "window end": direction == "c>s" and frame.kind is FrameKind.I and frame.poll_final,
            "server I": direction == "s>c" and frame.kind is FrameKind.I,
            "RR": direction == "s>c" and frame.kind is FrameKind.RR,
            "last I": direction == "c>s" and frame.kind is FrameKind.I and not frame.segmented,
        }[victim]
        if hit:
            lost.append(frame)
        return hit

    link.lose = lose
    request, response = APDU[:300], APDU[:200]
    link.client.send_apdu(request, 0.0)
    link.pump()
    answered = False
    for _ in range(8):
        if not answered and link.server_events:
            assert link.server_events == [ApduReceived(request)]
            link.server.send_apdu(response)
            answered = True
            link.pump()
        if link.client.deadline is None:
            break
        link.wait()
    assert lost, "the test did not lose anything"
    assert link.server_events == [ApduReceived(request)]
    assert link.client_events == [ApduReceived(response)]
    assert link.client.deadline is None
    assert link.client.state is State.CONNECTED


def test_no_answer_raises_after_the_retries() -> None:
    client = HdlcConnection(Role.CLIENT, client_address=16, server_address=METER, retries=2)
    client.connect(0.0)
    first = client.data_to_send()
    assert client.deadline == 2.0
    client.time_passed(1.0)
    assert client.data_to_send() == b""
    for t in (2.0, 4.0):
        client.time_passed(t)
        assert client.data_to_send() == first
    with pytest.raises(ResponseTimeout):
        client.time_passed(6.0)
    assert client.state is State.DISCONNECTED


def test_rnr_pauses_the_sender() -> None:
    link = connected(HdlcParameters(32, 32), HdlcParameters(32, 32))
    link.server.busy = True
    link.client.send_apdu(APDU[:100], 0.0)
    link.pump()
    assert link.log[-1][1].kind is FrameKind.RNR
    sent = [f for d, f in link.log if d == "c>s" and f.kind is FrameKind.I]
    assert len(sent) == 1  # nothing more while the meter is not ready
    link.wait()  # still busy: the poll gets RNR again
    assert link.log[-1][1].kind is FrameKind.RNR
    link.server.busy = False
    link.wait()
    assert link.server_events == [ApduReceived(APDU[:100])]


def test_client_holds_a_second_apdu_until_the_poll_returns() -> None:
    link = connected(HdlcParameters(32, 32), HdlcParameters(32, 32))
    link.client.send_apdu(b"\xc0\x01\xc1", 0.0)
    link.client.send_apdu(b"\xc0\x01\xc2", 0.0, expect_reply=False)
    first = link.client.data_to_send()
    assert len(split(first)) == 1  # the second waits: the poll is out
    link.server.receive_data(first, 0.0)
    assert link.server.events() == [ApduReceived(b"\xc0\x01\xc1")]
    link.server.send_apdu(b"\xc4\x01\xc1\x00\x00")
    link.pump()
    assert link.server_events == [ApduReceived(b"\xc0\x01\xc2")]


def test_unexpected_frames_and_foreign_stations() -> None:
    link = connected(HdlcParameters(), HdlcParameters())
    other_meter = Frame(FrameKind.I, CLIENT, HdlcAddress(1, 18), True, b"\xe6\xe7\x00\x01")
    other_client = Frame(FrameKind.I, HdlcAddress(1, 18), CLIENT, True, b"\xe6\xe7\x00\x01")
    link.client.receive_data(other_meter.to_bytes() + other_client.to_bytes(), 0.0)
    assert link.client.events() == []
    link.client.receive_data(Frame(FrameKind.SNRM, CLIENT, METER).to_bytes(), 0.0)
    with pytest.raises(UnexpectedMessageError):
        link.client.events()
    with pytest.raises(LocalProtocolError):
        link.server.connect()


def test_bad_frames_are_reported_not_fatal() -> None:
    link = connected(HdlcParameters(), HdlcParameters())
    raw = bytearray(Frame(FrameKind.I, CLIENT, METER, True, b"\xe6\xe7\x00\x01\x02").to_bytes())
    raw[-3] ^= 1
    link.client.receive_data(bytes(raw), 0.0)
    (event,) = link.client.events()
    assert isinstance(event, FrameDiscarded)


def test_echo_of_our_frames_is_ignored() -> None:
    client = HdlcConnection(Role.CLIENT, client_address=16, server_address=METER)
    client.connect(0.0)
    snrm = client.data_to_send()
    ua = Frame(FrameKind.UA, CLIENT, METER).to_bytes()
    client.receive_data(snrm + ua, 0.1)  # u9n #62: the optical head sends our SNRM back first
    assert client.events() == [Connected(HdlcParameters())]


def test_gurux_client_against_our_server() -> None:
    from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
    from gurux_dlms.enums import Authentication, InterfaceType

    gurux = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.HDLC)
    gurux.limits.maxInfoRX = 64
    server = HdlcConnection(
        Role.SERVER, client_address=None, server_address=HdlcAddress(1), parameters=HdlcParameters(256, 256)
    )
    server.receive_data(bytes(gurux.snrmRequest()), 0.0)
    assert server.events() == [Connected(HdlcParameters(64, 128, 1, 1))]
    reply = GXReplyData()
    assert gurux.getData(GXByteBuffer(server.data_to_send()), reply)
    gurux.parseUAResponse(reply.data)
    (aarq,) = gurux.aarqRequest()
    server.receive_data(bytes(aarq), 0.0)
    (event,) = server.events()
    assert isinstance(event, ApduReceived) and event.data[0] == 0x60
    aare = bytes.fromhex(
        "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000501f01f40007"
    )
    server.send_apdu(aare)
    reply = GXReplyData()
    assert gurux.getData(GXByteBuffer(server.data_to_send()), reply)
    assert bytes(reply.data.array()) == aare  # Gurux strips the LLC header and reads our I frame


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=6), st.sampled_from(["client", "server"]))
def test_fuzz_connections(chunks: list[bytes], who: str) -> None:
    link = connected(HdlcParameters(32, 32, 3, 3), HdlcParameters(32, 32, 3, 3))
    target = link.client if who == "client" else link.server
    peer = link.server if who == "client" else link.client
    valid = [
        Frame(FrameKind.I, target.own_address, peer.own_address, True, b"\xe6\xe6\x00\x01"),
        Frame(FrameKind.RR, target.own_address, peer.own_address, True, receive_seq=0),
        Frame(FrameKind.UI, target.own_address, peer.own_address, False, b"x", segmented=True),
    ]
    for i, chunk in enumerate(chunks):
        data = chunk if i % 2 else valid[i % 3].to_bytes() + chunk
        try:
            target.receive_data(data, float(i))
            target.events()
            target.time_passed(float(i) + 5)
            target.events()
        except MeterlinkError:
            pass
        target.data_to_send()


def test_bad_caller_input() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcConnection(Role.CLIENT, client_address=None, server_address=METER)
    with pytest.raises(LocalProtocolError):
        HdlcConnection(Role.CLIENT, client_address=METER, server_address=METER)
    link = connected(HdlcParameters(), HdlcParameters())
    with pytest.raises(LocalProtocolError):
        link.client.send_apdu(b"")
    assert parse_frame(Frame(FrameKind.UA, CLIENT, METER).to_bytes()).kind is FrameKind.UA


def test_push_listener_takes_ui_frames_whatever_their_destination() -> None:
    """Customer ports push to odd destinations: a listener (server all-station) reads them all,
    a client bound to one meter still ignores frames meant for another station."""
    ui = Frame(
        FrameKind.UI,
        destination=HdlcAddress(0x2A, 0x7F),
        source=HdlcAddress(0x10),
        info=b"\xe6\xe7\x00\x0f\x00\x00\x00\x01\x00\x00",
    ).to_bytes()
    listener = HdlcConnection(Role.CLIENT, client_address=16, server_address=HdlcAddress(0x7F))
    listener.receive_data(ui, 0.0)
    assert [e for e in listener.events() if isinstance(e, PushReceived)] == [
        PushReceived(b"\x0f\x00\x00\x00\x01\x00\x00")
    ]
    bound = HdlcConnection(Role.CLIENT, client_address=16, server_address=HdlcAddress(0x10))
    bound.receive_data(ui, 0.0)
    assert bound.events() == []
    own_sap = HdlcConnection(Role.CLIENT, client_address=0x2A, server_address=HdlcAddress(0x10))
    own_sap.receive_data(ui, 0.0)  # our SAP with an all-station lower part: for us
    assert len([e for e in own_sap.events() if isinstance(e, PushReceived)]) == 1
