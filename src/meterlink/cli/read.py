"""Read a meter over IEC 62056-21: its data readout, or registers and load profile in programming mode.

URL names the line: a serial device (``/dev/ttyUSB0``), ``serial:///dev/ttyUSB0?baud=300``,
``tcp://HOST:PORT`` (add ``?parity=sw7e1`` for converters that pass 8-bit bytes) or
``rfc2217://HOST:PORT``. Without ``--password``, ``--register`` or ``--profile`` the data
readout is printed. With any of them the session enters programming mode (sending the
password as P1, if given), reads each register with ``--command`` (R1; VDEW meters want R5)
and the load profile P.01 between two times. ``--dump FILE`` writes an annotated hex
transcript of every byte, for diagnosis and support.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self, TextIO, cast

from meterlink.errors import LinkError, LocalProtocolError, MeterlinkError
from meterlink.iec62056_21.client import LISTEN_TIMEOUT, Client, ReadResult, SessionOptions
from meterlink.iec62056_21.messages import Identification
from meterlink.iec62056_21.profile import LoadProfile
from meterlink.iec62056_21.readout import DataSet, Readout
from meterlink.transport import Direction, SerialSpec, parse_url

from ._dump import Annotator, Dump
from ._output import readout_csv, readout_table, to_json
from ._progress import ProfileEstimate, Progress

NAME = "read"
HELP = "read a meter: data readout, registers (programming mode), load profile"

INTERRUPTED: Final = 130
REQUESTS: Final = ("?", "2", "3", "4", "#")
"""``/?!`` and the VDEW list selections; ``#`` asks some heat meters for more data."""
_TIME_FORMATS: Final = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)


# ================================================================================================
# options and the session around a client (shared with ``probe``)
# ================================================================================================
def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("cannot be negative")
    return value


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that talks to a meter takes."""
    parser.add_argument(
        "url", help="/dev/ttyUSB0, serial:///dev/ttyUSB0?baud=300, tcp://HOST:PORT, rfc2217://..."
    )
    parser.add_argument("--address", help="device address sent in the request (default: any meter)")
    parser.add_argument(
        "--baud", type=int, help="rate to open the line and sign on at (default: the URL's, or 300)"
    )
    parser.add_argument(
        "--request", choices=REQUESTS, default="?", help="character after '/' in the request (default: ?)"
    )
    parser.add_argument(
        "--timeout", type=_positive, metavar="SECONDS", help="wait for an answer (default: 1.5)"
    )
    parser.add_argument(
        "--retries", type=_count, help="repeats of a sign-on or command before giving up (default: 3)"
    )
    parser.add_argument("--dump", metavar="FILE", help="write an annotated hex transcript of the session")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def session_options(args: argparse.Namespace) -> SessionOptions:
    """The client options the common command line options ask for."""
    options: SessionOptions = {"request_command": args.request}
    if args.timeout is not None:
        options["response_timeout"] = args.timeout
    if args.retries is not None:
        options["retries"] = args.retries
    return options


def initial_baud_rate(args: argparse.Namespace) -> int:
    """The rate the session starts at: ``--baud``, the serial URL's, or 300."""
    if args.baud is not None:
        return int(args.baud)
    spec = parse_url(args.url)
    return spec.baud_rate if isinstance(spec, SerialSpec) else 300


class Recorder:
    """The client's trace hook: annotates the bytes, writes the dump, drives the progress line."""

    def __init__(self, command: str, args: argparse.Namespace, *, stderr: TextIO | None = None) -> None:
        self.annotator = Annotator(initial_baud_rate(args))
        self.progress = Progress(stderr or sys.stderr, enabled=not args.quiet)
        self._file: TextIO | None = None
        self.dump: Dump | None = None
        if args.dump:
            try:
                self._file = open(args.dump, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
            except OSError as exc:
                raise LocalProtocolError(
                    f"cannot write the dump file {args.dump!r}: {exc.strerror}"
                ) from None
            self.dump = Dump(self._file, title=f"meterlink {command} {args.url}")

    def trace(self, direction: Direction, data: bytes, timestamp: float) -> None:
        seven_bit = self.annotator.data_bits == 7 and not self.annotator.binary
        notes = self.annotator.feed(direction, data, timestamp)
        if self.dump is not None:
            self.dump.chunk(direction, data, timestamp, notes, seven_bit=seven_bit)
        self.progress.update(direction, data, self.annotator.baud_rate)

    def note(self, text: str) -> None:
        if self.dump is not None:
            self.dump.note(text)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.finish()
        if self.dump is None or self._file is None:
            return
        for note in self.annotator.flush():
            self.dump.note(note)
        if isinstance(exc, KeyboardInterrupt):
            self.dump.note("interrupted")
        elif exc is not None:
            self.dump.note(f"failed: {type(exc).__name__}: {exc}")
        else:
            self.dump.note("done")
        self._file.close()


@contextlib.contextmanager
def connected(client: Client, url: str) -> Iterator[Client]:
    """Open the client's link, with any failure to open as a :class:`LinkError`; close it after."""
    try:
        client.open()
    except MeterlinkError:
        raise
    except Exception as exc:  # pyserial lets termios.error and the like escape
        raise LinkError(f"cannot open {url}: {exc}") from exc
    failed = True
    try:
        yield client
        failed = False
    finally:
        try:
            client.close()
        except MeterlinkError:
            if not failed:
                raise


# ================================================================================================
# read
# ================================================================================================
def _time(text: str) -> dt.datetime | None:
    if text in ("", "-"):
        return None
    if text == "now":
        return dt.datetime.now().replace(second=0, microsecond=0)
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r}: use YYYY-MM-DD[THH:MM], 'now' or '-' for an open end")


