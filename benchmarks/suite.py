"""The workloads: each one checks that every implementation agrees, then times them side by side."""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gc
import io
import json
import platform
import statistics
import sys
import timeit
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import inputs
from meterlink.iec62056_21 import parse_readout
from meterlink.iec62056_21.profile import parse_load_profile

Content = list[tuple[str, str | None, str | None]]
"""Every bracket group in order: (address on a data set's first group else "", value, unit)."""


@dataclass
class Result:
    workload: str
    implementation: str
    per_second: float | None
    """Timed calls per second (one call handles ``items`` units)."""
    note: str = ""
    items: int = 1
    unit: str = "parses"


def _best_rate(func: Callable[[], object], quick: bool) -> float:
    timer = timeit.Timer(func)
    number, taken = timer.autorange()
    slow = taken > 2.0  # a peer needing seconds per call: best of 3 tells as much as best of 7
    runs = timer.repeat(repeat=3 if quick or slow else 7, number=number)
    return number / min(runs)


# -- workload 1: readout parsing -----------------------------------------------------------------
def _ours_readout(frame: bytes) -> Content:
    readout = parse_readout(frame)
    out: Content = []
    for data_set in readout.data_sets:
        for i, value in enumerate(data_set.values):
            out.append((data_set.address if i == 0 else "", value.value, value.unit))
    return out


def _pwitab_readout(text: str) -> Content:
    from iec62056_21.messages import ReadoutDataMessage

    message = ReadoutDataMessage.from_representation(text)
    out: Content = []
    for line in message.data_block.data_lines:
        for data_set in line.data_sets:
            out.append((data_set.address or "", data_set.value, data_set.unit))
    return out


def _jonkerj_readout(telegram: str) -> object:
    from iec62056 import parser

    return parser.Parser().parse(telegram)


def readout_parsing(quick: bool) -> list[Result]:
    frame = inputs.readout_frame(200)
    text = frame.decode("latin-1")
    ident = b"/EMH5\\@D4LZQJ-XC\r\n"
    ours = _ours_readout(frame)
    theirs = _pwitab_readout(text)
    if ours != theirs:
        raise SystemExit("readout parsing: meterlink and iec62056-21 disagree on the content")
    name = "IEC 62056-21 readout, 200 lines"
    results = [
        Result(name, "meterlink", _best_rate(lambda: parse_readout(frame), quick)),
        Result(name, "iec62056-21", _best_rate(lambda: _pwitab_readout(text), quick)),
    ]
    telegram = (ident + frame[1:-2]).decode("latin-1")  # the grammar wants ident + block + '!'
    try:
        _jonkerj_readout(telegram)
    except Exception as exc:  # the peer's own exception types
        results.append(Result(name, "iec62056", None, f"cannot parse this readout ({type(exc).__name__})"))
    else:
        results.append(Result(name, "iec62056", _best_rate(lambda: _jonkerj_readout(telegram), quick)))
    return results


def load_profile(quick: bool) -> list[Result]:
    from iec62056_21.messages import DataBlock

    block = inputs.load_profile_block(35_000)
    text = block.decode("ascii")
    profile = parse_load_profile(block)
    if len(profile.rows) != 35_000:
        raise SystemExit(f"load profile: meterlink found {len(profile.rows)} rows, not 35000")
    peer = DataBlock.from_representation(text)
    peer_rows = len(peer.data_lines) - 1
    if peer_rows != 35_000:
        raise SystemExit(f"load profile: iec62056-21 found {peer_rows} rows, not 35000")
    name = "P.01 load profile, 35,000 rows x 4"
    results = []
    for impl, func in (
        ("meterlink", lambda: parse_load_profile(block)),
        ("iec62056-21", lambda: DataBlock.from_representation(text)),
    ):
        gc.collect()
        tracemalloc.start()
        func()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rate = _best_rate(func, True)
        results.append(Result(name, impl, rate, f"peak {peak / 2**20:.1f} MiB (tracemalloc)"))
    return results


