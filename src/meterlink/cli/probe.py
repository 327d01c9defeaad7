"""Sign on to a meter, take its identification and break off: what it is and what it offers.

Prints the identification line, the manufacturer (FLAG id), the protocol mode it announces,
the baud rate it proposes, its reaction time (20 ms when the third letter of the id is lower
case, else 200 ms), the enhanced identification pairs (``\\2``: DLMS/HDLC via mode E) and how
long it took to answer. Nothing is read out: a probe takes well under a second.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from meterlink.iec62056_21.client import Client, MeterInfo

from ._output import to_json
from .read import INTERRUPTED, Recorder, add_session_options, connected, session_options

NAME = "probe"
HELP = "sign on and show the identification, mode, baud rate and capabilities"

MANUFACTURERS: Final = {
    "ACE": "Actaris",
    "DZG": "DZG Metering",
    "EBZ": "eBZ",
    "ELS": "Elster",
    "EMH": "EMH metering",
    "ESY": "EasyMeter",
    "HAG": "Hager",
    "ISK": "Iskra",
    "ITR": "Itron",
    "KAM": "Kamstrup",
    "KFM": "Kaifa",
    "KMP": "Kamstrup",
    "LGZ": "Landis+Gyr",
    "LOG": "Logarex",
    "POZ": "Pozyton",
    "SIE": "Siemens",
}
"""A few well-known FLAG ids; the id itself is always shown."""
ENHANCED: Final = {"2": "DLMS/HDLC via mode E", "@": "manufacturer specific (\\@)"}


def configure(parser: argparse.ArgumentParser) -> None:
    add_session_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")


def probe_document(url: str, info: MeterInfo, answered_after: float | None) -> dict[str, Any]:
    """The JSON view of a probe."""
    ident = info.identification
    return {
        "url": url,
        "identification": ident.text,
        "manufacturer": ident.manufacturer,
        "manufacturer_name": MANUFACTURERS.get(ident.manufacturer.upper()),
        "type": ident.ident,
        "mode": info.mode.value,
        "baud_rate": info.baud_rate,
        "reaction_time_ms": round(info.reaction_time * 1000),
        "enhanced": list(ident.enhanced),
        "mode_e": info.mode_e_capable,
        "answered_after_ms": None if answered_after is None else round(answered_after * 1000),
    }


def probe_text(document: dict[str, Any]) -> str:
    """The human view of :func:`probe_document`."""
    name = document["manufacturer_name"]
    manufacturer = document["manufacturer"] + (f" ({name})" if name else "")
    enhanced = [f"\\{ch}: {ENHANCED.get(ch, 'manufacturer specific')}" for ch in document["enhanced"]]
    fast = document["reaction_time_ms"] < 200
    rows = [
        ("identification", f"/{document['identification']}"),
        ("manufacturer", manufacturer),
        ("type", document["type"] or "-"),
        ("mode", document["mode"]),
        ("proposed baud", f"{document['baud_rate']} Bd"),
        ("reaction time", f"{document['reaction_time_ms']} ms" + (" (fast: lower-case id)" if fast else "")),
        ("mode E", "yes - DLMS/HDLC via mode E" if document["mode_e"] else "no"),
        ("enhanced id", ", ".join(enhanced) or "-"),
    ]
    if document["answered_after_ms"] is not None:
        rows.append(("answered after", f"{document['answered_after_ms']} ms"))
    return "\n".join(f"{label:<16}{value}" for label, value in rows)


def run(args: argparse.Namespace) -> int:
    try:
        with Recorder(NAME, args) as recorder:
            client = Client.from_url(
                args.url,
                address=args.address,
                baud_rate=args.baud,
                trace=recorder.trace,
                **session_options(args),
            )
            with connected(client, args.url):
                recorder.progress.phase("identification")
                info = client.identify()
    except KeyboardInterrupt:
        print("meterlink: interrupted", file=sys.stderr)
        return INTERRUPTED
    document = probe_document(args.url, info, recorder.annotator.answered_after)
    print(to_json(document) if args.json else probe_text(document))
    return 0
