"""The transition tables of both roles, checked pair by pair (reference sections 1.6-1.9).

For every (state, input) pair: a pair in the table runs its handler, which lands in one of the
states the table lists; a pair not in the table raises exactly
:class:`~meterlink.errors.UnexpectedMessageError` for something received and
:class:`~meterlink.errors.LocalProtocolError` for a call the caller may not make (or a timeout
that cannot happen there), and leaves the state alone.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import (
    ChecksumError,
    LocalProtocolError,
    MeterlinkError,
    RemoteProtocolError,
    ResponseTimeout,
    UnexpectedMessageError,
)
from meterlink.iec62056_21._state import (
    CLIENT_TABLE,
    METER_TABLE,
    RECEIVED,
    ClientState,
    Input,
    MeterState,
)
from meterlink.iec62056_21.connection import (
    ClientConnection,
    ClientSettings,
    MeterConnection,
    MeterSettings,
    _classify,
)
from meterlink.iec62056_21.events import Send
from meterlink.iec62056_21.framer import Framer, NeedData, Role
from meterlink.iec62056_21.messages import (
    BREAK,
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Nak,
    OptionSelect,
    RequestMessage,
)

Connection = ClientConnection | MeterConnection

CLIENT_CALLS = frozenset(
    {Input.READ_OUT, Input.PROGRAM, Input.BINARY, Input.LISTEN, Input.SEND_COMMAND, Input.END}
)
METER_CALLS = frozenset({Input.SEND_READOUT, Input.REPLY, Input.PUSH, Input.END})
CALLER_INPUTS = frozenset(set(Input) - set(RECEIVED) - {Input.TIMEOUT})

MODE_E_METER = Identification.from_text("ISK5\\2MT382")
READ = CommandMessage.read("0.9.1", command_type="5")
PARTIAL = DataMessage(b"P.01(1)(2)", partial=True)
FINAL = DataMessage(b"(3)(4)")

# one representative payload per input, as the connection hands it to the handler
PAYLOAD: dict[Input, Any] = {
    Input.REQUEST: RequestMessage(),
    Input.IDENTIFICATION: MODE_E_METER,
    Input.OPTION_SELECT: OptionSelect.binary("5"),
    Input.DATA: DataMessage(b"1.8.0(1)\r\n!\r\n"),
    Input.PARTIAL_DATA: PARTIAL,
    Input.ERROR: ErrorMessage("ER12"),
    Input.COMMAND: CommandMessage.operand("1234"),
    Input.BREAK: BREAK,
    Input.ACK: Ack(),
    Input.NAK: Nak(),
    Input.BAD_FRAME: ChecksumError("bad BCC", expected=1, received=2),
    Input.TIMEOUT: None,
    Input.READ_OUT: Input.READ_OUT,
    Input.PROGRAM: Input.PROGRAM,
    Input.BINARY: Input.BINARY,
    Input.LISTEN: None,
    Input.SEND_COMMAND: READ,
    Input.END: None,
    Input.SEND_READOUT: DataMessage(b"1.8.0(1)\r\n!\r\n"),
    Input.REPLY: [Ack()],
    Input.PUSH: b"1.8.0(1)\r\n!\r\n",
}
METER_PAYLOAD: dict[Input, Any] = {**PAYLOAD, Input.COMMAND: READ, Input.END: "done"}


def new_client() -> ClientConnection:
    client = ClientConnection(ClientSettings(password="00000000"))
    # the context a session would have built up by the time it reaches any state
    client.identification = MODE_E_METER
    client._command = CommandMessage.password("00000000")
    return client


def new_meter() -> MeterConnection:
    meter = MeterConnection(MeterSettings(MODE_E_METER, operand="1234"))
    meter._blocks = [PARTIAL, FINAL]
    meter._readout = DataMessage(b"1.8.0(1)\r\n!\r\n")
    meter._last_reply = FINAL.to_bytes()
    return meter


def check_pair(conn: Connection, state: Any, kind: Input, payload: Any) -> None:
    table: dict[tuple[Any, Input], tuple[str, frozenset[Any]]] = conn._table
    conn.state = state
    entry = table.get((state, kind))
    if entry is None:
        expected = UnexpectedMessageError if kind in RECEIVED else LocalProtocolError
        with pytest.raises(MeterlinkError) as info:
            conn._input(kind, payload)
        assert type(info.value) is expected, (state, kind, info.value)
        assert conn.state is state
        return
    name, targets = entry
    try:
        conn._input(kind, payload)
    except ResponseTimeout:
        assert name == "fail_timeout", (state, kind)
    assert conn.state in targets, (state, kind, conn.state)


CLIENT_PAIRS = list(itertools.product(ClientState, Input))
METER_PAIRS = list(itertools.product(MeterState, Input))


@pytest.mark.parametrize(("state", "kind"), CLIENT_PAIRS, ids=lambda x: str(x.value))
def test_every_client_pair(state: ClientState, kind: Input) -> None:
    check_pair(new_client(), state, kind, PAYLOAD[kind])


@pytest.mark.parametrize(("state", "kind"), METER_PAIRS, ids=lambda x: str(x.value))
def test_every_meter_pair(state: MeterState, kind: Input) -> None:
    check_pair(new_meter(), state, kind, METER_PAYLOAD[kind])


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(CLIENT_PAIRS))
def test_client_pairs_sampled(pair: tuple[ClientState, Input]) -> None:
    check_pair(new_client(), *pair, PAYLOAD[pair[1]])


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(METER_PAIRS))
def test_meter_pairs_sampled(pair: tuple[MeterState, Input]) -> None:
    check_pair(new_meter(), *pair, METER_PAYLOAD[pair[1]])


# -- the public calls go through the same table ----------------------------------------------------
def call_client(client: ClientConnection, kind: Input) -> None:
    calls = {
        Input.READ_OUT: lambda: client.read_out(1.0),
        Input.PROGRAM: lambda: client.program(1.0),
        Input.BINARY: lambda: client.binary(1.0),
        Input.LISTEN: lambda: client.listen(1.0),
        Input.SEND_COMMAND: lambda: client.send_command(READ, 1.0),
        Input.END: lambda: client.end(1.0),
    }
    calls[kind]()


def call_meter(meter: MeterConnection, kind: Input) -> None:
    calls = {
        Input.SEND_READOUT: lambda: meter.send_readout(b"1.8.0(1)\r\n!\r\n", 1.0),
        Input.REPLY: lambda: meter.reply(Ack(), 1.0),
        Input.PUSH: lambda: meter.push(b"1.8.0(1)\r\n!\r\n", 1.0),
        Input.END: lambda: meter.end(1.0),
    }
    calls[kind]()


@pytest.mark.parametrize(("state", "kind"), list(itertools.product(ClientState, sorted(CLIENT_CALLS))))
def test_client_calls(state: ClientState, kind: Input) -> None:
    client = new_client()
    client.state = state
    if (state, kind) in CLIENT_TABLE:
        call_client(client, kind)
        assert client.state in CLIENT_TABLE[state, kind][1]
    else:
        with pytest.raises(LocalProtocolError) as info:
            call_client(client, kind)
        assert type(info.value) is LocalProtocolError
        assert client.state is state


@pytest.mark.parametrize(("state", "kind"), list(itertools.product(MeterState, sorted(METER_CALLS))))
def test_meter_calls(state: MeterState, kind: Input) -> None:
    meter = new_meter()
    meter.state = state
    if (state, kind) in METER_TABLE:
        call_meter(meter, kind)
        assert meter.state in METER_TABLE[state, kind][1]
    else:
        with pytest.raises(LocalProtocolError) as info:
            call_meter(meter, kind)
        assert type(info.value) is LocalProtocolError
        assert meter.state is state


def test_reply_data_goes_through_the_table() -> None:
    meter = new_meter()
    with pytest.raises(LocalProtocolError):
        meter.reply_data("0.9.1(1)", 0.0)
    meter.state = MeterState.REPLY_DUE
    meter.reply_data("0.9.1(101415)", 0.0, block_size=4)
    assert meter.state is MeterState.SENDING_BLOCKS
    with pytest.raises(LocalProtocolError):
        meter.state = MeterState.REPLY_DUE
        meter.reply_data("0.9.1(101415)", 0.0, block_size=0)


# -- the tables themselves ----------------------------------------------------------------------------
def handler_names(conn: Connection) -> set[str]:
    return {name for name, _ in conn._table.values()}


@pytest.mark.parametrize("conn", [new_client(), new_meter()], ids=["client", "meter"])
def test_every_handler_exists(conn: Connection) -> None:
    for name in handler_names(conn):
        assert callable(getattr(conn, "_" + name)), name


def test_tables_only_use_their_own_states_and_inputs() -> None:
    for (state, kind), (_, targets) in CLIENT_TABLE.items():
        assert isinstance(state, ClientState)
        assert all(isinstance(t, ClientState) for t in targets)
        assert kind not in METER_CALLS - CLIENT_CALLS
    for (meter_state, kind), (_, meter_targets) in METER_TABLE.items():
        assert isinstance(meter_state, MeterState)
        assert all(isinstance(t, MeterState) for t in meter_targets)
        assert kind not in CLIENT_CALLS - METER_CALLS


def test_every_state_is_reachable_and_left() -> None:
    for table, states, rest in (
        (CLIENT_TABLE, set(ClientState), ClientState.IDLE),
        (METER_TABLE, set(MeterState), MeterState.IDLE),
    ):
        reached = {rest}
        frontier = [rest]
        while frontier:
            here = frontier.pop()
            for (state, _), (_, targets) in table.items():
                if state == here:
                    for t in targets - reached:
                        reached.add(t)
                        frontier.append(t)
        assert reached == states
        # every state but rest has a way out (timeout, break, end) back to rest
        for state in states - {rest}:
            exits = {k for (s, k) in table if s == state}
            assert exits & {Input.TIMEOUT, Input.BREAK, Input.END}, state


def test_every_active_state_has_a_timeout_or_waits_for_the_caller() -> None:
    waiting_for_caller = {ClientState.PROGRAMMING, ClientState.BINARY, ClientState.LISTENING}
    for state in set(ClientState) - {ClientState.IDLE} - waiting_for_caller:
        assert (state, Input.TIMEOUT) in CLIENT_TABLE, state
    for meter_state in set(MeterState) - {MeterState.IDLE, MeterState.BINARY}:
        assert (meter_state, Input.TIMEOUT) in METER_TABLE, meter_state


# -- the landing check ----------------------------------------------------------------------------
def test_a_handler_landing_outside_its_targets_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    client = new_client()
    monkeypatch.setattr(client, "_start_sign_on", lambda goal: ClientState.PROGRAMMING)
    with pytest.raises(AssertionError, match="table allows"):
        client.read_out(0.0)
    assert client.state is ClientState.IDLE

    meter = new_meter()
    monkeypatch.setattr(meter, "_on_request", lambda request: MeterState.SENDING_BLOCKS)
    meter.receive_data(b"/?!\r\n", 0.0)
    with pytest.raises(AssertionError, match="table allows"):
        meter.next_event()
    assert meter.state is MeterState.IDLE


# -- from bytes to inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "data", "kind"),
    [
        (Role.CLIENT, b"/EMH5\\@D4EM4TII\r\n", Input.IDENTIFICATION),
        (Role.CLIENT, DataMessage(b"1.8.0(1)\r\n!\r\n").to_bytes(), Input.DATA),
        (Role.CLIENT, PARTIAL.to_bytes(), Input.PARTIAL_DATA),
        (Role.CLIENT, ErrorMessage("ER12").to_bytes(), Input.ERROR),
        (Role.CLIENT, CommandMessage.operand("").to_bytes(), Input.COMMAND),
        (Role.CLIENT, BREAK.to_bytes(), Input.BREAK),
        (Role.CLIENT, b"\x06", Input.ACK),
        (Role.CLIENT, b"\x15", Input.NAK),
        (Role.METER, b"/?!\r\n", Input.REQUEST),
        (Role.METER, b"\x01R5\x020.9.1()\x03_", Input.COMMAND),
        (Role.METER, b"\x01B1\x03p", Input.BREAK),
        (Role.METER, b"\x06", Input.ACK),
        (Role.METER, b"\x15", Input.NAK),
    ],
)
def test_bytes_classify_as_inputs(role: Role, data: bytes, kind: Input) -> None:
    framer = Framer(role)
    framer.feed(data)
    message = framer.next_message()
    assert not isinstance(message, NeedData)
    assert _classify(message) is kind


@pytest.mark.parametrize("role", [Role.CLIENT, Role.METER])
def test_option_select_classifies_when_expected(role: Role) -> None:
    framer = Framer(role)
    framer.expect_option_select = True
    framer.feed(b"\x06252\r\n")
    message = framer.next_message()
    assert isinstance(message, OptionSelect)
    assert message == OptionSelect.binary("5")
    assert _classify(message) is Input.OPTION_SELECT


def test_damaged_frame_without_a_bad_frame_entry_raises_the_framer_error() -> None:
    client = ClientConnection()
    client.state = ClientState.PROGRAMMING
    assert (ClientState.PROGRAMMING, Input.BAD_FRAME) not in CLIENT_TABLE
    client.receive_data(b"\x02abc\x03\x00", 0.0)
    with pytest.raises(ChecksumError):
        client.next_event()
    assert client.state is ClientState.PROGRAMMING


def test_damaged_frame_with_a_bad_frame_entry_runs_it() -> None:
    meter = new_meter()
    meter.state = MeterState.PROGRAMMING
    meter.receive_data(b"\x01R5\x020.9.1()\x03\x00", 0.0)
    event = meter.next_event()
    assert getattr(event, "data", None) == b"\x15"  # the meter NAKs
    assert meter.state is MeterState.PROGRAMMING


def test_client_at_rest_drops_stray_input() -> None:
    client = ClientConnection()
    client.receive_data(b"\x15\x06\x01B0\x03q\x02(ER1)\x03\x05", 0.0)
    assert client.events() == []
    assert client.state is ClientState.IDLE


def test_unexpected_message_error_carries_the_message() -> None:
    # mode A: the readout is due, and a NAK is no readout. It counts as a damaged readout
    # (a sign-on retry); with none left, the error names what came.
    client = ClientConnection(ClientSettings(retries=0))
    client.read_out(0.0)
    client.receive_data(b"/KAM MC\r\n", 0.5)
    client.events()
    client.receive_data(b"\x15", 0.6)
    with pytest.raises(UnexpectedMessageError) as info:
        client.next_event()
    assert info.value.data == b"\x15"
    assert isinstance(info.value, RemoteProtocolError)
    assert client.state is ClientState.IDLE


def test_a_message_that_cannot_be_the_readout_is_a_damaged_readout() -> None:
    # mode C: a bit flip made the readout's STX an ACK; the rest is noise. The client NAKs
    # (the meter repeats its readout) instead of giving up with UnexpectedMessageError.
    client = ClientConnection()
    client.read_out(0.0)
    client.receive_data(b"/ABc5METER\r\n", 0.5)
    client.events()
    assert client.state is ClientState.AWAIT_READOUT
    client.receive_data(b"\x060.0.0(1)\r\n!\r\n\x03\x00", 1.0)
    sent = [e.data for e in client.events() if isinstance(e, Send)]
    assert sent == [b"\x15"]
    assert client.state is ClientState.AWAIT_READOUT


# -- random walks through the tables --------------------------------------------------------------
CLIENT_WALK_PAYLOADS: dict[Input, list[Any]] = {
    Input.IDENTIFICATION: [
        MODE_E_METER,
        Identification.from_text("EMH5\\@D4EM4TII"),
        Identification.from_text("KAM MC"),
        Identification.from_text("SIEC2WR5"),
    ],
    Input.OPTION_SELECT: [OptionSelect.binary("5"), OptionSelect.readout("5")],
    Input.COMMAND: [CommandMessage.operand("1234"), READ],
    Input.BAD_FRAME: [PAYLOAD[Input.BAD_FRAME]],
}
METER_WALK_PAYLOADS: dict[Input, list[Any]] = {
    Input.REQUEST: [RequestMessage(), RequestMessage("999"), RequestMessage("0123")],
    Input.OPTION_SELECT: [
        OptionSelect.readout("5"),
        OptionSelect.programming("5"),
        OptionSelect.binary("5"),
        OptionSelect("0", "9", "0"),
        OptionSelect.readout("3"),
    ],
    Input.COMMAND: [READ, CommandMessage.password("0"), CommandMessage("W", "3", "a(1", partial=True)],
    Input.BREAK: [BREAK, CommandMessage.break_(command_type="1")],
    Input.REPLY: [
        [Ack()],
        [Nak()],
        [ErrorMessage("ER02")],
        [DataMessage(b"0.9.1(1)")],
        [PARTIAL, PARTIAL, FINAL],
        [BREAK],
    ],
}


def walk(conn: Connection, data: st.DataObject, payloads: dict[Input, list[Any]], steps: int = 25) -> None:
    """Feed inputs one by one, mostly ones the table lists for the current state."""
    table: dict[tuple[Any, Input], tuple[str, frozenset[Any]]] = conn._table
    defaults = METER_PAYLOAD if isinstance(conn, MeterConnection) else PAYLOAD
    rest = type(conn.state)("idle")
    for step in range(steps):
        conn._now = 0.5 * (step + 1)
        before = conn.state
        listed = sorted(k for (s, k) in table if s == before)
        prefer_listed = data.draw(st.integers(0, 3), label="listed?")
        if listed and prefer_listed:
            kind = data.draw(st.sampled_from(listed), label="input")
        else:
            kind = data.draw(st.sampled_from(list(Input)), label="input")
        options = payloads.get(kind, [defaults[kind]])
        payload = data.draw(st.sampled_from(options), label="payload")
        entry = table.get((before, kind))
        try:
            conn._input(kind, payload)
        except MeterlinkError as exc:
            if entry is None:
                expected = UnexpectedMessageError if kind in RECEIVED else LocalProtocolError
                assert type(exc) is expected
                assert conn.state is before
            else:
                # a handler that gives up or refuses what it was handed
                assert conn.state in entry[1] | {before, rest}, (before, kind, conn.state, exc)
        else:
            assert entry is not None, (before, kind)
            assert conn.state in entry[1]
        # a state without a timeout transition must not ask for time_passed()
        if (conn.state, Input.TIMEOUT) not in table:
            assert conn.deadline is None, (conn.state, conn.deadline)
        conn.events()  # drain (and so run whatever the framer holds: nothing here)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_client_random_walk(data: st.DataObject) -> None:
    walk(ClientConnection(ClientSettings(password="00000000", retries=1)), data, CLIENT_WALK_PAYLOADS)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_meter_random_walk(data: st.DataObject) -> None:
    meter = MeterConnection(MeterSettings(MODE_E_METER, address="123", operand="1234", max_repeats=1))
    walk(meter, data, METER_WALK_PAYLOADS)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fast_wake_up_client_random_walk(data: st.DataObject) -> None:
    settings_ = ClientSettings(password="00000000", retries=1, fast_wake_up=True)
    walk(ClientConnection(settings_), data, CLIENT_WALK_PAYLOADS)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fast_wake_up_meter_random_walk(data: st.DataObject) -> None:
    meter = MeterConnection(MeterSettings(MODE_E_METER, operand="1234", max_repeats=1, fast_wake_up=True))
    walk(meter, data, METER_WALK_PAYLOADS)


def test_fast_wake_up_meter_rests_asleep_and_wakes_through_the_table() -> None:
    meter = MeterConnection(MeterSettings(MODE_E_METER, fast_wake_up=True))
    assert meter.state is MeterState.ASLEEP
    meter.receive_data(bytes(20), 1.0)  # 0.67 s of NULs at 300 Bd
    assert meter.deadline is not None
    meter.time_passed(meter.deadline)
    states: list[MeterState] = [meter.state]
    meter._input(Input.REQUEST, RequestMessage())
    states.append(meter.state)
    meter._input(Input.BREAK, CommandMessage.break_(command_type="1"))
    states.append(meter.state)
    assert states == [MeterState.AWAKE, MeterState.AWAIT_OPTION, MeterState.ASLEEP]


def test_fast_wake_up_rows_cover_the_new_states() -> None:
    assert CLIENT_TABLE[(ClientState.AWAIT_WAKE_ACK, Input.ACK)][0] == "on_wake_ack"
    assert CLIENT_TABLE[(ClientState.AWAIT_WAKE_ACK, Input.TIMEOUT)][0] == "next_burst"
    assert CLIENT_TABLE[(ClientState.AWAIT_SIGN_OFF_ACK, Input.ACK)][0] == "signed_off"
    assert CLIENT_TABLE[(ClientState.AWAIT_SIGN_OFF_ACK, Input.TIMEOUT)][0] == "signed_off"
    for state in (MeterState.ASLEEP, MeterState.AWAKE):
        assert METER_TABLE[(state, Input.TIMEOUT)][0] == "wake_timer"
    # asleep, a meter hears nothing: every received input is dropped
    assert all(METER_TABLE[(MeterState.ASLEEP, k)][0] == "ignore" for k in RECEIVED)