# -- shared helpers for workloads 2-4 ------------------------------------------------------------
def _peak_mib(func: Callable[[], object]) -> float:
    """tracemalloc peak of one call, in MiB (tracemalloc slows the call; it is not timed)."""
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _timed(
    workload: str,
    impl: str,
    func: Callable[[], object],
    quick: bool,
    *,
    items: int,
    unit: str,
    note: str = "",
) -> Result:
    peak = _peak_mib(func)
    memo = f"peak {peak:.2f} MiB (tracemalloc)"
    return Result(workload, impl, _best_rate(func, quick), f"{memo}; {note}" if note else memo, items, unit)


def _agree(workload: str, ours: object, impl: str, theirs: object) -> None:
    if ours != theirs:
        raise SystemExit(f"{workload}: meterlink and {impl} disagree on the content")


def _raises(func: Callable[[], object]) -> bool:
    try:
        func()
    except Exception:  # each peer's own exception types
        return True
    return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Gurux prints "Encryption is applied." on every decryption: keep it off the table."""
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        yield
        sink.truncate(0)


def _iso(value: object) -> object:
    """Date-times compared by their text (offset included): equal instants in other zones differ."""
    return value.isoformat() if isinstance(value, _dt.datetime) else value


# -- workload 2: A-XDR profile buffer -> typed rows ----------------------------------------------
def _ours_profile_setup() -> Callable[[bytes], list[tuple[Any, ...]]]:
    from meterlink.dlms.cosem import CaptureObject, parse_buffer
    from meterlink.obis import Obis

    columns = [CaptureObject(c, Obis.parse(ln), a) for c, ln, a in inputs.PROFILE_COLUMNS]

    def parse(buffer: bytes) -> list[tuple[Any, ...]]:
        return parse_buffer(buffer, columns, capture_period=inputs.PROFILE_PERIOD).rows

    return parse


def _dlms_cosem_profile_setup() -> Callable[[bytes], list[Any]]:
    from dlms_cosem.cosem import CosemAttribute
    from dlms_cosem.cosem import Obis as PeerObis
    from dlms_cosem.enumerations import CosemInterface
    from dlms_cosem.parsers import ProfileGenericBufferParser

    columns = [
        CosemAttribute(CosemInterface(c), PeerObis.from_string(ln), a) for c, ln, a in inputs.PROFILE_COLUMNS
    ]
    # its capture_period is in minutes (reference notes: a peer bug; no null clock here, so moot)
    parser = ProfileGenericBufferParser(columns, inputs.PROFILE_PERIOD // 60)
    return parser.parse_bytes  # type: ignore[no-any-return]


def _gurux_profile_setup() -> Callable[[bytes], list[Any]]:
    from gurux_dlms import GXByteBuffer, GXDLMSClient
    from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister

    client = GXDLMSClient(True)
    profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
    profile.capturePeriod = inputs.PROFILE_PERIOD
    kinds = {8: GXDLMSClock, 1: GXDLMSData, 3: GXDLMSRegister}
    for c, ln, a in inputs.PROFILE_COLUMNS:
        profile.addCaptureObject(kinds[c](ln), a, 0)

    def parse(buffer: bytes) -> list[Any]:
        # what its reader does with a GET answer: decode the Data, then let the object type the rows
        profile.buffer = []
        value = GXDLMSClient.getValue(GXByteBuffer(buffer), False)
        client.updateValue(profile, 2, value)
        return profile.buffer  # type: ignore[no-any-return]

    return parse


def profile_buffer(quick: bool) -> list[Result]:
    rows = 1000
    buffer = inputs.profile_buffer(rows)
    name = f"A-XDR profile buffer, {rows:,} rows x 6"
    ours = _ours_profile_setup()
    expected = [tuple(_iso(v) for v in row) for row in ours(buffer)]
    if len(expected) != rows or expected[0][0] != "2025-01-01T00:00:00+01:00":
        raise SystemExit(f"{name}: meterlink rows look wrong: {expected[:1]}")
    results = [_timed(name, "meterlink", lambda: ours(buffer), quick, items=rows, unit="rows")]

    peer = _dlms_cosem_profile_setup()
    _agree(name, expected, "dlms-cosem", [tuple(_iso(c.value) for c in row) for row in peer(buffer)])
    results.append(_timed(name, "dlms-cosem", lambda: peer(buffer), quick, items=rows, unit="rows"))

    gurux = _gurux_profile_setup()
    got = [tuple(_iso(v.value) if hasattr(v, "value") else int(v) for v in row) for row in gurux(buffer)]
    _agree(name, expected, "gurux-dlms", got)
    results.append(_timed(name, "gurux-dlms", lambda: gurux(buffer), quick, items=rows, unit="rows"))
    return results


# -- workload 3: HDLC I-frames -------------------------------------------------------------------
def _control(send_seq: int, receive_seq: int) -> int:
    return (receive_seq << 5) | 0x10 | (send_seq << 1)


def hdlc_frames(quick: bool) -> list[Result]:
    from meterlink.hdlc import NEED_DATA, Frame, FrameKind, Framer, HdlcAddress, parse_frame

    count = 10_000
    infos = inputs.hdlc_information(count)
    client = HdlcAddress(inputs.HDLC_CLIENT_SAP)
    server = HdlcAddress(*inputs.HDLC_SERVER)
    if len(server.encoded) != 4:
        raise SystemExit("HDLC: the benchmark means a four-byte server address")

    def ours_encode() -> list[bytes]:
        return [
            Frame(FrameKind.I, client, server, True, info, False, ns, nr).to_bytes() for ns, nr, info in infos
        ]

    frames = ours_encode()
    stream = b"".join(frames)

    def ours_parse() -> list[Frame]:
        return [parse_frame(raw) for raw in frames]

    def ours_framer() -> list[Frame]:
        framer = Framer()
        out: list[Frame] = []
        for at in range(0, len(stream), 4096):  # serial reads arrive in chunks
            framer.feed(stream[at : at + 4096])
            while (item := framer.next_frame()) is not NEED_DATA:
                assert isinstance(item, Frame)
                out.append(item)
        return out

    parsed = ours_parse()
    expected = [(f.send_seq, f.receive_seq, f.info) for f in parsed]
    if expected != infos or parsed[0].source != server or parsed[0].destination != client:
        raise SystemExit("HDLC: meterlink does not read back what it wrote")
    if [(f.send_seq, f.receive_seq, f.info) for f in ours_framer()] != expected:
        raise SystemExit("HDLC: the meterlink Framer disagrees with parse_frame")
    bad = bytearray(frames[0])
    bad[-3] ^= 1
    bad_frame = bytes(bad)

    # dlms-cosem: one attrs frame per call; parses destination as client, source as server
    from dlms_cosem.hdlc.address import HdlcAddress as PeerAddress
    from dlms_cosem.hdlc.frames import InformationFrame

    peer_client = PeerAddress(inputs.HDLC_CLIENT_SAP, None, "client")
    # without extended_addressing it drops zero bytes and writes a 3-byte server address
    peer_server = PeerAddress(*inputs.HDLC_SERVER, "server", extended_addressing=True)

    def dlms_cosem_parse() -> list[Any]:
        return [InformationFrame.from_bytes(raw) for raw in frames]

    def dlms_cosem_encode() -> list[bytes]:
        return [
            InformationFrame(
                peer_client,
                peer_server,
                info,
                False,
                True,
                send_sequence_number=ns,
                receive_sequence_number=nr,
            ).to_bytes()
            for ns, nr, info in infos
        ]

    # gurux: the per-frame half of GXDLMSClient.getData (frame check + information copy)
    from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSSettings, GXReplyData
    from gurux_dlms.GXDLMS import GXDLMS

    receiver = GXDLMSSettings(False, None)
    receiver.clientAddress = inputs.HDLC_CLIENT_SAP
    receiver.serverAddress = GXDLMSClient.getServerAddress(*inputs.HDLC_SERVER, 4)
    receiver.serverAddressSize = 4
    sender = GXDLMSSettings(True, None)
    sender.clientAddress = inputs.HDLC_CLIENT_SAP
    sender.serverAddress = receiver.serverAddress
    sender.serverAddressSize = 4
    sender.hdlc.maxInfoTX = inputs.HDLC_INFO_LENGTH + 3  # it keeps 3 bytes for an LLC header it may add
    controls = [(_control(ns, nr), info) for ns, nr, info in infos]
    get_hdlc_data = GXDLMS.getHdlcData
    data_from_frame = GXDLMS.getDataFromFrame

    def gurux_parse() -> list[Any]:
        receiver.resetFrameSequence()  # it checks N(S)/N(R) as it goes; the stream starts a session
        out = []
        for raw in frames:
            buffer = GXByteBuffer(raw)
            reply = GXReplyData()
            get_hdlc_data(False, receiver, buffer, reply, None)
            data_from_frame(buffer, reply, True)
            out.append(reply)
        return out

    def gurux_encode() -> list[bytes]:
        return [bytes(GXDLMS.getHdlcFrame(sender, ctrl, GXByteBuffer(info))) for ctrl, info in controls]

    parse_name = f"HDLC parse, {count:,} I-frames (128-byte info), HCS+FCS checked"
    encode_name = f"HDLC encode, {count:,} I-frames (128-byte info)"
    peer_parsed = dlms_cosem_parse()
    _agree(
        parse_name,
        expected,
        "dlms-cosem",
        [(f.send_sequence_number, f.receive_sequence_number, f.payload) for f in peer_parsed],
    )
    # gurux strips the LLC header E6 E7 00 while parsing
    llc_stripped = [info[3:] for _, _, info in infos]
    _agree(parse_name, llc_stripped, "gurux-dlms", [bytes(r.data.array()) for r in gurux_parse()])
    for impl, check in (
        ("meterlink", lambda: parse_frame(bad_frame)),
        ("dlms-cosem", lambda: InformationFrame.from_bytes(bad_frame)),
    ):
        if not _raises(check):
            raise SystemExit(f"{parse_name}: {impl} accepts a frame with a bad FCS")
    receiver.resetFrameSequence()
    reply = GXReplyData()
    if not _raises(lambda: get_hdlc_data(False, receiver, GXByteBuffer(bad_frame), reply, None)):
        raise SystemExit(f"{parse_name}: gurux-dlms accepts a frame with a bad FCS")
    _agree(encode_name, frames, "dlms-cosem", dlms_cosem_encode())
    _agree(encode_name, frames, "gurux-dlms", gurux_encode())

    timed: list[tuple[str, str, Callable[[], object], str]] = [
        (parse_name, "meterlink", ours_parse, ""),
        (parse_name, "meterlink Framer", ours_framer, "the whole stream, fed in 4 KiB chunks"),
        (parse_name, "dlms-cosem", dlms_cosem_parse, ""),
        (parse_name, "gurux-dlms", gurux_parse, "getHdlcData + getDataFromFrame per frame"),
        (encode_name, "meterlink", ours_encode, "Frame(...).to_bytes()"),
        (encode_name, "dlms-cosem", dlms_cosem_encode, "InformationFrame(...).to_bytes()"),
        (encode_name, "gurux-dlms", gurux_encode, "GXDLMS.getHdlcFrame"),
    ]
    return [_timed(w, impl, f, quick, items=count, unit="frames", note=note) for w, impl, f, note in timed]


# -- workload 4: ciphered push -> values ---------------------------------------------------------
def _plain(value: object) -> object:
    """Peer values to plain Python: lists for arrays and structures, bytes, int, str, ISO date-times."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, bool | str | float) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    inner = getattr(value, "value", None)  # gurux GXDateTime
    if isinstance(inner, _dt.datetime):
        return inner.isoformat()
    raise SystemExit(f"security: no plain form for {type(value).__name__}")


