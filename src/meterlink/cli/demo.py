"""Start emulated meters and read them live, in every IEC 62056-21 mode, without hardware.

First a tour of every mode: each meter is the meter side of the protocol state machine, talking
to the client side over a simulated serial line whose clock is virtual (rate switches, reaction
times and character times are what a real line would show, yet the tour takes a fraction of a
second). Then the real thing: the meter emulator on a local TCP port, read by the client with
real sockets and real timing, as ``meterlink read`` would read a meter behind a converter.
Last, a DLMS/COSEM meter emulated on a local TCP port, read by the DLMS client through an
HLS-GMAC association with authenticated encryption (wrapper) and as the public client (HDLC).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from meterlink.dlms import Client as DlmsClient
from meterlink.emulator import DlmsEmulatorThread, EmulatorThread, demo_dlms_description
from meterlink.errors import MeterlinkError
from meterlink.iec62056_21.client import Client
from meterlink.iec62056_21.connection import (
    ClientConnection,
    ClientSettings,
    MeterConnection,
    MeterSettings,
)
from meterlink.iec62056_21.events import (
    BinaryModeEntered,
    DataReceived,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
)
from meterlink.iec62056_21.loopback import MeterApp, Wire
from meterlink.iec62056_21.messages import CommandMessage, Identification
from meterlink.iec62056_21.readout import Readout, parse_data_block

from ._output import readout_table, to_json

NAME = "demo"
HELP = "start emulated meters and read them live (no hardware needed)"


def _block(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n!\r\n").encode("ascii")


@dataclass(frozen=True)
class DemoMeter:
    name: str
    ident: str
    address: str
    readout: bytes
    registers: dict[str, str] = field(default_factory=dict)


ELECTRICITY = DemoMeter(
    "electricity meter, mode C",
    "EMH5\\@D4LZQJ-XC",
    "12345678",
    _block(
        "F.F(00000000)",
        "0.0.0(12345678)",
        "1.8.0(001234.567*kWh)",
        "1.8.1(000987.654*kWh)",
        "1.8.2(000246.913*kWh)",
        "2.8.0(000012.345*kWh)",
        "1.6.0(02.468*kW)(2611250930)",
        "32.7(231.4*V)52.7(229.8*V)72.7(230.6*V)",
        "0.9.1(1101415)",
        "0.9.2(1261126)",
        "C.1.0(12345678)",
    ),
    {"0.9.1": "1101415", "0.9.2": "1261126", "1.8.0": "001234.567*kWh"},
)
HEAT = DemoMeter(
    "heat meter, mode B",
    "SIEC2WR5",
    "",
    _block(
        "6.8(0029.055*MWh)6.26(01589.28*m3)9.21(66153690)",
        "6.26*01(01471.64*m3)6.8*01(0026.847*MWh)",
        "9.4(088*C&082*C)9.6(000&66153690&0)",
    ),
)
WATER = DemoMeter(
    "legacy meter, mode A",
    "KAM MC",
    "",
    _block("0.0(00000001)", "6.8(0012.345*GJ)", "6.26(00234.56*m3)", "9.21(00000001)"),
)
FAST = DemoMeter(
    "20 ms meter, mode C",
    "ISk5MT174-0001",
    "",
    _block("0.0.0(70000042)", "1.8.0(0004567.8*kWh)", "1.8.1(0004000.0*kWh)", "1.8.2(0000567.8*kWh)"),
)
PUSH = DemoMeter(
    "push meter, mode D",
    "EBZ5DD3BZ06ETA_107",
    "",
    b"\r\n"
    + _block(
        "1-0:0.0.0*255(1EBZ0100507409)",
        "1-0:96.1.0*255(1EBZ0100507409)",
        "1-0:1.8.0*255(000125.25688570*kWh)",
        "1-0:16.7.0*255(000421.74*W)",
    ),
)
HDLC = DemoMeter("DLMS meter, mode E", "LGZ5\\2ZMD3104400.B32", "", b"")


def _session(meter: DemoMeter, settings: ClientSettings) -> tuple[Wire, ClientConnection]:
    client = ClientConnection(settings)
    conn = MeterConnection(
        MeterSettings(Identification.from_text(meter.ident), address=meter.address, operand="4711")
    )
    app = MeterApp(readout=meter.readout, registers=dict(meter.registers), block_size=48)
    return Wire(client, conn, app), client


def _read(meter: DemoMeter) -> dict[str, Any]:
    wire, client = _session(meter, ClientSettings(address=meter.address))
    client.read_out(0.0)
    wire.run()
    event = next(e for e in wire.client.events if isinstance(e, ReadoutReceived))
    readout = event.readout()
    ident = readout.identification
    return {
        "meter": meter.name,
        "identification": ident.text if ident else None,
        "mode": client.mode.value if client.mode else None,
        "baud_rate": event.baud_rate,
        "line_seconds": round(wire.now, 3),
        "readout": readout,
    }


def _push(meter: DemoMeter) -> dict[str, Any]:
    wire, client = _session(meter, ClientSettings())
    for side in (wire.client, wire.meter):
        side.links = [(float("-inf"), 9600)]
    client.listen(0.0)
    conn = wire.meter.connection
    assert isinstance(conn, MeterConnection)
    conn.push(meter.readout, 0.0)
    wire.run(settle=True)
    event = next(e for e in wire.client.events if isinstance(e, PushReceived))
    ident = event.identification
    readout = event.readout()
    return {
        "meter": meter.name,
        "identification": ident.text if ident else None,
        "mode": "D",
        "baud_rate": 9600,
        "line_seconds": round(wire.now, 3),
        "readout": readout,
    }


def _binary(meter: DemoMeter) -> dict[str, Any]:
    wire, client = _session(meter, ClientSettings())
    client.binary(0.0)
    wire.run()
    event = next(e for e in wire.client.events if isinstance(e, BinaryModeEntered))
    return {
        "meter": meter.name,
        "identification": meter.ident,
        "mode": "E",
        "baud_rate": event.baud_rate,
        "line_seconds": round(wire.now, 3),
        "handed_over": f"{event.baud_rate} Bd 8N1, link handed to the next protocol (HDLC)",
    }


def _programming(meter: DemoMeter) -> dict[str, Any]:
    wire, client = _session(meter, ClientSettings(address=meter.address, password="00000000"))
    client.program(0.0)
    wire.run()
    entered = next(e for e in wire.client.events if isinstance(e, ProgrammingModeEntered))
    values: dict[str, Any] = {}
    for address in ("0.9.1", "0.9.2", "1.8.0"):
        client.send_command(CommandMessage.read(address, command_type="5"), wire.now)
        wire.run()
        reply = wire.client.events[-1]
        assert isinstance(reply, DataReceived)
        data_set = parse_data_block(reply.data)[0]
        values[address] = [{"value": v.value, "unit": v.unit} for v in data_set.values]
    client.end(wire.now)
    wire.run()
    return {
        "meter": meter.name + ", programming mode",
        "operand": entered.operand,
        "reads": values,
        "line_seconds": round(wire.now, 3),
    }


def _live() -> dict[str, Any]:
    """The built-in emulated meter on 127.0.0.1, read over a real socket in real time."""
    started = time.monotonic()
    with EmulatorThread() as emulator, Client.from_url(emulator.url) as meter:
        readout = meter.read_out()
        ident = readout.identification
        return {
            "meter": f"emulator on {emulator.url}",
            "identification": ident.text if ident else None,
            "seconds": round(time.monotonic() - started, 2),
            "readout": readout,
        }


DEMO_KEY = "000102030405060708090A0B0C0D0E0F"
DEMO_AUTH_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def _dlms_live() -> dict[str, Any]:
    """The DLMS emulator on 127.0.0.1: management over the wrapper, the public client over HDLC."""
    description = demo_dlms_description()
    started = time.monotonic()
    with DlmsEmulatorThread(description, "tcp://127.0.0.1:0", transport="wrapper") as emulator:
        with DlmsClient.from_url(
            emulator.url, client=1, auth="hls-gmac", key=DEMO_KEY, auth_key=DEMO_AUTH_KEY
        ) as meter:
            energy = meter.get("1.0.1.8.0.255")
            voltage = meter.get("1.0.32.7.0.255")
            clock = meter.read_clock()
            if not isinstance(clock, dt.datetime):
                raise MeterlinkError(f"the emulated meter's clock is not a full date-time: {clock!r}")
            until = clock.replace(tzinfo=None)
            profile = meter.read_profile("1.0.99.1.0.255", until - dt.timedelta(hours=1), until)
        wrapper_url = emulator.url
    with DlmsEmulatorThread(description, "tcp://127.0.0.1:0", transport="hdlc") as emulator:
        # HDLC server address: logical device 1, physical 17 (the emulator's default)
        with DlmsClient.from_url(emulator.url, transport="hdlc", client=16, physical=17) as meter:
            device = meter.get("0.0.96.1.0.255")
        hdlc_url = emulator.url
    return {
        "meter": description.name,
        "wrapper_url": wrapper_url,
        "hdlc_url": hdlc_url,
        "energy": str(energy),
        "voltage": str(voltage),
        "clock": clock.isoformat(),
        "profile": [[cell.isoformat() if isinstance(cell, dt.datetime) else cell for cell in row]
                    for row in profile.rows],
        "device_id": device,
        "seconds": round(time.monotonic() - started, 2),
    }


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--rows", type=int, default=12, help="rows per readout table (default 12)")


def run(args: argparse.Namespace) -> int:
    results = [_read(m) for m in (ELECTRICITY, HEAT, WATER, FAST)]
    results.append(_push(PUSH))
    results.append(_binary(HDLC))
    programming = _programming(ELECTRICITY)
    live = _live()
    dlms = _dlms_live()
    if args.json:
        document = [
            {k: (v.to_dict() if isinstance(v, Readout) else v) for k, v in result.items()}
            for result in (*results, live)
        ]
        document.append(programming)
        document.append(dlms)
        print(to_json(document))
        return 0
    for result in results:
        print(
            f"== {result['meter']}: /{result['identification']}  "
            f"mode {result['mode']}, {result['baud_rate']} Bd, {result['line_seconds']:.2f} s on the line"
        )
        readout = result.get("readout")
        if isinstance(readout, Readout):
            print(readout_table(readout, limit=args.rows))
        else:
            print(result["handed_over"])
        print()
    print(f"== {programming['meter']}: P0 operand {programming['operand']!r}, password accepted")
    for address, groups in programming["reads"].items():
        shown = " ".join(f"{g['value']}{' ' + g['unit'] if g['unit'] else ''}" for g in groups)
        print(f"R5 {address:8} -> {shown}")
    print(f"B0 sent, session closed after {programming['line_seconds']:.2f} s on the line")
    print()
    print(f"== live: {live['meter']}: /{live['identification']}, read in {live['seconds']:.2f} s")
    print(readout_table(live["readout"], limit=args.rows))
    print()
    print(f"== DLMS/COSEM: {dlms['meter']}, read in {dlms['seconds']:.2f} s")
    print(f"{dlms['wrapper_url']} (wrapper), client 1, HLS-GMAC, authenticated + encrypted:")
    print(f"  1.0.1.8.0.255  energy   {dlms['energy']}")
    print(f"  1.0.32.7.0.255 voltage  {dlms['voltage']}")
    print(f"  0.0.1.0.0.255  clock    {dlms['clock']}")
    for stamp, value in dlms["profile"]:
        print(f"  1.0.99.1.0.255 profile  {stamp}  {value} Wh")
    print(f"{dlms['hdlc_url']} (HDLC), public client 16, no authentication:")
    print(f"  0.0.96.1.0.255 device   {dlms['device_id']}")
    return 0
