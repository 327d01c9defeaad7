"""The ``iec62056-21`` (pwitab) facade against the emulator, over TCP and a pty.

The meter is the built-in EMH LZQJ-XC (device address 12345678, P1 password 00000000, a wrong
password answered with B0) with 20 ms timings. Every test body runs under a watchdog.
"""

from __future__ import annotations

import pytest

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterReportedError
from meterlink.iec62056_21.compat import DataSet, Iec6205621Client, PasswordChallenge, ReadoutAnswer
from meterlink.iec62056_21.connection import ClientSettings
from meterlink.iec62056_21.readout import parse_readout

from ..interop.helpers import FAST, Recorder, emh, host_port, quick, serving, within

QUICK = 0.1
"""restart_pause: the emulator is ready again at once after a break."""
P1 = b"\x01P1\x02(00000000)\x03a"
B0 = b"\x01B0\x03q"


def facade(url: str) -> Iec6205621Client:
    return Iec6205621Client.with_tcp_transport(
        address=host_port(url),
        device_address="12345678",
        password="00000000",
        restart_pause=QUICK,
        settings=FAST,
    )


def test_readout_over_tcp_like_the_seed() -> None:
    def body() -> None:
        with serving(quick(emh())) as emulator, facade(emulator.url) as client:
            answer = client.standard_readout()
            assert isinstance(answer, ReadoutAnswer)
            assert DataSet("0.0.0", "12345678") in answer.data
            energy = next(ds for ds in answer.data if ds.address == "1.8.0")
            assert energy.unit == "kWh"
            assert energy.value.startswith("0012")
            # a second bracket group follows as an address-less data set, as in the seed
            demand = [ds.address for ds in answer.data].index("1.6.0")
            assert answer.data[demand : demand + 2] == (
                DataSet("1.6.0", "02.468", "kW"),
                DataSet(None, "2402281830"),
            )
            assert answer.readout["0.0.0"].value.value == "12345678"
            assert (client.manufacturer_id, client.identification) == ("EMH", "D4LZQJ-XC")
            assert (client.switchover_baudrate_char, client.switchover_baudrate) == ("5", 9600)
            assert client.use_short_reaction_time is False
            assert client.device_address == "12345678"

    within(20, body)


def test_programming_with_password_read_write_and_break() -> None:
    def body() -> None:
        wire = Recorder()
        with serving(quick(emh())) as emulator, facade(emulator.url) as client:
            client.client.link.trace = wire
            challenge = client.access_programming_mode()
            assert challenge == PasswordChallenge(DataSet(None, ""))  # EMH sends an empty P0
            assert (challenge.command, challenge.command_type) == ("P", 0)
            client.send_password()
            assert wire.sent[-1] == P1
            assert client.read_value("1.6.0") == DataSet("1.6.0", "02.468", "kW")  # needs P1
            assert client.read_single_value("C.1.0", additional_data="1") == DataSet("C.1.0", "07123456")
            client.write_single_value("0.9.1", "101500")
            assert client.read_single_value("0.9.1").value.startswith("1015")
            with pytest.raises(MeterReportedError) as error:
                client.read_single_value("9.9.9")
            assert (error.value.text, error.value.code) == ("ER02", 2)
            client.send_break()
            assert wire.sent[-1] == B0
            with pytest.raises(LocalProtocolError, match="access_programming_mode"):
                client.read_value("1.8.0")
            client.send_break()  # nothing open: nothing sent
            assert wire.sent[-1] == B0
            assert wire.sent.count(B0) == 1
            assert len(client.standard_readout().data) > 10  # the client is usable again

    within(25, body)


def test_refused_password_is_a_meterlink_error_and_ends_the_session() -> None:
    def body() -> None:
        with serving(quick(emh())) as emulator, facade(emulator.url) as client:
            client.access_programming_mode()
            with pytest.raises(MeterReportedError, match="password rejected") as error:
                client.send_password("wrong")
            assert error.value.text == "B0"  # this meter breaks off
            with pytest.raises(LocalProtocolError):
                client.read_value("1.8.0")
            client.access_programming_mode()  # a new sign-on works
            client.send_password("00000000")
            assert client.read_value("1.6.0").unit == "kW"

    within(25, body)


def test_disconnect_closes_and_connect_opens_a_new_link() -> None:
    def body() -> None:
        with serving(quick(emh())) as emulator:
            client = facade(emulator.url)
            client.connect()
            first = client.client
            client.access_programming_mode()
            client.disconnect()  # ends the session with B0, closes the socket
            client.disconnect()
            client.connect()
            assert client.client is not first
            assert len(client.standard_readout().data) > 10
            client.disconnect()

    within(20, body)


def test_serial_transport_on_a_pty() -> None:
    def body() -> None:
        with serving(quick(emh()), listen="pty") as emulator:
            client = Iec6205621Client.with_serial_transport(
                port=emulator.url, restart_pause=QUICK, settings=FAST
            )
            with client:
                assert client.device_address == ""  # no address: the general request /?!
                assert DataSet("C.1.0", "07123456") in client.standard_readout().data

    within(20, body)


def test_constructors_take_meterlink_options_and_refuse_error_parsers() -> None:
    serial = Iec6205621Client.with_serial_transport(
        "/dev/null", device_address="42", battery_powered=True, settings=ClientSettings(retries=1)
    )
    assert (serial.client.settings.address, serial.client.settings.wake_up) == ("42", True)
    assert serial.client.settings.retries == 1
    url = Iec6205621Client.from_url("tcp://127.0.0.1:1", device_address="7", password="secret")
    assert (url.client.settings.address, url.password) == ("7", "secret")
    assert url.identification is None and url.switchover_baudrate is None
    with pytest.raises(LocalProtocolError, match="error_parser_class"):
        Iec6205621Client.with_tcp_transport(("127.0.0.1", 1), error_parser_class=object)
    with pytest.raises(LocalProtocolError, match="access_programming_mode"):
        url.write_single_value("0.9.1", "1")
    with pytest.raises(LocalProtocolError, match="access_programming_mode"):
        url.send_password()
    url.send_break()  # nothing open, no link needed
    url.disconnect()


def test_data_sets_are_flattened_like_the_seed() -> None:
    readout = parse_readout(
        b"\x021.8.0(001234.5*kWh)\r\n"
        b"1.6.0(02.4*kW)(1703100930)\r\n"
        b"P.01(0240101)(00)\r\n(0.1)(0.2)\r\n"
        b"9.4(088*C&082*C)\r\n"
        b"0.0.0()\r\n"
        b"!\r\n\x03",
        strict=False,
    )
    assert ReadoutAnswer.from_readout(readout).data == (
        DataSet("1.8.0", "001234.5", "kWh"),
        DataSet("1.6.0", "02.4", "kW"),
        DataSet(None, "1703100930"),
        DataSet("P.01", "0240101"),
        DataSet(None, "00"),
        DataSet(None, "0.1"),  # a row: no address, as the seed shows it
        DataSet(None, "0.2"),
        DataSet("9.4", "088*C&082*C"),  # '&' groups keep their text (the seed splits at the last '*')
        DataSet("0.0.0", ""),
    )


def test_a_read_must_answer_one_data_set() -> None:
    def body() -> None:
        with serving(quick(emh())) as emulator, facade(emulator.url) as client:
            client.access_programming_mode()
            client.send_password()
            with pytest.raises(MalformedDataError, match="data sets, expected one"):
                # the emulator answers P.01 with a header and rows: not a single value
                client.read_single_value("P.01", "02403010000;02403010015")

    within(20, body)
