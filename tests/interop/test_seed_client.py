"""The seed's own client (PyPI ``iec62056-21`` 0.0.2, pwitab) reads our emulator over TCP.

An independent implementation signing on, reading out, entering programming mode and reading
registers and LIS-200 archives from the emulator shows that the emulator speaks the protocol
the way other clients expect, not only the way meterlink's own client does.

The meters are described as real ones of their kind behind a TCP converter would behave; the
seed's quirks are met on its side:

* over TCP the seed always sends its ``device_address`` in the request (``/?12345678!``), as
  a head-end on an RS-485 bus must: the EMH and the Iskra carry bus addresses, and a meter
  with another address stays silent;
* it sleeps 1.25 x 200 ms after the request and after the option select (25 ms once the
  identification shows a lower-case letter) and never switches the rate over TCP: the
  emulator does not pace the line, so the proposed rate costs nothing;
* its socket timeout and read loop default to 30 s (and a closed socket spins until then):
  :func:`seed` sets 5 s, and every test body runs under a watchdog;
* its identification parsing drops the fifth character (``/ISk5MT174-0001`` gives
  ``T174-0001``, ``/EMH5\\@D4LZQJ-XC`` gives ``@D4LZQJ-XC``);
* ``send_password()`` raises ``TypeError`` in 0.0.2 (it builds ``DataSet(value=...)`` without
  the required address), so the P1 is sent with the seed's own message classes instead; the
  seed never reads the meter's ACK to P1, its next read skips it;
* its ``write_single_value`` reads a single byte: an error answer (``#0017`` for a wrong
  key) ends in ``ValueError`` rather than in its error parser; its next read skips the rest;
* its partial-block reader puts CR LF where each EOT was; the emulator ends every archive row
  with CR LF, so the joined answer has blank lines, which its ``ArchiveReadout`` cannot take:
  the archive is read once in partial blocks (rows counted) and once in one block (``R1``)
  for the seed's own archive decoding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The seed is a test dependency (the ``test`` extra): a missing install must fail, not skip.
import iec62056_21.client as seed_client
import iec62056_21.lis200 as seed_lis200
import iec62056_21.messages as seed_messages
import iec62056_21.transports as seed_transports
import pytest

from meterlink.emulator import parse_description
from meterlink.iec62056_21 import Client

from .helpers import ek280, emh, host_port, serving, within

TIMEOUT = 5.0

ISKRA_MT174 = parse_description(
    """
# Iskra MT174 on RS-485 behind a TCP converter (pwitab/iec62056-21#36): lower-case 'k', so the
# meter answers within 20 ms; mode C at 9600 Bd; addressed by its serial number on the bus.
[meter]
identification = '/ISk5MT174-0001'
address = "37190002"
reaction_time = 0.02

[registers]
"0.0.0" = "37190002"
"1.8.0" = {value = "0004711.123", unit = "kWh"}
"2.8.0" = {value = "0000042.000", unit = "kWh"}

[readout]
layout = ["0.0.0", "1.8.0", "2.8.0"]
"""
)


@contextmanager
def seed(url: str, device_address: str = "", **options: Any) -> Iterator[Any]:
    """The seed's TCP client, connected, with 5 s timeouts instead of 30 s."""
    client = seed_client.Iec6205621Client.with_tcp_transport(
        address=host_port(url), device_address=device_address, **options
    )
    client.transport.timeout = TIMEOUT
    client.transport.socket.settimeout(TIMEOUT)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


def send_p1(client: Any, password: str) -> str:
    """``P1(password)`` with the seed's message classes (its send_password is broken); the reply."""
    data_set = seed_messages.DataSet(address="", value=password)
    client.transport.send(seed_messages.CommandMessage("P", 1, data_set).to_bytes())
    reply: str = client._recv_ack()
    return reply


def test_seed_reads_out_the_emh() -> None:
    def body() -> None:
        with serving(emh()) as emulator:
            with seed(emulator.url, device_address="12345678") as client:
                answer = client.standard_readout()
                ident = (client.manufacturer_id, client.switchover_baudrate_char, client.identification)
            with Client.from_url(emulator.url, address="12345678", restart_pause=0.1) as ours:
                readout = ours.read_out()
        assert ident == ("EMH", "5", "@D4LZQJ-XC")  # the seed's parsing keeps the '@' of '\@'
        data = {(ds.address, ds.value, ds.unit) for ds in answer.data}
        assert ("0.0.0", "12345678", None) in data
        assert ("C.1.0", "07123456", None) in data
        assert ("1.6.0", "02.468", "kW") in data
        assert (None, "2402281830", None) in data  # the extra group, address-less in the seed
        # the same data sets, in the same order, as meterlink's own client reads them
        assert [ds.address for ds in answer.data if ds.address] == [ds.address for ds in readout]
        energy = next(ds for ds in answer.data if ds.address == "1.8.0")
        assert energy.unit == "kWh" and energy.value[:7] == readout["1.8.0"].value.value[:7]

    within(20, body)


