"""Run an emulated meter on TCP or a pseudo-terminal until Ctrl-C (or SIGTERM).

The first line printed is where to connect: ``tcp://HOST:PORT`` or the pty's path, which a
client opens like a serial port. ``meterlink emulate dlms --json`` prints that line as a JSON
object instead (``url``, ``transport``, ``mode_e``, ``physical_address``, ``logical_devices``
with their ``address``, ``name`` and ``clients``, and all ``clients``), for scripts.
``--meter`` takes a TOML description (see ``examples/meters/``); without it the built-in EMH
LZQJ-XC runs.

``meterlink emulate dlms`` runs a DLMS/COSEM meter instead (``examples/meters/dlms-meter.toml``):
the wrapper (default) or HDLC over TCP (``--transport``), the wrapper over UDP (``--listen udp://...``),
HDLC on a pty, or mode E on a pty (``--mode-e``: IEC 62056-21 sign-on, then HDLC).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from meterlink.emulator import MeterModel, builtin_description, load_description, open_server
from meterlink.errors import LocalProtocolError, MeterlinkError

if TYPE_CHECKING:
    from meterlink.emulator.dlms import DlmsDescription, DlmsServer

NAME = "emulate"
HELP = "run an emulated meter on TCP or a pty (until Ctrl-C)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("protocol", choices=["iec62056-21", "dlms"], help="the protocol the meter speaks")
    parser.add_argument(
        "--listen",
        default="tcp://127.0.0.1:0",
        help="tcp://HOST:PORT (port 0 picks a free one), udp://HOST:PORT (dlms: the wrapper, "
        "port 4059 by convention) or pty (default: %(default)s)",
    )
    parser.add_argument("--meter", metavar="FILE", help="meter description (TOML); default: built-in EMH")
    parser.add_argument(
        "--simulate-baud", action="store_true", help="pace transmissions at the line rate (10 bits/char)"
    )
    parser.add_argument(
        "--check-line",
        action="store_true",
        help="pty only: bytes sent at a rate or format other than the meter's arrive as noise",
    )
    parser.add_argument(
        "--transport",
        choices=["hdlc", "wrapper"],
        help="dlms: HDLC or the IEC 62056-47 wrapper (default: hdlc on TCP and pty, wrapper on UDP)",
    )
    parser.add_argument(
        "--mode-e", action="store_true", help="dlms on a pty: IEC 62056-21 sign-on (mode E) before HDLC"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="dlms: print the first line as a JSON object (url, transport, mode_e, logical devices, "
        "clients) for scripts",
    )


def run(args: argparse.Namespace) -> int:
    if args.protocol == "dlms":
        asyncio.run(_serve_dlms(args))
        return 0
    if args.transport or args.mode_e or args.json:
        raise LocalProtocolError("--transport, --mode-e and --json are for dlms")
    description = load_description(args.meter) if args.meter else builtin_description()
    meter = MeterModel(description)
    asyncio.run(_serve(meter, args.listen, args.simulate_baud, args.check_line))
    return 0


async def _serve(meter: MeterModel, listen: str, simulate_baud: bool, check_line: bool) -> None:
    server = await open_server(meter, listen, simulate_baud=simulate_baud, check_line=check_line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(server.url, flush=True)
        d = meter.description
        modes = ", ".join(sorted(m.value for m in d.modes))
        name = d.name or d.identification.text
        print(
            f"emulating {name} (/{d.identification.text}, modes {modes}) - Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.close()


async def _serve_dlms(args: argparse.Namespace) -> None:
    from meterlink.emulator.dlms import live_meter, load_dlms_description, open_dlms_server

    if args.simulate_baud or args.check_line:
        raise LocalProtocolError("--simulate-baud and --check-line are for iec62056-21")
    description = load_dlms_description(args.meter) if args.meter else None
    meter = live_meter(description)
    server = await open_dlms_server(meter, args.listen, transport=args.transport, mode_e=args.mode_e)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        d = meter.description
        if args.json:
            print(json.dumps(_dlms_address(server, d)), flush=True)
        else:
            print(server.url, flush=True)
        devices = ", ".join(str(ld.address) for ld in d.logical_devices)
        clients = ", ".join(str(a.client) for a in d.logical_devices[0].associations)
        print(
            f"emulating {d.name} (DLMS, logical devices {devices}, clients {clients}) - Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.close()


def _dlms_address(server: DlmsServer, description: DlmsDescription) -> dict[str, Any]:
    """Where and how to reach the DLMS emulator, for scripts (``--json``)."""
    udp = server.url.startswith("udp://")
    transport = getattr(server, "transport", None) or ("wrapper" if udp else "hdlc")
    devices = [
        {
            "address": ld.address,
            "name": ld.name.decode("latin-1"),
            "clients": [a.client for a in ld.associations],
        }
        for ld in description.logical_devices
    ]
    clients = sorted({a.client for ld in description.logical_devices for a in ld.associations})
    return {
        "url": server.url,
        "transport": transport,
        "mode_e": bool(getattr(server, "mode_e", False)),
        "physical_address": description.physical_address,
        "logical_devices": devices,
        "clients": clients,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run this command on its own (``python -m meterlink.cli.emulate``)."""
    parser = argparse.ArgumentParser(prog=f"meterlink {NAME}", description=__doc__)
    configure(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except MeterlinkError as exc:
        print(f"meterlink: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