def _ours_push(apdu: bytes) -> tuple[object, object]:
    from meterlink.dlms import axdr
    from meterlink.dlms.apdu import DataNotification, decode_apdu
    from meterlink.dlms.cosem_time import datetime_from_bytes
    from meterlink.dlms.security import unprotect

    _, plain = unprotect(apdu, key=inputs.PUSH_KEY, auth_key=inputs.PUSH_AUTH_KEY)
    note = decode_apdu(plain)
    assert isinstance(note, DataNotification)
    stamp = datetime_from_bytes(note.date_time) if note.date_time is not None else None
    return stamp, axdr.decode(note.body)


def _dlms_cosem_push(apdu: bytes) -> tuple[object, object]:
    from dlms_cosem.protocol.xdlms.data_notification import DataNotification
    from dlms_cosem.protocol.xdlms.general_global_cipher import GeneralGlobalCipher
    from dlms_cosem.utils import parse_as_dlms_data

    envelope = GeneralGlobalCipher.from_bytes(apdu)
    note = DataNotification.from_bytes(envelope.to_plain_apdu(inputs.PUSH_KEY, inputs.PUSH_AUTH_KEY))
    return note.date_time, parse_as_dlms_data(note.body)


def _gurux_push_setup() -> Callable[[bytes], tuple[object, object]]:
    from gurux_dlms import GXByteBuffer, GXReplyData
    from gurux_dlms.enums import InterfaceType, Security
    from gurux_dlms.secure import GXDLMSSecureClient

    client = GXDLMSSecureClient(True)
    client.interfaceType = InterfaceType.PDU
    client.settings.cipher.security = Security.AUTHENTICATION_ENCRYPTION
    client.settings.cipher.blockCipherKey = bytearray(inputs.PUSH_KEY)
    client.settings.cipher.authenticationKey = bytearray(inputs.PUSH_AUTH_KEY)

    def receive(apdu: bytes) -> tuple[object, object]:
        reply, notify = GXReplyData(), GXReplyData()
        with _quiet():
            client.getData(GXByteBuffer(apdu), reply, notify)
        if notify.value is None:
            raise ValueError("gurux-dlms: no notification decoded")
        return notify.time, notify.value

    return receive


