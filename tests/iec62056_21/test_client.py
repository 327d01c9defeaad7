"""The blocking and asyncio clients against a live meter on a real pty or a TCP socket.

The meter (``tests/transport/live_meter.py``) is a thread running the sans-io meter connection
and the tiny loopback meter app with real time, fast timings and, for TCP converters, parity
done as an 8-bit path delivers it. No test asserts wall-clock durations; calls that must fail
rather than hang run under a generous outer timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import itertools
import threading
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from meterlink.errors import LinkError, LocalProtocolError, MeterReportedError, ResponseTimeout
from meterlink.iec62056_21 import AsyncClient, Client
from meterlink.iec62056_21.client import AsyncProgramming, MeterInfo, Programming, SessionOptions
from meterlink.iec62056_21.connection import ClientSettings
from meterlink.iec62056_21.events import CommandReceived, SessionEnded
from meterlink.iec62056_21.loopback import MeterApp
from meterlink.iec62056_21.messages import CommandMessage, ProtocolMode
from meterlink.iec62056_21.values import MeterDateTime, Season
from meterlink.transport import SerialLink

from ..transport.live_meter import LiveMeter, pty_meter, silent_pty, tcp_meter
from .wire import readout_block

T = TypeVar("T")

FAST = SessionOptions(
    reaction_time=0.02, baud_switch_guard=0.05, response_timeout=0.5, inter_char_timeout=0.3, retries=0
)
"""Client timings for a meter that answers in 20 ms; no retries, so failures come quickly."""
QUICK = 0.1
"""restart_pause: the live meter is ready again at once."""

READOUT = readout_block(["0.0.0(12345678)", "1.8.0(001234.5*kWh)", "2.8.0(000012.0*kWh)"])
PROFILE = (
    "02401010000)(00)(15)(2)(1.5)(kW)(2.5)(kvar)\r\n"
    "(0.100)(0.200)\r\n"
    "(0.110)(0.210)\r\n"
    "(0.120)(0.220"
)
SNRM = bytes.fromhex("7ea00a000200230393bf7e")
UA = bytes.fromhex("7ea0070323739c8f7e")
MODE_C = "LGZ5ZMD310"
MODE_E = "LGZ5\\2ZMD310"


def app(**options: Any) -> MeterApp:
    registers = {"0.9.1": "101415", "C.1.0": "12345678", "P.01": PROFILE}
    return MeterApp(readout=READOUT, registers=registers, **options)


def within(seconds: float, call: Callable[[], T]) -> T:
    """Run ``call`` in a thread; fail the test if it has not returned or raised by then."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(("ok", call()))
        except BaseException as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"call still running after {seconds} s"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    result: T = value
    return result


