"""Listen for DLMS pushes (DataNotification, event-notification) and print each one as it arrives.

URLs: ``udp://0.0.0.0:4059`` (datagrams: wrapper PDUs or bare APDUs), ``tcp://host:port``
(connect and read the meter's stream: wrapper or HDLC), ``tcp-listen://0.0.0.0:4059`` (accept
meters' connections), ``serial:///dev/ttyUSB0?baud=2400`` (HDLC on a HAN/P1 port, 8N1) and
``mbus:///dev/ttyUSB0?baud=2400`` (wired M-Bus long frames, 8E1). Query keys: ``baud``,
``parity`` (N/E), ``framing`` (auto, hdlc, wrapper, mbus).

Each push prints as a block (header line, then one line per reading) or, with ``--json``, as one
JSON line; an event notification prints as one line (``event from ...: OBIS/attribute value``)
or one JSON line with ``"kind": "event-notification"``. A push that cannot be used prints a
one-line warning on standard error and listening goes on. ``--count`` and ``--timeout`` stop the
listener; without them it runs until interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from meterlink.dlms.listener import EventNotice, Push, PushFailed, listen

from .decode import add_key_options, hex_option

NAME = "listen"
HELP = "receive DLMS pushes over UDP, TCP, serial HDLC or wired M-Bus and print them"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="udp://, tcp://, tcp-listen://, serial:// or mbus:// URL")
    add_key_options(parser)
    parser.add_argument("--obis", help="comma-separated OBIS codes naming the values of positional pushes")
    parser.add_argument("--count", type=int, help="stop after this many pushes")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON line per push")


def _block(push: Push) -> str:
    stamp = push.date_time.isoformat() if isinstance(push.date_time, datetime) else push.date_time
    head = [f"push from {push.source or '?'}", f"invoke id {push.invoke_id}"]
    if push.system_title is not None:
        head.append(f"system title {push.system_title.hex()}")
    if push.invocation_counter is not None:
        head.append(f"IC {push.invocation_counter}")
    if stamp is not None:
        head.append(f"time {stamp}")
    lines = [", ".join(head)]
    for reading in push.readings:
        obis = reading.obis.dotted + ("" if reading.attribute == 2 else f"/{reading.attribute}")
        value = reading.value.hex() if isinstance(reading.value, bytes) else reading.value
        lines.append(f"  {obis:<22} {value}{' ' + reading.unit if reading.unit else ''}")
    if not push.readings:
        lines.append(f"  body {push.body!r}"[:400])
    return "\n".join(lines)


def _event_line(notice: EventNotice) -> str:
    a = notice.attribute
    stamp = notice.date_time.isoformat() if isinstance(notice.date_time, datetime) else notice.date_time
    value = notice.readings[0].value
    shown = value.hex() if isinstance(value, bytes) else value
    head = [f"event from {notice.source or '?'}", f"class {a.class_id}"]
    if notice.system_title is not None:
        head.append(f"system title {notice.system_title.hex()}")
    if stamp is not None:
        head.append(f"time {stamp}")
    return f"{', '.join(head)}: {a.instance.dotted}/{a.attribute_id} {shown}"


def run(args: argparse.Namespace) -> int:
    codes = None if args.obis is None else [c.strip() or None for c in args.obis.split(",")]

    def warn(failure: PushFailed) -> None:
        where = f" from {failure.source}" if failure.source else ""
        message = str(failure.error).replace("\n", " ")
        kind = type(failure.error).__name__
        print(f"meterlink listen: push{where} dropped: {kind}: {message}", file=sys.stderr)

    for seen, push in enumerate(
        listen(
            args.url,
            key=hex_option(args.key, "--key"),
            auth_key=hex_option(args.auth_key, "--auth-key"),
            system_title=hex_option(args.system_title, "--system-title"),
            verify=not args.no_verify,
            obis_codes=codes,
            count=args.count,
            timeout=args.timeout,
            on_error=warn,
        )
    ):
        if args.json:
            print(json.dumps(push.to_dict(), ensure_ascii=False), flush=True)
        else:
            if seen:
                print()
            text = _event_line(push) if isinstance(push, EventNotice) else _block(push)
            print(text, flush=True)
    return 0