def ciphered_push(quick: bool) -> list[Result]:
    apdu = inputs.ciphered_push()
    name = f"general-glo-ciphering push (auth+enc), {len(inputs.push_body())}-byte body, decrypt + decode"
    stamp, values = _ours_push(apdu)
    expected = (_plain(stamp), _plain(values))
    if expected[0] != "2025-03-14T10:15:00+01:00" or not isinstance(values, tuple) or len(values) != 27:
        raise SystemExit(f"{name}: meterlink decoded {expected!r:.200}")
    tampered = apdu[:-1] + bytes((apdu[-1] ^ 1,))
    gurux = _gurux_push_setup()
    impls: list[tuple[str, Callable[[bytes], tuple[object, object]]]] = [
        ("meterlink", _ours_push),
        ("dlms-cosem", _dlms_cosem_push),
        ("gurux-dlms", gurux),
    ]
    results = []
    for impl, func in impls:
        got = func(apdu)
        _agree(name, expected, impl, (_plain(got[0]), _plain(got[1])))
        notes = []
        if not _raises(lambda f=func: f(tampered)):  # type: ignore[misc]
            if impl == "meterlink":
                raise SystemExit(f"{name}: meterlink accepts a push whose GCM tag does not verify")
            notes.append("**accepts a tampered push: the GCM tag is not verified**")
        if impl == "gurux-dlms":
            notes.append("prints two lines to stdout per push (sent to a StringIO here)")
        note = "; ".join(notes)
        results.append(_timed(name, impl, lambda f=func: f(apdu), quick, items=1, unit="pushes", note=note))  # type: ignore[misc]
    return results


