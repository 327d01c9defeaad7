"""Read a DLMS/COSEM meter: one attribute, the object list, or a load profile.

URL names the link: ``tcp://HOST:4059`` (the wrapper; ``--transport hdlc`` for HDLC over TCP),
``udp://HOST:4059``, ``serial:///dev/ttyUSB0?baud=9600`` (HDLC) or ``mode-e:///dev/ttyUSB0``
(HDLC after the IEC 62056-21 mode E handshake on an optical head). Keys and system titles are
hex or ``@file``.

    meterlink dlms get tcp://10.0.0.5:4059 1.0.1.8.0.255
    meterlink dlms get tcp://10.0.0.5:4059 0.0.1.0.0.255:2 --class 8 --json
    meterlink dlms objects serial:///dev/ttyUSB0 --auth lls --password 00000000
    meterlink dlms profile tcp://10.0.0.5:4059 1.0.99.1.0.255 --from 2024-05-01 --to 2024-05-02
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from meterlink.dlms.client import Client, ClientOptions
from meterlink.dlms.cosem import ObjectListEntry, Profile, Quantity, attribute_name, interface_class
from meterlink.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis

from ._output import to_json

NAME = "dlms"
HELP = "read a DLMS/COSEM meter: an attribute, the object list, a load profile"

AUTH: Final = ("none", "lls", "hls", "hls-md5", "hls-sha1", "hls-sha256", "hls-gmac")
_TIME_FORMATS: Final = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def _time(text: str) -> dt.datetime:
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r}: use YYYY-MM-DD[THH:MM[:SS]]")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url", help="tcp://HOST:4059, udp://HOST:4059, serial:///dev/ttyUSB0, mode-e:///dev/ttyUSB0"
    )
    parser.add_argument(
        "--transport", choices=("wrapper", "hdlc"), help="over TCP: wrapper (default) or hdlc"
    )
    parser.add_argument(
        "--client-sap", type=int, default=16, metavar="SAP", help="our client SAP (default 16)"
    )
    parser.add_argument("--logical", type=int, default=1, help="the meter's logical device (default 1)")
    parser.add_argument("--physical", type=int, help="the meter's HDLC physical address")
    parser.add_argument(
        "--auth", choices=AUTH, default="none", help="authentication mechanism (default none)"
    )
    parser.add_argument("--password", help="LLS password or HLS secret")
    parser.add_argument("--key", help="global unicast encryption key (hex or @file)")
    parser.add_argument("--auth-key", help="authentication key (hex or @file)")
    parser.add_argument("--system-title", help="our system title (hex or @file)")
    parser.add_argument("--timeout", type=_positive, default=5.0, metavar="SECONDS", help="per response (5)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="dlms_command", metavar="ACTION", required=True)
    get = commands.add_parser("get", help="read one attribute (OBIS[:ATTR], attribute 2 by default)")
    _common(get)
    get.add_argument("target", metavar="OBIS[:ATTR]")
    get.add_argument(
        "--class", dest="class_id", type=int, help="interface class (default: guessed from OBIS)"
    )
    objects = commands.add_parser("objects", help="list the association's objects")
    _common(objects)
    profile = commands.add_parser("profile", help="read a Profile generic buffer")
    _common(profile)
    profile.add_argument("obis", metavar="OBIS")
    profile.add_argument("--from", dest="start", type=_time, help="first time (YYYY-MM-DD[THH:MM])")
    profile.add_argument("--to", dest="end", type=_time, help="last time")


def _target(text: str) -> tuple[Obis, int]:
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit() and Obis.try_parse(head) is not None:
        return Obis.parse(head), int(tail)
    obis = Obis.try_parse(text)
    if obis is None:
        raise LocalProtocolError(f"{text!r} is not OBIS[:ATTR] (e.g. 1.0.1.8.0.255 or 1-0:1.8.0.255:3)")
    return obis, 2


def _client(args: argparse.Namespace) -> Client:
    options: ClientOptions = {
        "client": args.client_sap,
        "server": args.logical,
        "physical": args.physical,
        "auth": args.auth,
        "password": args.password,
        "key": args.key,
        "auth_key": args.auth_key,
        "system_title": args.system_title,
        "timeout": args.timeout,
    }
    url: str = args.url
    if args.transport is not None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme == "tcp":
            url += ("&" if "?" in url else "?") + f"transport={args.transport}"
        elif args.transport != ("wrapper" if scheme == "udp" else "hdlc"):
            raise LocalProtocolError(
                "--transport: tcp:// takes wrapper or hdlc, udp:// the wrapper, a serial port HDLC"
            )
    return Client.from_url(url, **options)


def plain(value: Any) -> Any:
    """A JSON-friendly form of a typed value."""
    if isinstance(value, Quantity):
        return {"value": str(value.value), "unit": value.symbol, "raw": value.raw, "scaler": value.scaler}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, CosemDateTime | CosemDate | CosemTime):
        return value.to_bytes().hex()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Obis):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value if not isinstance(value, int) or isinstance(value, bool) else int(value)
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        printable = value.isascii() and value.decode("ascii").isprintable()
        return f"{value.hex()}" + (f"  ({value.decode('ascii')!r})" if printable and value else "")
    return str(value)


def _objects_text(entries: list[ObjectListEntry]) -> str:
    lines = [f"{'class':<22} {'version':>7}  logical name"]
    for entry in entries:
        try:
            name = interface_class(entry.class_id).name
        except LocalProtocolError:
            name = str(int(entry.class_id))
        lines.append(f"{name:<22} {entry.version:>7}  {entry.logical_name}")
    return "\n".join(lines)


def _profile_document(profile: Profile) -> dict[str, Any]:
    return {
        "columns": [
            {
                "class_id": int(c.capture_object.class_id) if c.capture_object else None,
                "logical_name": str(c.capture_object.logical_name) if c.capture_object else None,
                "attribute": c.capture_object.attribute if c.capture_object else None,
                "unit": c.scaler_unit.unit.name
                if c.scaler_unit and isinstance(c.scaler_unit.unit, Enum)
                else None,
            }
            for c in profile.columns
        ],
        "rows": [[plain(v) for v in row] for row in profile.scaled_rows()],
    }


def _profile_text(profile: Profile) -> str:
    header = [
        str(c.capture_object.logical_name) if c.capture_object else f"#{c.index}" for c in profile.columns
    ]
    rows = [[_text(v) for v in row] for row in profile.scaled_rows()]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    client = _client(args)
    with client:
        if args.dlms_command == "get":
            obis, attribute = _target(args.target)
            value = client.get(obis, attribute, args.class_id)
            descriptor = client._attribute(obis, attribute, args.class_id)
            if args.json:
                document = {
                    "obis": str(obis),
                    "class_id": descriptor.class_id,
                    "attribute": attribute,
                    "name": attribute_name(descriptor.class_id, attribute),
                    "value": plain(value),
                }
                print(to_json(document))
            else:
                print(f"{obis} class {descriptor.class_id} attribute {attribute}: {_text(value)}")
        elif args.dlms_command == "objects":
            entries = client.read_object_list()
            if args.json:
                print(
                    to_json(
                        [
                            {
                                "class_id": int(e.class_id),
                                "version": e.version,
                                "logical_name": str(e.logical_name),
                            }
                            for e in entries
                        ]
                    )
                )
            else:
                print(_objects_text(entries))
        else:
            profile = client.read_profile(_target(args.obis)[0], args.start, args.end)
            if args.json:
                print(to_json(_profile_document(profile)))
            else:
                print(_profile_text(profile))
    sys.stdout.flush()
    return 0