def run(coroutine: Coroutine[Any, Any, T], seconds: float = 20.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(seconds):
            return await coroutine

    return asyncio.run(bounded())


def no_errors(meter: LiveMeter) -> None:
    assert meter.errors == []


def commands_seen(meter: LiveMeter) -> list[str]:
    return [event.command.name for event in list(meter.events) if isinstance(event, CommandReceived)]


class RecordingLink(SerialLink):
    """A serial link that remembers every line change the client asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: list[tuple[int, int]] = []

    def set_line(self, baud_rate: int, data_bits: int) -> None:
        self.lines.append((baud_rate, data_bits))
        super().set_line(baud_rate, data_bits)


# ================================================================================================
# readout
# ================================================================================================
@pytest.mark.parametrize(
    ("ident", "mode", "lines"),
    [
        ("ABCKMETER", ProtocolMode.A, []),
        ("SIEC2WR5", ProtocolMode.B, [(2400, 7), (300, 7)]),
        (MODE_C, ProtocolMode.C, [(9600, 7), (300, 7)]),
    ],
)
def test_readout_on_a_pty_in_modes_a_b_c(
    ident: str, mode: ProtocolMode, lines: list[tuple[int, int]]
) -> None:
    with pty_meter(ident, app=app()) as (port, meter):
        link = RecordingLink.open(port)
        with link, Client(link, ClientSettings(**FAST), restart_pause=QUICK) as client:
            readout = client.read_out()
            assert client.identification is not None
            assert client.identification.mode is mode
        assert readout.identification is not None and readout.identification.text == ident
        assert readout["1.8.0"].value.decimal() == Decimal("1234.5")
        assert readout.bcc_valid is True
        assert link.lines == lines
        no_errors(meter)


def test_readout_through_a_url_and_the_trace_hook() -> None:
    trace: list[tuple[str, bytes, float]] = []
    with pty_meter(MODE_C, app=app()) as (port, meter):
        with Client.from_url(
            f"serial://{port}?baud=300&parity=E",
            trace=lambda d, b, t: trace.append((d, b, t)),
            restart_pause=QUICK,
            **FAST,
        ) as client:
            readout = client.read_out()
        assert readout["0.0.0"].value.value == "12345678"
        no_errors(meter)
    assert trace[0][:2] == ("tx", b"/?!\r\n")
    assert ("tx", b"\x06050\r\n") in [entry[:2] for entry in trace]
    assert b"".join(b for d, b, _ in trace if d == "rx").startswith(b"/LGZ5ZMD310\r\n")
    assert [t for _, _, t in trace] == sorted(t for _, _, t in trace)


def test_identify_signs_on_and_breaks_off() -> None:
    with pty_meter(MODE_E, app=app()) as (port, meter):
        with Client.serial(port, restart_pause=QUICK, **FAST) as client:
            info = client.identify()
            assert info == MeterInfo(info.identification, ProtocolMode.E, 9600, 0.2)
            assert info.mode_e_capable
            readout = client.read_out()  # the meter is ready for a session again
        assert len(readout) == 3
        assert meter.heard(b"\x01B0\x03q")
        no_errors(meter)


def test_baud_step_down_after_a_failed_session() -> None:
    with pty_meter(MODE_C, app=app(), mute_above=4800) as (port, meter):
        with Client.serial(port, baud_step_down=True, restart_pause=QUICK, **FAST) as client:
            readout = within(15, client.read_out)
        assert readout["1.8.0"].value.value == "001234.5"
        received = meter.received_bytes()
        assert received.index(b"\x06050\r\n") < received.index(b"\x06040\r\n")
        no_errors(meter)


def test_without_step_down_the_failure_is_reported() -> None:
    with (
        pty_meter(MODE_C, app=app(), mute_above=4800) as (port, _),
        Client.serial(port, restart_pause=QUICK, **FAST) as client,
        pytest.raises(ResponseTimeout),
    ):
        within(15, client.read_out)


def test_fixed_baud_rate_is_asked_for() -> None:
    with pty_meter(MODE_C, app=app()) as (port, meter):
        with Client.serial(port, fixed_baud_rate=300, restart_pause=QUICK, **FAST) as client:
            client.read_out()
        assert b"\x06000\r\n" in meter.received_bytes()


def test_a_silent_meter_ends_in_a_timeout_not_a_hang() -> None:
    with silent_pty() as port, Client.serial(port, restart_pause=QUICK, **FAST) as client:
        with pytest.raises(ResponseTimeout):
            within(10, client.read_out)
        with pytest.raises(ResponseTimeout):
            within(10, client.identify)


# ================================================================================================
# programming
# ================================================================================================
def test_programming_session_with_partial_blocks_and_a_load_profile() -> None:
    with pty_meter(MODE_C, app=app(block_size=12), address="12345678") as (port, meter):
        with Client.serial(port, address="12345678", restart_pause=QUICK, **FAST) as client:
            with client.programming(password="00000000") as prog:
                assert prog.operand == ""
                assert prog.readout is None
                reply = prog.read("C.1.0")
                assert reply.blocks == 2
                assert reply.value.value == "12345678"
                prog.write("0.9.1", "101500")
                assert prog.read("0.9.1", command="R5").data_set.raw == "0.9.1(101500)"
                prog.execute("0.9.2")
                with pytest.raises(MeterReportedError) as error:
                    prog.read("9.9.9")
                assert (error.value.text, error.value.code) == ("ER02", 2)
                start = dt.datetime(2024, 1, 1, 0, 0)
                until = MeterDateTime(start + dt.timedelta(hours=1), Season.NORMAL)
                profile = prog.load_profile(start, until)
                assert prog.command(CommandMessage.write("0.9.1", "101415")) is None
                assert prog.active
            assert not prog.active  # left with B0
            assert client.settings.address == "12345678"
        assert [row.timestamp.datetime.minute for row in profile] == [0, 15, 30]
        assert profile.rows[2].values == (Decimal("0.120"), Decimal("0.220"))
        assert [(c.code, c.unit) for c in profile.channels] == [("1.5", "kW"), ("2.5", "kvar")]
        assert commands_seen(meter) == ["P1", "R1", "W1", "R5", "E2", "R1", "R5", "W1"]
        assert b"\x01R5\x02P.01(02401010000;02401010100)\x03" in meter.received_bytes()
        # the password went out after the switch to 9600 Bd; B0 ended the session
        password = next(rate for data, rate in meter.received if data.startswith(b"\x01P1"))
        assert password == 9600
        assert meter.wait_for(lambda: SessionEnded("break") in meter.events)
        no_errors(meter)


@pytest.mark.parametrize(("reply", "text"), [("error", "ERR_PW"), ("nak", "NAK"), ("break", "B0")])
def test_wrong_password_is_a_typed_error(reply: str, text: str) -> None:
    with pty_meter(MODE_C, app=app(password="secret", password_reply=reply)) as (port, meter):
        with Client.serial(port, restart_pause=QUICK, **FAST) as client:
            with (
                pytest.raises(MeterReportedError, match="password rejected") as error,
                client.programming(password="guess"),
            ):
                raise AssertionError("the session must not open")  # pragma: no cover
            assert error.value.text == text
            assert len(client.read_out()) == 3  # the client is usable again
        no_errors(meter)


def test_an_unanswered_command_times_out_and_closes_the_session() -> None:
    with pty_meter(MODE_C, app=app(silent="R")) as (port, meter):
        with Client.serial(port, restart_pause=QUICK, **FAST) as client:
            with client.programming(password="00000000") as prog:
                assert prog.active
                with pytest.raises(ResponseTimeout):
                    within(10, lambda: prog.read("0.9.1"))
                assert not prog.active  # the client gave the session up
                with pytest.raises(LocalProtocolError, match="no programming session"):
                    prog.read("0.9.1")
            assert len(client.read_out()) == 3
        assert meter.heard(b"\x01B0\x03q")


def test_usage_errors_are_local_protocol_errors() -> None:
    with pytest.raises(LocalProtocolError):
        Client.serial("/dev/null", mode="X")
    with pytest.raises(LocalProtocolError):
        Client.serial("/dev/null", baud_switch_guard=2.0)
    with pty_meter(MODE_C, app=app()) as (port, _):
        client = Client.serial(port, restart_pause=QUICK, **FAST)
        with pytest.raises(LocalProtocolError, match="not open"):
            _ = client.link
        with client:
            prog = client.programming(password="00000000")
            with pytest.raises(LocalProtocolError, match="no programming session"):
                prog.read("0.9.1")
            with prog:
                with pytest.raises(LocalProtocolError, match="session is open"):
                    client.read_out()
                with pytest.raises(LocalProtocolError, match="command must be W"):
                    prog.write("0.9.1", "1", command="R1")
        with pytest.raises(LocalProtocolError, match="closed"):
            client.read_out()
    with pytest.raises(LinkError):
        Client.serial("/dev/meterlink-no-such-port").read_out()


# ================================================================================================
# TCP converters, mode E, mode D
# ================================================================================================
def test_tcp_converter_with_software_parity() -> None:
    with tcp_meter(MODE_C, app=app(), software_parity=True) as (port, meter):
        with Client.tcp("127.0.0.1", port, software_parity=True, restart_pause=QUICK, **FAST) as client:
            readout = client.read_out()
            with client.programming(password="00000000") as prog:
                assert prog.read("0.9.1").value.value == "101415"
        assert readout["2.8.0"].value.unit == "kWh"
        no_errors(meter)


def test_tcp_without_software_parity_to_an_8_bit_path_fails_cleanly() -> None:
    with tcp_meter(MODE_C, app=app(), software_parity=True) as (port, meter):
        client = Client.tcp("127.0.0.1", port, restart_pause=QUICK, **FAST)
        with client, pytest.raises(ResponseTimeout):
            within(10, client.read_out)
        assert meter.heard(b"\x7f")  # our request arrived with parity errors


def test_mode_e_hands_over_an_8n1_link_over_tcp() -> None:
    with tcp_meter(MODE_E, app=app(binary_greeting=UA), software_parity=True) as (port, meter):
        with Client.tcp("127.0.0.1", port, software_parity=True, restart_pause=QUICK, **FAST) as client:
            handover = client.binary()
            assert (handover.baud_rate, handover.leftover) == (9600, b"")
            assert handover.link is client.link and handover.link.data_bits == 8
            handover.link.write(SNRM)
            answer = b""
            for _ in range(50):
                answer += handover.link.read(0.1)
                if len(answer) >= len(UA):
                    break
            assert answer == UA  # bytes >= 0x80 intact: no software parity in mode E
            client.end()
            assert client.link.data_bits == 7
        assert meter.wait_for(lambda: bytes(meter.raw) == SNRM)
        assert meter.heard(b"\x06252\r\n")
        no_errors(meter)


def test_mode_d_listening_on_a_pty() -> None:
    with pty_meter("EBZ5DD3", app=app(), push_every=0.15) as (port, meter):
        with Client.serial(port, mode="D", baud_rate=9600, restart_pause=QUICK, **FAST) as client:
            telegrams = list(itertools.islice(client.listen(timeout=5), 2))
            single = within(10, client.read_out)
            assert client.link.baud_rate == 9600
        for readout in (*telegrams, single):
            assert readout.identification is not None and readout.identification.text == "EBZ5DD3"
            assert readout["1.8.0"].value.value == "001234.5"
        no_errors(meter)


def test_listening_to_silence_times_out() -> None:
    with (
        silent_pty() as port,
        Client.serial(port, mode="D", restart_pause=QUICK, **FAST) as client,
        pytest.raises(ResponseTimeout),
    ):
        within(10, lambda: next(client.listen(timeout=0.3)))


# ================================================================================================
# asyncio: the same operations, awaited
# ================================================================================================
def test_async_readout_and_identify_on_a_pty() -> None:
    async def main(port: str) -> None:
        async with AsyncClient.serial(port, restart_pause=QUICK, **FAST) as client:
            info = await client.identify()
            readout = await client.read_out()
            assert info.baud_rate == 9600
            assert readout["1.8.0"].value.decimal() == Decimal("1234.5")
            assert client.link.baud_rate == 300

    with pty_meter(MODE_C, app=app()) as (port, meter):
        run(main(port))
        no_errors(meter)


def test_async_programming_over_tcp_with_software_parity() -> None:
    async def main(port: int) -> None:
        client = AsyncClient.tcp("127.0.0.1", port, software_parity=True, restart_pause=QUICK, **FAST)
        async with client:
            async with client.programming(password="00000000") as prog:
                assert (await prog.read("C.1.0")).blocks == 2
                await prog.write("0.9.1", "101500")
                await prog.execute("0.9.2")
                assert (await prog.read("0.9.1")).value.value == "101500"
                with pytest.raises(MeterReportedError):
                    await prog.read("9.9.9")
                profile = await prog.load_profile(dt.datetime(2024, 1, 1), None)
                assert await prog.command(CommandMessage.read("0.9.1")) is not None
            assert len(profile) == 3
            with pytest.raises(MeterReportedError, match="password rejected"):
                async with client.programming(password="wrong"):
                    raise AssertionError("the session must not open")  # pragma: no cover

    with tcp_meter(MODE_C, app=app(block_size=12), software_parity=True) as (port, meter):
        run(main(port))
        assert b"\x01R5\x02P.01(02401010000;)\x03" in meter.received_bytes()
        no_errors(meter)


def test_async_mode_e_and_mode_d() -> None:
    async def binary(port: int) -> None:
        url = f"tcp://127.0.0.1:{port}?parity=sw7e1"
        async with AsyncClient.from_url(url, restart_pause=QUICK, **FAST) as client:
            handover = await client.binary()
            await handover.link.write(SNRM)
            answer = b""
            for _ in range(50):
                answer += await handover.link.read(0.1)
                if len(answer) >= len(UA):
                    break
            assert answer == UA
            await client.end()

    async def push(port: str) -> None:
        async with AsyncClient.serial(port, mode="D", baud_rate=9600, restart_pause=QUICK, **FAST) as client:
            seen = []
            async for readout in client.listen(timeout=5):
                seen.append(readout)
                if len(seen) == 2:
                    break
            assert all(r.identification is not None for r in seen)
            assert len(await client.read_out()) == 3

    with tcp_meter(MODE_E, app=app(binary_greeting=UA), software_parity=True) as (port, meter):
        run(binary(port))
        assert meter.wait_for(lambda: bytes(meter.raw) == SNRM)
    with pty_meter("EBZ5DD3", app=app(), push_every=0.15) as (pty, meter):
        run(push(pty))
        no_errors(meter)


def test_async_silent_meter_times_out() -> None:
    async def main(port: str) -> None:
        async with AsyncClient.serial(port, restart_pause=QUICK, **FAST) as client:
            with pytest.raises(ResponseTimeout):
                await client.read_out()

    with silent_pty() as port:
        run(main(port), seconds=10)


# ================================================================================================
# one API shape
# ================================================================================================
def _shape(cls: type) -> dict[str, list[tuple[str, Any, Any, Any]]]:
    shape = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name not in ("__init__",):
            continue
        if not callable(member):
            continue
        parameters = inspect.signature(member).parameters.values()
        shape[name] = [(p.name, p.kind, p.default, p.annotation) for p in parameters if p.name != "client"]
    return shape


@pytest.mark.parametrize(("sync", "asynchronous"), [(Client, AsyncClient), (Programming, AsyncProgramming)])
def test_blocking_and_async_fronts_have_one_shape(sync: type, asynchronous: type) -> None:
    assert _shape(sync) == _shape(asynchronous)


@pytest.mark.parametrize("front", [Client, AsyncClient])
def test_restart_pause_reaches_the_core_and_the_front(front: type[Client] | type[AsyncClient]) -> None:
    """One pause governs both restarts: between operations (front) and between sign-on attempts
    (core). An explicit argument wins; without one, the settings' value is used."""
    explicit = front("tcp://127.0.0.1:9", ClientSettings(restart_pause=5.0), restart_pause=0.3)
    assert explicit.settings.restart_pause == 0.3
    assert explicit._engine.restart_pause == 0.3
    from_settings = front("tcp://127.0.0.1:9", ClientSettings(restart_pause=0.7))
    assert from_settings.settings.restart_pause == 0.7
    assert from_settings._engine.restart_pause == 0.7