# -- the table ------------------------------------------------------------------------------------
WORKLOADS: dict[str, Callable[[bool], list[Result]]] = {
    "readout": readout_parsing,
    "profile": load_profile,
    "axdr": profile_buffer,
    "hdlc": hdlc_frames,
    "security": ciphered_push,
}
TARGETS: dict[str, tuple[int, float]] = {
    "IEC 62056-21 readout": (1, 5.0),
    "P.01 load profile": (1, 5.0),
    "A-XDR profile buffer": (2, 5.0),
    "HDLC parse": (3, 5.0),
    "HDLC encode": (3, 5.0),
    "general-glo-ciphering push": (4, 2.0),
}
"""Workload name prefix -> (issue 7 workload number, target ratio meterlink / fastest peer)."""
PEERS = ["meterlink", "iec62056-21", "iec62056", "dlms-cosem", "gurux-dlms", "cryptography"]


def _target(workload: str) -> tuple[int, float] | None:
    return next((t for prefix, t in TARGETS.items() if workload.startswith(prefix)), None)


def _versions() -> str:
    found = []
    for name in PEERS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (absent)")
    return ", ".join(found)


@dataclass
class Row:
    """One implementation of one workload over all runs."""

    workload: str
    implementation: str
    rates: list[float]
    note: str
    items: int
    unit: str

    @property
    def median(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None


def _rows(runs: list[list[Result]]) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for results in runs:
        for r in results:
            key = (r.workload, r.implementation)
            row = rows.setdefault(key, Row(r.workload, r.implementation, [], r.note, r.items, r.unit))
            if r.per_second:
                row.rates.append(r.per_second)
    return list(rows.values())


def _span(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    mid = format(statistics.median(values), fmt)
    if len(values) == 1:
        return mid
    return f"{mid} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def _ratios(rows: list[Row], workload: str, against: Row | None) -> list[float]:
    """Per run: meterlink / ``against`` (or / the fastest peer of that run when None)."""
    ours = next((r for r in rows if r.workload == workload and r.implementation == "meterlink"), None)
    if ours is None:
        return []
    peers = [r for r in rows if r.workload == workload and not r.implementation.startswith("meterlink")]
    out = []
    for i, mine in enumerate(ours.rates):
        if against is not None:
            theirs = against.rates[i] if i < len(against.rates) else None
        else:
            theirs = max((p.rates[i] for p in peers if i < len(p.rates)), default=None)
        if theirs:
            out.append(mine / theirs)
    return out


def summary(rows: list[Row]) -> list[dict[str, Any]]:
    """Per workload: the fastest peer, meterlink / it per run, the issue's target and whether it is met."""
    out = []
    for workload in dict.fromkeys(r.workload for r in rows):
        peers = [r for r in rows if r.workload == workload and not r.implementation.startswith("meterlink")]
        timed = [p for p in peers if p.median]
        if not timed:
            continue
        fastest = max(timed, key=lambda p: p.median or 0.0)
        ratios = _ratios(rows, workload, None)
        target = _target(workload)
        out.append(
            {
                "workload": workload,
                "number": target[0] if target else None,
                "fastest_peer": fastest.implementation,
                "ratios": ratios,
                "target": target[1] if target else None,
                "met": bool(target and ratios and statistics.median(ratios) >= target[1]),
                "every_run": bool(target and ratios and min(ratios) >= target[1]),
            }
        )
    return out


def report(runs: list[list[Result]]) -> str:
    rows = _rows(runs)
    n = len(runs)
    spread = f", median (min-max) of {n} runs" if n > 1 else ""
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {_versions()}",
        "",
        f"| workload | implementation | throughput per second{spread} | meterlink / this | note |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        rate = _span([x * row.items for x in row.rates], ",.0f" if row.items > 1 else ",.1f")
        ratio = ""
        if not row.implementation.startswith("meterlink") and row.rates:
            ratio = _span(_ratios(rows, row.workload, row), ".1f") + "x"
        lines.append(f"| {row.workload} | {row.implementation} | {rate} {row.unit} | {ratio} | {row.note} |")
    lines += [
        "",
        "| # | workload | fastest peer | meterlink / fastest peer | target | met |",
        "|---|---|---|---:|---:|---|",
    ]
    for s in summary(rows):
        target = f">= {s['target']:g}x" if s["target"] else "-"
        met = ""
        if s["target"]:
            met = ("yes" if s["every_run"] else "yes (median; not every run)") if s["met"] else "**no**"
        lines.append(
            f"| {s['number'] or ''} | {s['workload']} | {s['fastest_peer']} | {_span(s['ratios'], '.1f')}x "
            f"| {target} | {met} |"
        )
    return "\n".join(lines)


def chart(runs: list[list[Result]], path: Path) -> None:
    """Bar chart of meterlink / fastest peer per workload (median, min-max whiskers), target marks."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no chart written to {path}", file=sys.stderr)
        return
    items = [s for s in summary(_rows(runs)) if s["ratios"]]
    names = [next((p for p in TARGETS if s["workload"].startswith(p)), s["workload"]) for s in items]
    labels = [f"{s['number'] or ''}. {n}\nvs {s['fastest_peer']}" for n, s in zip(names, items, strict=True)]
    mids = [statistics.median(s["ratios"]) for s in items]
    low = [m - min(s["ratios"]) for m, s in zip(mids, items, strict=True)]
    high = [max(s["ratios"]) - m for m, s in zip(mids, items, strict=True)]
    colours = ["#2a7ab9" if s["met"] else "#d0542a" for s in items]
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    xs = range(len(items))
    ax.bar(xs, mids, yerr=[low, high], color=colours, capsize=4)
    for x, s, m in zip(xs, items, mids, strict=True):
        if s["target"]:
            ax.hlines(s["target"], x - 0.45, x + 0.45, colors="black", linestyles="dashed", linewidth=1.2)
        ax.annotate(
            f"{m:.1f}x", (x, 1.0), textcoords="offset points", xytext=(0, 6), ha="center", color="white"
        )
    ax.set_yscale("log")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("meterlink / fastest peer (throughput, log scale)")
    ax.set_title(
        f"meterlink vs the fastest peer per workload (median of {len(runs)} run(s); dashed: issue 7 target)"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"chart written to {path}", file=sys.stderr)


def wire_report(quick: bool) -> str:
    """Workload 5: sessions against the paced emulator, measured against the line floor."""
    from benchmarks.wire import wire_floor

    lines = [
        "",
        "Workload 5, the wire floor (emulator paced at the line rate, tr = 200 ms; target <= 1.05x):",
        "",
        "| session | measured | line floor | measured / floor | met | note |",
        "|---|---:|---:|---:|---|---|",
    ]
    for session, elapsed, floor, note in wire_floor(quick):
        ratio = elapsed / floor
        met = "yes" if ratio <= 1.05 else "**no**"
        lines.append(f"| {session} | {elapsed:.3f} s | {floor:.3f} s | {ratio:.3f}x | {met} | {note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything N times and show ranges")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--chart", type=Path, help="write the ratio bar chart (PNG) here")
    parser.add_argument("--load", type=Path, help="report (and chart) the results of an earlier --json run")
    parser.add_argument("workloads", nargs="*", choices=[*WORKLOADS, "wire", []], help="default: all")
    args = parser.parse_args(argv)
    wire = not args.workloads or "wire" in args.workloads
    chosen = [w for w in args.workloads if w != "wire"] or ([] if args.workloads else list(WORKLOADS))
    runs: list[list[Result]] = []
    if args.load:
        runs = [[Result(**r) for r in results] for results in json.loads(args.load.read_text())]
    for run in range(0 if args.load else max(1, args.runs)):
        results: list[Result] = []
        for name in chosen:
            print(f"run {run + 1}: {name}", file=sys.stderr)
            results.extend(WORKLOADS[name](args.quick))
        runs.append(results)
    if chosen or args.load:
        print(report(runs))
    if wire and not args.load:
        print(wire_report(args.quick))
    if args.json:
        args.json.write_text(json.dumps([[asdict(r) for r in results] for results in runs], indent=1))
    if args.chart:
        chart(runs, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
