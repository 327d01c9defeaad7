"""Parse an IEC 62056-21 readout captured to a file (or piped in) and print its data sets.

The input is the bytes as the meter sent them: echo, noise, identification, STX ... ETX BCC,
parity bits and all. Use ``--lenient`` for captures whose BCC is wrong (edited samples).
"""

from __future__ import annotations

import argparse
import sys

from meterlink.iec62056_21.readout import parse_readout

from ._output import readout_csv, readout_table, to_json

NAME = "parse"
HELP = "parse a captured IEC 62056-21 readout (file or -)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="file with the raw bytes, or - for standard input")
    parser.add_argument("--lenient", action="store_true", help="report a wrong BCC instead of failing")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as handle:
            data = handle.read()
    readout = parse_readout(data, strict=not args.lenient)
    if args.json:
        print(to_json(readout.to_dict()))
    elif args.csv:
        sys.stdout.write(readout_csv(readout))
    else:
        ident = readout.identification
        if ident is not None:
            print(f"identification  /{ident.text}  (mode {ident.mode.value}, {ident.baud_rate} Bd)")
        bcc = {True: "valid", False: "WRONG", None: "absent"}[readout.bcc_valid]
        print(f"data sets       {len(readout.data_sets)}, BCC {bcc}")
        print()
        print(readout_table(readout))
    return 0