def configure(parser: argparse.ArgumentParser) -> None:
    add_session_options(parser)
    parser.add_argument(
        "--mode", type=str.upper, choices=["A", "B", "C", "D", "E"], help="force a protocol mode"
    )
    parser.add_argument(
        "--max-baud",
        type=int,
        metavar="BAUD",
        help="never ask for more than this rate (300 keeps the line at 300)",
    )
    parser.add_argument("--password", help="enter programming mode with this P1 password")
    parser.add_argument(
        "--register",
        action="append",
        default=[],
        metavar="ADDR",
        help="read a register in programming mode (repeatable); ADDR or ADDR(VALUE)",
    )
    parser.add_argument(
        "--command",
        type=str.upper,
        choices=["R1", "R2", "R3", "R4", "R5", "R6"],
        help="read command for --register (default R1) and --profile (default R5)",
    )
    parser.add_argument(
        "--profile",
        nargs=2,
        type=_time,
        metavar=("START", "END"),
        help="read the load profile P.01 in programming mode; YYYY-MM-DD[THH:MM], 'now' or '-'",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")


@dataclass
class Report:
    """What a read produced."""

    url: str
    identification: Identification | None = None
    mode: str | None = None
    baud_rate: int | None = None
    readout: Readout | None = None
    programming: bool = False
    password: bool = False
    operand: str | None = None
    registers: list[ReadResult] = field(default_factory=list)
    profile: LoadProfile | None = None


def _register(text: str) -> tuple[str, str]:
    """``1.8.0`` or ``3:V.0(3;;)`` into address and value."""
    if text.endswith(")") and "(" in text:
        address, _, value = text[:-1].partition("(")
        return address, value
    return text, ""


def run(args: argparse.Namespace) -> int:
    programming = bool(args.password is not None or args.register or args.profile)
    if args.mode == "E":
        raise LocalProtocolError(
            "mode E hands the line to DLMS/HDLC, which meterlink cannot read yet; "
            "'meterlink probe' shows whether the meter offers it"
        )
    if args.mode == "D" and programming:
        raise LocalProtocolError(
            "a mode D meter only pushes: --password, --register and --profile need A, B or C"
        )
    report = Report(args.url, programming=programming, password=args.password is not None)
    try:
        with Recorder(NAME, args) as recorder:
            _read(args, recorder, report)
            report.identification = report.identification or recorder.annotator.identification
            report.baud_rate = recorder.annotator.data_baud_rate or recorder.annotator.baud_rate
    except KeyboardInterrupt:
        print("meterlink: interrupted", file=sys.stderr)
        return INTERRUPTED
    ident = report.identification
    report.mode = args.mode or (ident.mode.value if ident is not None else None)
    if args.json:
        print(to_json(report_document(report)))
    elif args.csv:
        sys.stdout.write(report_csv(report))
    else:
        print(report_text(report))
    return 0


def _read(args: argparse.Namespace, recorder: Recorder, report: Report) -> None:
    options = session_options(args)
    if args.max_baud is not None:
        options["max_baud_rate"] = args.max_baud
    client = Client.from_url(
        args.url, address=args.address, mode=args.mode, baud_rate=args.baud, trace=recorder.trace, **options
    )
    progress = recorder.progress
    with connected(client, args.url):
        if args.mode == "D":
            progress.phase("waiting for a telegram")
            telegrams = cast(
                Generator[Readout, None, None], client.listen(timeout=args.timeout or LISTEN_TIMEOUT)
            )
            try:
                report.readout = next(telegrams)
            finally:
                telegrams.close()
        elif not report.programming:
            progress.phase("readout")
            report.readout = client.read_out()
        else:
            _program(args, client, progress, report)
    if report.readout is not None:
        report.identification = report.readout.identification


def _program(args: argparse.Namespace, client: Client, progress: Progress, report: Report) -> None:
    progress.phase("programming mode")
    with client.programming(args.password) as session:
        report.operand = session.operand
        report.readout = session.readout  # modes A and B read out first
        for text in args.register:
            address, value = _register(text)
            progress.phase(f"register {address}")
            report.registers.append(session.read(address, value, command=args.command or "R1"))
        if args.profile:
            start, end = args.profile
            progress.phase("load profile P.01", estimate=ProfileEstimate(end))
            report.profile = session.load_profile(start, end, command=args.command or "R5")
    report.identification = client.identification


# ================================================================================================
# output
# ================================================================================================
def _register_readout(results: list[ReadResult]) -> Readout:
    data_sets: list[DataSet] = []
    for result in results:
        found = result.data_sets
        data_sets.extend(
            found or [DataSet(result.command.data.partition("(")[0] if result.command.data else "")]
        )
    return Readout(None, tuple(data_sets))


def _profile_values(row_values: tuple[Any, ...]) -> list[str]:
    return ["" if value is None else str(value) for value in row_values]


def _stamp(row_time: dt.datetime) -> str:
    return row_time.isoformat(sep=" ", timespec="minutes")


def profile_table(profile: LoadProfile) -> str:
    """Rows of a load profile under a header of channel codes and units."""
    header = [
        "timestamp",
        "status",
        *(f"{c.code} [{c.unit}]" if c.unit else c.code for c in profile.channels),
    ]
    rows = [
        [_stamp(row.timestamp.datetime), f"{row.status:08X}", *_profile_values(row.values)] for row in profile
    ]
    widths = [max([len(header[i]), *(len(r[i]) for r in rows if i < len(r))]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows)
    return "\n".join(lines)


def _profile_dict(profile: LoadProfile) -> dict[str, Any]:
    return {
        "profile": profile.profile,
        "capture_period": profile.capture_period,
        "channels": [{"code": c.code, "unit": c.unit} for c in profile.channels],
        "rows": [
            {
                "timestamp": row.timestamp.datetime.isoformat(),
                "season": None if row.timestamp.season is None else int(row.timestamp.season),
                "status": row.status,
                "values": [None if v is None else str(v) for v in row.values],
            }
            for row in profile
        ],
    }


def report_document(report: Report) -> dict[str, Any]:
    """The JSON view of a read."""
    ident = report.identification
    document: dict[str, Any] = {
        "url": report.url,
        "identification": None if ident is None else ident.text,
        "mode": report.mode,
        "baud_rate": report.baud_rate,
        "readout": None if report.readout is None else report.readout.to_dict(),
    }
    if report.programming:
        document["programming"] = {"password_sent": report.password, "operand": report.operand}
        document["registers"] = [
            {
                "command": result.command.name,
                "request": result.command.data,
                "text": result.text,
                "data_sets": [data_set.to_dict() for data_set in result.data_sets],
            }
            for result in report.registers
        ]
        document["profile"] = None if report.profile is None else _profile_dict(report.profile)
    return document


def report_csv(report: Report) -> str:
    """CSV sections: the readout, the registers, the profile (blank lines between)."""
    parts: list[str] = []
    if report.readout is not None:
        parts.append(readout_csv(report.readout))
    if report.registers:
        parts.append(readout_csv(_register_readout(report.registers)))
    if report.profile is not None:
        profile = report.profile
        lines = [",".join(["timestamp", "status", *(c.code for c in profile.channels)])]
        lines.extend(
            ",".join([row.timestamp.datetime.isoformat(), str(row.status), *_profile_values(row.values)])
            for row in profile
        )
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def report_text(report: Report) -> str:
    """The default, human view."""
    lines: list[str] = []
    ident = report.identification
    if ident is not None:
        rate = f", {report.baud_rate} Bd" if report.baud_rate else ""
        lines.append(f"identification  /{ident.text}  (mode {report.mode}{rate})")
    if report.programming:
        password = "password accepted" if report.password else "no password"
        lines.append(f"programming     {password}, P0 operand {report.operand!r}")
    if report.readout is not None:
        bcc = {True: "valid", False: "WRONG", None: "absent"}[report.readout.bcc_valid]
        lines += [
            f"data sets       {len(report.readout.data_sets)}, BCC {bcc}",
            "",
            readout_table(report.readout),
        ]
    if report.registers:
        commands = ", ".join(sorted({result.command.name for result in report.registers}))
        lines += ["", f"registers ({commands})", readout_table(_register_readout(report.registers))]
    if report.profile is not None:
        profile = report.profile
        lines += [
            "",
            f"load profile {profile.profile}: {len(profile.channels)} channels, "
            f"{profile.capture_period // 60} min, {len(profile)} rows",
            profile_table(profile),
        ]
    return "\n".join(lines)