def test_seed_programming_mode_on_the_emh() -> None:
    def body() -> None:
        with serving(emh()) as emulator, seed(emulator.url, device_address="12345678") as client:
            challenge = client.access_programming_mode()
            assert (challenge.command, challenge.command_type, challenge.data_set.value) == ("P", 0, "")
            with pytest.raises(TypeError, match="address"):
                client.send_password("00000000")  # broken in 0.0.2, sends nothing
            assert send_p1(client, "00000000") == "\x06"
            energy = client.read_single_value("1.8.0")
            assert (energy.address, energy.unit) == ("1.8.0", "kWh")
            demand = client.read_single_value("1.6.0")  # readable after P1 only
            assert (demand.address, demand.value, demand.unit) == ("1.6.0", "02.468", "kW")
            client.write_single_value("0.9.1", "101500")
            assert client.read_single_value("0.9.1").value.startswith("1015")
            client.send_break()

    within(20, body)


def test_seed_wrong_address_and_wrong_password() -> None:
    def body() -> None:
        with serving(emh()) as emulator:
            with seed(emulator.url, device_address="99999999") as client:
                client.transport.timeout = 1.0
                client.transport.socket.settimeout(1.0)
                with pytest.raises(seed_transports.TransportError):
                    client.standard_readout()  # a bus meter ignores another address
            with seed(emulator.url, device_address="12345678") as client:
                client.access_programming_mode()
                assert send_p1(client, "wrong") == "\x01"  # the EMH breaks off: SOH B0 ETX

    within(20, body)


def test_seed_reads_an_iskra_with_a_20_ms_reaction_time() -> None:
    def body() -> None:
        with serving(ISKRA_MT174) as emulator, seed(emulator.url, device_address="37190002") as client:
            answer = client.standard_readout()
            assert client.use_short_reaction_time is True
            assert client.identification == "T174-0001"  # the seed's slicing bug, pwitab#14
            assert [(ds.address, ds.value, ds.unit) for ds in answer.data] == [
                ("0.0.0", "37190002", None),
                ("1.8.0", "0004711.123", "kWh"),
                ("2.8.0", "0000042.000", "kWh"),
            ]

    within(20, body)


def test_seed_lis200_locks_errors_and_archives_on_the_ek280() -> None:
    start, end = "2024-03-01,02:00:00", "2024-03-01,07:00:00"

    def archive(client: Any, attribute: str, partial: bool) -> Any:
        command = seed_lis200.ArchiveReadoutCommand(
            archive=3,
            position=3,
            attribute=attribute,
            start=start,
            end=end,
            partial_blocks=partial,
            rows_per_block=2,
        )
        client.transport.send(command.to_bytes())
        return client.read_response()

    def body() -> None:
        with (
            serving(ek280()) as emulator,
            seed(emulator.url, error_parser_class=seed_lis200.Lis200ErrorParser) as client,
        ):
            challenge = client.access_programming_mode()
            assert challenge.data_set.value == "12345678"  # the EK280's P0 operand: its serial number
            assert client.identification == "2EK280"  # '/Els6\2EK280' sliced by the seed
            with pytest.raises(seed_lis200.NoReadAuthorizationError):
                client.read_single_value("6:210_1.0")  # '#0018' decoded by the seed's error parser
            with pytest.raises(ValueError, match="invalid response"):
                # a wrong key: '#0017', but the seed's write reads one byte (STX) and gives up
                client.write_single_value("4:171.0", "99999999")
            assert client.read_single_value("4:171.0").value == "0"
            client.write_single_value("4:171.0", "22222222")
            pressure = client.read_single_value("6:210_1.0")
            assert (pressure.value, pressure.unit) == ("01.0325", "bar")
            # partial blocks: 6 rows, 2 per block, joined by the seed's reader
            joined = archive(client, "0", partial=True)
            rows = [line for line in joined.data_block.data_lines if line.data_sets]
            assert len(rows) == 6
            assert [line.data_sets[2].value for line in rows] == [
                f"2024-03-01,0{h}:00:00" for h in range(2, 8)
            ]
            # one block each: the seed's own ArchiveReadout joins values, sources and units
            readout = seed_lis200.ArchiveReadout(
                values=archive(client, "0", partial=False),
                addresses=archive(client, "4", partial=False),
                units=archive(client, "3", partial=False),
                datetime_position=3,
                utc_offset=None,
            )
            points = readout.data
            assert len(points) == 6 * 7
            volume = points[3]
            assert (volume.address, volume.unit, volume.value) == ("2:300.0", "m3", "00012326.4789")
            assert volume.timestamp == dt.datetime(2024, 3, 1, 2, 0)
            client.send_break()
            client.send_break()  # LIS-200 sessions end with B0 twice

    within(25, body)
