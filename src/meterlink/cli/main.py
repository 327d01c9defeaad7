"""Entry point of the ``meterlink`` command: one sub-command per module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meterlink import __version__
from meterlink.errors import MeterlinkError

from . import decode, demo, dlms, emulate, listen, parse, probe, read


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterlink",
        description="Read and serve utility meters over IEC 62056-21 and DLMS/COSEM.",
    )
    parser.add_argument("--version", action="version", version=f"meterlink {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (demo, parse, emulate, read, probe, dlms, decode, listen):
        sub = commands.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the docstrings' examples
        )
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
    except MeterlinkError as exc:
        print(f"meterlink: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head & co.
        return 0
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
