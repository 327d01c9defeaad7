"""Decode captured bytes: HDLC frames, wired M-Bus, wrapper PDUs, APDUs, A-XDR or IEC 62056-21.

Give the bytes as hex (spaces and colons allowed), or ``-`` to read standard input: one capture
per line, blank lines and ``#`` comments skipped, so a whole capture file is one call. Each input
prints an annotated tree (offset, bytes, meaning) or, with ``--json``, one JSON document per line.
A line that does not decode prints a one-line error naming the offset, and the next line is
decoded; the exit status is 1 when any line failed. Ciphered APDUs are deciphered with ``--key``
(and ``--auth-key``, or ``--no-verify`` to skip the tag check); ``--system-title`` is used where the
input carries none.
"""

from __future__ import annotations

import argparse
import json
import sys

from meterlink.dlms.decode import KINDS, decode
from meterlink.errors import LocalProtocolError, MeterlinkError

NAME = "decode"
HELP = "decode and annotate captured DLMS/HDLC/M-Bus/IEC 62056-21 bytes (hex or -)"

_SEPARATORS = str.maketrans("", "", " \t:-_,")


def add_key_options(parser: argparse.ArgumentParser) -> None:
    """The key options ``decode`` and ``listen`` share."""
    parser.add_argument("--key", help="global unicast encryption key (GUEK), 32 hex digits")
    parser.add_argument("--auth-key", help="authentication key (AK), 32 hex digits")
    parser.add_argument("--system-title", help="sender's system title (16 hex digits) if the data lacks it")
    parser.add_argument(
        "--no-verify", action="store_true", help="decipher without checking the GCM tag (no AK needed)"
    )


def hex_option(value: str | None, name: str) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value.translate(_SEPARATORS))
    except ValueError:
        raise LocalProtocolError(f"{name} is not hex: {value!r}") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="the bytes in hex, or - to read one capture per line from stdin")
    add_key_options(parser)
    parser.add_argument("--as", dest="kind", choices=KINDS, help="skip auto-detection: decode as this layer")
    parser.add_argument("--json", action="store_true", help="print JSON (one document per line)")


def _parse_hex(text: str) -> bytes:
    cleaned = text.translate(_SEPARATORS)
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise LocalProtocolError(f"not hex: {exc}") from None


def run(args: argparse.Namespace) -> int:
    key = hex_option(args.key, "--key")
    auth_key = hex_option(args.auth_key, "--auth-key")
    system_title = hex_option(args.system_title, "--system-title")
    if args.data == "-":
        lines = [(number, line) for number, line in enumerate(sys.stdin, 1)]
    else:
        lines = [(0, args.data)]
    failed = 0
    shown = 0
    for number, line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"line {number}: " if number else ""
        try:
            data = _parse_hex(text)
            tree = decode(
                data,
                key=key,
                auth_key=auth_key,
                system_title=system_title,
                verify=not args.no_verify,
                kind=args.kind,
            )
        except MeterlinkError as exc:
            failed += 1
            message = str(exc).replace("\n", " ")
            print(f"meterlink decode: {where}{type(exc).__name__}: {message}", file=sys.stderr)
            continue
        if args.json:
            document = {"line": number or None, "kind": tree.name, "tree": tree.to_dict()}
            print(json.dumps(document, ensure_ascii=False))
        else:
            if shown:
                print()
            if number:
                print(f"# line {number}")
            print(tree.to_text())
        shown += 1
    return 1 if failed else 0
