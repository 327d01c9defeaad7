"""Decode and annotate captured bytes: HDLC, wired M-Bus, the wrapper, APDUs, A-XDR, IEC 62056-21.

:func:`decode` turns one capture into a :class:`Node` tree in which every field carries its offset,
its raw bytes and its meaning, down to the A-XDR values of a push (types, OBIS codes, date-times,
class and attribute names). ``node.to_text()`` prints it, ``node.to_dict()`` gives a stable
JSON-ready structure (every node has the same keys). Ciphered APDUs are deciphered when the keys
are given; without them the envelope is shown and the payload is left alone.

Offsets. Every node's ``offset`` counts from the start of the buffer it lives in. That is the
input, except below a node whose ``space`` is set: a reassembled APDU (HDLC segments, M-Bus
segments, general-block-transfer blocks) or a deciphered one is a buffer of its own, and the
offsets of its children count from its first byte.

Auto-detection (``kind=None``), in this order; the first layer whose signature matches *and*
that decodes the whole input wins, and when none does the error of the first matching layer is
raised (it is the most specific one):

1. ``hdlc`` - starts with the flag ``7E``, or is a chain of frames without flags: a format byte
   ``A0``-``AF`` whose 11-bit lengths tile the input exactly;
2. ``mbus`` - starts with a long-frame head ``68 L L 68``;
3. ``wrapper`` - ``00 01`` headers whose lengths tile the input exactly;
4. ``llc`` - the LLC header ``E6 E6 00`` / ``E6 E7 00`` followed by an APDU;
5. ``iec62056-21`` - ``/`` (request, identification, whole readout), ``06`` + digits + CR LF
   (option select, ACK), a lone ``15`` (NAK), or ``01``/``02`` ... ``03``/``04`` BCC with a
   *valid* BCC (command and data messages);
6. ``apdu`` - a known APDU tag (plain or ciphered) that decodes to the last byte;
7. ``axdr`` - one A-XDR Data filling the input.

Ambiguities this order settles: ``01``/``02`` start an IEC command/data message, an APDU
(initiateRequest) and an A-XDR array/structure - the IEC reading needs a matching BCC, then
the APDU must decode exactly, else it is A-XDR; ``0F`` (data-notification vs. A-XDR integer)
and ``21`` (glo-initiateRequest vs. delta-double-long-unsigned) are APDUs when they decode as
one. Force a layer with ``kind=`` (one of :data:`KINDS`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from meterlink.dlms import axdr
from meterlink.dlms._lengths import decode_length
from meterlink.dlms.apdu import (
    AARE,
    AARQ,
    CIPHERED_TAGS,
    RLRE,
    RLRQ,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ConfirmedService,
    ConfirmedServiceError,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    GeneralBlockTransfer,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    SetRequestNormal,
    SetResponseNormal,
    decode_apdu,
)
from meterlink.dlms.apdu.initiate import Conformance
from meterlink.dlms.cosem.classes import attribute_name, method_name
from meterlink.dlms.cosem.descriptors import ClassId
from meterlink.dlms.cosem.units import unit_symbol
from meterlink.dlms.cosem_time import ClockStatus, CosemDate, CosemDateTime, CosemTime
from meterlink.dlms.security import CipheredKind, SecurityControl, parse_ciphered, unprotect
from meterlink.dlms.wrapper import HEADER_SIZE, WRAPPER_VERSION
from meterlink.errors import (
    ChecksumError,
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    RemoteProtocolError,
)
from meterlink.hdlc.frames import FrameKind, parse_frame
from meterlink.hdlc.parameters import HdlcParameters
from meterlink.mbus import DlmsSegmenter, read_frame
from meterlink.obis import Obis

__all__ = ["KINDS", "Keys", "Node", "decode", "detect"]

KINDS: Final = ("hdlc", "mbus", "wrapper", "llc", "iec62056-21", "apdu", "axdr")
"""The layers :func:`decode` knows, in auto-detection order."""

_LLC: Final = {b"\xe6\xe6\x00": "client -> server", b"\xe6\xe7\x00": "server -> client"}
_HEX_SHOWN: Final = 12
JsonValue = None | bool | int | float | str | list[Any] | dict[str, Any]


# ================================================================================================
# the tree
# ================================================================================================
@dataclass(slots=True)
class Node:
    """One field: where it is, its bytes, what they mean; ``children`` break it down further.

    ``value`` is a JSON-ready machine reading of the field (an int, a string, ...), ``type`` a
    short type name (A-XDR types for data, ``frame``/``apdu``/``field``... otherwise) and
    ``space`` names the buffer the children's offsets count from, when it is not the input.
    """

    name: str
    offset: int | None = None
    raw: bytes = b""
    text: str = ""
    value: JsonValue = None
    type: str = "field"
    space: str | None = None
    children: list[Node] = field(default_factory=list)

    def add(self, node: Node) -> Node:
        self.children.append(node)
        return node

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, name: str) -> Node | None:
        """The first node (depth first) called ``name``."""
        return next((node for node in self.walk() if node.name == name), None)

    def find_all(self, name: str) -> list[Node]:
        return [node for node in self.walk() if node.name == name]

    def to_dict(self) -> dict[str, Any]:
        """``{name, type, offset, length, hex, text, value, space, children}``, always all keys."""
        return {
            "name": self.name,
            "type": self.type,
            "offset": self.offset,
            "length": len(self.raw),
            "hex": self.raw.hex(),
            "text": self.text,
            "value": self.value,
            "space": self.space,
            "children": [child.to_dict() for child in self.children],
        }

    def to_text(self) -> str:
        """An indented listing: offset, bytes (shortened), then ``name: meaning``."""
        lines: list[str] = []
        self._lines(lines, 0)
        return "\n".join(lines)

    def _lines(self, lines: list[str], depth: int) -> None:
        offset = "" if self.offset is None else str(self.offset)
        shown = self.raw[:_HEX_SHOWN].hex(" ")
        if len(self.raw) > _HEX_SHOWN:
            shown += f" .. ({len(self.raw)} bytes)"
        label = self.name + (f": {self.text}" if self.text else "")
        if self.space:
            label += f"  [offsets below count from the start of the {self.space}]"
        lines.append(f"{offset:>6}  {shown:<50} {'  ' * depth}{label}".rstrip())
        for child in self.children:
            child._lines(lines, depth + 1)


@dataclass(frozen=True, slots=True)
class Keys:
    """What deciphering needs; ``system_title`` is the sender's, used when the APDU lacks one."""

    key: bytes | None = None
    auth_key: bytes | None = None
    system_title: bytes | None = None
    broadcast_key: bytes | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        for name in ("key", "auth_key", "broadcast_key"):
            value = getattr(self, name)
            if value is not None and len(value) not in (16, 32):
                raise LocalProtocolError(f"{name.replace('_', ' ')} must be 16 or 32 bytes, got {len(value)}")
        if self.system_title is not None and len(self.system_title) != 8:
            raise LocalProtocolError(f"a system title is 8 bytes, got {len(self.system_title)}")


# ================================================================================================
# entry points
# ================================================================================================
def decode(
    data: bytes | bytearray | memoryview,
    *,
    key: bytes | None = None,
    auth_key: bytes | None = None,
    system_title: bytes | None = None,
    broadcast_key: bytes | None = None,
    verify: bool = True,
    kind: str | None = None,
) -> Node:
    """Decode one capture into an annotated tree (see the module docstring for detection).

    Bad bytes raise :class:`~meterlink.errors.RemoteProtocolError` subclasses with the offset;
    bad arguments (an unknown ``kind``, a key of the wrong size, an authenticated APDU without
    the authentication key while ``verify`` is on) :class:`~meterlink.errors.LocalProtocolError`.
    """
    buf = bytes(data)
    keys = Keys(key, auth_key, system_title, broadcast_key, verify)
    if kind is not None:
        if kind not in _LAYERS:
            raise LocalProtocolError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return _LAYERS[kind](_Context(keys), buf)
    if not buf:
        raise MalformedDataError("nothing to decode", data=buf, offset=0)
    candidates = detect(buf)
    if not candidates:
        raise MalformedDataError(f"no layer starts with byte {buf[0]:#04x}", data=buf, offset=0)
    first: MeterlinkError | None = None
    for name in candidates:
        try:
            return _LAYERS[name](_Context(keys), buf)
        except LocalProtocolError:
            raise
        except MeterlinkError as exc:
            first = first or exc
    assert first is not None
    raise first


def detect(data: bytes) -> list[str]:
    """The layers whose signature ``data`` matches, most specific first."""
    out = []
    if _looks_hdlc(data):
        out.append("hdlc")
    if len(data) >= 4 and data[0] == 0x68 and data[3] == 0x68 and data[1] == data[2]:
        out.append("mbus")
    if _looks_wrapper(data):
        out.append("wrapper")
    if data[:3] in _LLC:
        out.append("llc")
    if _looks_iec(data):
        out.append("iec62056-21")
    if data and (data[0] in _APDU_TAGS or data[0] in CIPHERED_TAGS):
        out.append("apdu")
    if data and data[0] in _DATA_TAGS:
        out.append("axdr")
    return out


def _looks_hdlc(data: bytes) -> bool:
    if data[:1] == b"\x7e" and len(data) > 1 and data[1] & 0xF0 == 0xA0:
        return True
    pos = 0
    while pos < len(data):
        if data[pos] & 0xF0 != 0xA0 or pos + 2 > len(data):
            return False
        length = ((data[pos] & 0x07) << 8) | data[pos + 1]
        if length < 7:
            return False
        pos += length
    return pos == len(data) and pos > 0


def _looks_wrapper(data: bytes) -> bool:
    pos = 0
    while pos < len(data):
        if len(data) - pos < HEADER_SIZE or int.from_bytes(data[pos : pos + 2], "big") != WRAPPER_VERSION:
            return False
        pos += HEADER_SIZE + int.from_bytes(data[pos + 6 : pos + 8], "big")
    return pos == len(data) and pos > 0


def _looks_iec(data: bytes) -> bool:
    if not data:
        return False
    first = data[0]
    if first == 0x2F:
        return True
    if first == 0x15:
        return len(data) == 1
    if first == 0x06:
        return data.endswith(b"\r\n") or len(data) == 1
    if first in (0x01, 0x02):
        return len(data) >= 3 and data[-2] in (0x03, 0x04)
    return False


_APDU_TAGS: Final = frozenset(
    {0x01, 0x08, 0x0E, 0x0F, 0x60, 0x61, 0x62, 0x63, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7, 0xD8, 0xE0}
)
_DATA_TAGS: Final = frozenset(int(tag) for tag in axdr.DataTag)


# ================================================================================================
# shared state of one decode: keys, system titles seen, blocks waiting to be joined
# ================================================================================================
class _Context:
    __slots__ = ("blocks", "keys", "late", "titles")

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.titles: dict[str, bytes] = {}
        """AP titles learnt from an AARQ ("client") or AARE ("server") earlier in the input."""
        self.blocks: list[GeneralBlockTransfer] = []
        self.late: list[Node] = []
        """Nodes to append to the root once the units are done (joined blocks)."""


def _rebase(exc: RemoteProtocolError, data: bytes, base: int, where: str = "") -> RemoteProtocolError:
    """The same error, its offset moved into ``data`` (the buffer the caller knows)."""
    offset = None if exc.offset is None else base + exc.offset
    message = f"{where}{exc.message}"
    if isinstance(exc, ChecksumError):
        return ChecksumError(message, expected=exc.expected, received=exc.received, data=data, offset=offset)
    return type(exc)(message, data=data, offset=offset)


class _Cursor:
    """Walks one buffer and hangs a node per field on ``parent``; offsets shifted by ``base``."""

    __slots__ = ("base", "data", "parent", "pos")

    def __init__(self, data: bytes, parent: Node, base: int = 0, pos: int = 0) -> None:
        self.data = data
        self.parent = parent
        self.base = base
        self.pos = pos

    def fail(self, message: str, at: int | None = None) -> MalformedDataError:
        return MalformedDataError(message, data=self.data, offset=self.pos if at is None else at)

    def take(
        self, size: int, name: str, text: str = "", value: JsonValue = None, type_: str = "field"
    ) -> Node:
        if size < 0 or self.pos + size > len(self.data):
            raise self.fail(f"{name} cut short: {size} bytes needed, {len(self.data) - self.pos} left")
        raw = self.data[self.pos : self.pos + size]
        node = Node(name, self.base + self.pos, raw, text, value, type_)
        self.pos += size
        return self.parent.add(node)

    def byte(self, name: str, meaning: Callable[[int], str] | None = None) -> tuple[int, Node]:
        if self.pos >= len(self.data):
            raise self.fail(f"{name} missing")
        value = self.data[self.pos]
        node = self.take(1, name, meaning(value) if meaning else str(value), value)
        return value, node

    def uint(self, size: int, name: str, meaning: Callable[[int], str] | None = None) -> int:
        if self.pos + size > len(self.data):
            raise self.fail(f"{name} cut short")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.take(size, name, meaning(value) if meaning else str(value), value)
        return value

    def length(self, name: str) -> int:
        start = self.pos
        value, end = decode_length(self.data, start)
        self.take(end - start, name, str(value), value)
        return value

    def rest(self) -> int:
        return len(self.data) - self.pos

    def child(self, node: Node) -> _Cursor:
        """A cursor in the same buffer that hangs its fields below ``node``."""
        return _Cursor(self.data, node, self.base, self.pos)


# ================================================================================================
# link layers
# ================================================================================================
def _decode_hdlc(ctx: _Context, data: bytes) -> Node:
    root = Node("hdlc", 0, data, type="capture")
    pos = 0
    frames = 0
    pending: bytearray | None = None
    pending_from = 0
    while pos < len(data):
        if data[pos] == 0x7E:
            end = pos
            while end < len(data) and data[end] == 0x7E:
                end += 1
            root.add(Node("flag", pos, data[pos:end], "frame delimiter" if end - pos == 1 else "flags"))
            pos = end
            continue
        if data[pos] & 0xF0 != 0xA0 or pos + 2 > len(data):
            raise MalformedDataError("not an HDLC frame: format byte 0xA? expected", data=data, offset=pos)
        length = ((data[pos] & 0x07) << 8) | data[pos + 1]
        end = pos + length
        if end > len(data):
            raise MalformedDataError(
                f"HDLC frame of {length} bytes runs past the end of the input", data=data, offset=pos
            )
        try:
            frame = parse_frame(data[pos:end])
        except RemoteProtocolError as exc:
            raise _rebase(exc, data, pos, f"HDLC frame {frames + 1}: ") from None
        frames += 1
        node = root.add(Node(f"frame {frames}", pos, data[pos:end], f"{frame.kind} frame", type="frame"))
        cur = _Cursor(data, node, 0, pos)
        fmt = int.from_bytes(data[pos : pos + 2], "big")
        seg = "segmented (more follows)" if frame.segmented else "not segmented"
        cur.take(2, "format", f"type 3, {seg}, length {fmt & 0x7FF}", fmt & 0x7FF)
        cur.take(
            len(frame.destination.encoded),
            "destination",
            _address_text(frame.destination),
            str(frame.destination),
        )
        cur.take(len(frame.source.encoded), "source", _address_text(frame.source), str(frame.source))
        cur.take(1, "control", _control_text(frame), frame.control)
        if frame.info:
            cur.take(
                2, "HCS", "header check sequence ok", int.from_bytes(data[cur.pos : cur.pos + 2], "little")
            )
            info = cur.take(len(frame.info), "information", f"{len(frame.info)} bytes")
            info_at = cur.pos - len(frame.info)
            if frame.kind in (FrameKind.I, FrameKind.UI):
                body = frame.info
                base = info_at
                if pending is None and body[:3] in _LLC:
                    info.add(Node("LLC", info_at, body[:3], _LLC[body[:3]]))
                    body, base = body[3:], base + 3
                if frame.segmented or pending is not None:
                    if pending is None:
                        pending, pending_from = bytearray(), frames
                    pending += body
                    info.text += ", segment of an APDU" + (" (continues)" if frame.segmented else " (last)")
                    if not frame.segmented:
                        whole = bytes(pending)
                        pending = None
                        joined = Node(
                            "APDU",
                            None,
                            whole,
                            f"reassembled from HDLC frames {pending_from}-{frames}",
                            type="apdu",
                            space="reassembled APDU",
                        )
                        root.add(joined)
                        _apdu_into(ctx, joined, whole, 0, "reassembled APDU: ")
                elif body:
                    _apdu_into(ctx, info, body, base, f"HDLC frame {frames}: ", rebase_to=data)
            elif frame.kind in (FrameKind.SNRM, FrameKind.UA):
                _hdlc_parameters(info, frame.info, info_at, data)
            elif frame.kind is FrameKind.FRMR:
                frmr = frame.frmr
                info.text = f"frame reject: control {frmr.rejected_control:#04x}, " + ", ".join(frmr.reasons)
        cur.take(2, "FCS", "frame check sequence ok", int.from_bytes(data[cur.pos : cur.pos + 2], "little"))
        pos = end
    if frames == 0:
        raise MalformedDataError("no HDLC frame in the input", data=data, offset=0)
    if pending is not None:
        root.add(Node("unfinished APDU", None, bytes(pending), "the input ends inside a segmented APDU"))
    root.text = f"{frames} HDLC frame{'s' if frames != 1 else ''}"
    _finish(ctx, root)
    return root


def _hdlc_parameters(node: Node, info: bytes, base: int, data: bytes) -> None:
    try:
        params = HdlcParameters.from_info(info)
    except RemoteProtocolError as exc:
        raise _rebase(exc, data, base, "HDLC parameters: ") from None
    node.text = (
        f"parameters: max info transmit {params.max_info_transmit}, receive {params.max_info_receive}, "
        f"window transmit {params.window_transmit}, receive {params.window_receive}"
    )
    node.value = dataclasses.asdict(params)


def _address_text(address: Any) -> str:
    if address.physical is None:
        return f"logical {address.logical} ({len(address.encoded)} byte)"
    return f"logical {address.logical}, physical {address.physical} ({len(address.encoded)} bytes)"


def _control_text(frame: Any) -> str:
    pf = "P/F set" if frame.poll_final else "P/F clear"
    if frame.kind is FrameKind.I:
        return f"I frame, N(S)={frame.send_seq} N(R)={frame.receive_seq}, {pf}"
    if frame.kind in (FrameKind.RR, FrameKind.RNR):
        return f"{frame.kind} N(R)={frame.receive_seq}, {pf}"
    return f"{frame.kind}, {pf}"


def _decode_mbus(ctx: _Context, data: bytes) -> Node:
    root = Node("mbus", 0, data, type="capture")
    segmenter = DlmsSegmenter()
    pos = 0
    frames = 0
    first_segment = 0
    while pos < len(data):
        try:
            frame, end, overflow = read_frame(data, pos)
        except RemoteProtocolError as exc:
            raise _rebase(exc, data, pos, f"M-Bus frame {frames + 1}: ") from None
        frames += 1
        node = root.add(Node(f"frame {frames}", pos, data[pos:end], "M-Bus long frame", type="frame"))
        cur = _Cursor(data, node, 0, pos)
        size = end - pos - 6
        cur.take(1, "start", "68")
        note = f" (the meter wrote only the low byte of {size})" if overflow else ""
        cur.take(2, "length", f"{size} bytes from C to the checksum{note}", size)
        cur.take(1, "start", "68")
        cur.take(
            1,
            "C",
            f"control {frame.control:#04x}" + (" SND_UD" if frame.control & 0x4F == 0x43 else ""),
            frame.control,
        )
        cur.take(
            1,
            "A",
            f"address {frame.address}" + (" (broadcast)" if frame.address in (0xFE, 0xFF) else ""),
            frame.address,
        )
        last = "last segment" if frame.last else "more segments follow"
        cur.take(1, "CI", f"DLMS segment {frame.segment}, {last}", frame.ci)
        if len(frame.data) >= 2:
            cur.take(1, "STSAP", "source transport SAP", frame.data[0])
            cur.take(1, "DTSAP", "destination transport SAP", frame.data[1])
        piece_at = cur.pos
        piece = cur.take(len(frame.payload), "APDU segment", f"{len(frame.payload)} bytes")
        cur.take(1, "CS", "checksum ok", data[cur.pos])
        cur.take(1, "stop", "16")
        orphans = segmenter.orphans
        if frame.segment == 0:
            first_segment = frames
        try:
            whole = segmenter.add(frame)
        except RemoteProtocolError as exc:
            raise _rebase(exc, data, pos, f"M-Bus frame {frames}: ") from None
        if segmenter.orphans != orphans:
            piece.text += ": orphan, the start of this APDU is not in the input"
        elif whole is not None:
            if first_segment == frames:
                _apdu_into(ctx, piece, whole, piece_at, f"M-Bus frame {frames}: ", rebase_to=data)
            else:
                joined = Node(
                    "APDU",
                    None,
                    whole,
                    f"reassembled from M-Bus frames {first_segment}-{frames}",
                    type="apdu",
                    space="reassembled APDU",
                )
                root.add(joined)
                _apdu_into(ctx, joined, whole, 0, "reassembled APDU: ")
        pos = end
    if segmenter.in_progress:
        root.add(Node("unfinished APDU", None, b"", "the input ends inside a segmented APDU"))
    root.text = f"{frames} M-Bus long frame{'s' if frames != 1 else ''}"
    _finish(ctx, root)
    return root


def _decode_wrapper(ctx: _Context, data: bytes) -> Node:
    root = Node("wrapper", 0, data, type="capture")
    pos = 0
    count = 0
    while pos < len(data):
        if len(data) - pos < HEADER_SIZE:
            raise MalformedDataError("wrapper header cut short", data=data, offset=pos)
        version, source, destination, length = (
            int.from_bytes(data[at : at + 2], "big") for at in range(pos, pos + 8, 2)
        )
        if version != WRAPPER_VERSION:
            raise MalformedDataError(f"wrapper version {version:#06x} is not 0x0001", data=data, offset=pos)
        end = pos + HEADER_SIZE + length
        if end > len(data):
            raise MalformedDataError(
                f"wrapper PDU of {length} bytes runs past the end of the input", data=data, offset=pos + 6
            )
        count += 1
        node = root.add(
            Node(f"PDU {count}", pos, data[pos:end], f"wrapper {source} -> {destination}", type="pdu")
        )
        cur = _Cursor(data, node, 0, pos)
        cur.take(2, "version", "1", 1)
        cur.take(2, "source wPort", _wport(source), source)
        cur.take(2, "destination wPort", _wport(destination), destination)
        cur.take(2, "length", f"{length} APDU bytes", length)
        apdu = cur.take(length, "APDU", type_="apdu")
        if length:
            _apdu_into(
                ctx,
                apdu,
                data[pos + HEADER_SIZE : end],
                pos + HEADER_SIZE,
                f"wrapper PDU {count}: ",
                rebase_to=data,
            )
        pos = end
    root.text = f"{count} wrapper PDU{'s' if count != 1 else ''}"
    _finish(ctx, root)
    return root


def _wport(port: int) -> str:
    names = {1: "management logical device", 16: "public client", 0x66: "push client (102)"}
    return f"{port}" + (f" ({names[port]})" if port in names else "")


def _decode_llc(ctx: _Context, data: bytes) -> Node:
    if data[:3] not in _LLC:
        raise MalformedDataError("no LLC header (E6 E6 00 / E6 E7 00)", data=data, offset=0)
    root = Node("llc", 0, data, "LLC header and APDU", type="capture")
    root.add(Node("LLC", 0, data[:3], _LLC[data[:3]]))
    apdu = root.add(Node("APDU", 3, data[3:], type="apdu"))
    _apdu_into(ctx, apdu, data[3:], 3, "", rebase_to=data)
    _finish(ctx, root)
    return root


def _decode_apdu_layer(ctx: _Context, data: bytes) -> Node:
    root = Node("apdu", 0, data, type="apdu")
    _apdu_into(ctx, root, data, 0, "")
    _finish(ctx, root)
    return root


def _decode_axdr_layer(ctx: _Context, data: bytes) -> Node:
    root = Node("axdr", 0, data, "A-XDR data", type="capture")
    end = _data(root, data, 0, 0, "data")
    if end != len(data):
        raise MalformedDataError(f"{len(data) - end} bytes after the A-XDR data", data=data, offset=end)
    return root


def _finish(ctx: _Context, root: Node) -> None:
    root.children.extend(ctx.late)
    ctx.late.clear()
    if ctx.blocks:
        numbers = ", ".join(str(b.block_number) for b in ctx.blocks)
        root.add(Node("unfinished block transfer", None, b"", f"blocks {numbers} without their last block"))


# ================================================================================================
# APDUs
# ================================================================================================
def _apdu_into(
    ctx: _Context, parent: Node, apdu: bytes, base: int, where: str, rebase_to: bytes | None = None
) -> None:
    """Annotate ``apdu`` below ``parent``; errors get ``where`` and, with ``rebase_to``, input offsets."""
    try:
        _apdu(ctx, parent, apdu, base)
    except RemoteProtocolError as exc:
        if rebase_to is not None and exc.data == apdu:
            raise _rebase(exc, rebase_to, base, where) from None
        if where and not exc.message.startswith(where):
            raise _rebase(exc, exc.data, 0, where) from None
        raise


def _apdu(ctx: _Context, parent: Node, apdu: bytes, base: int) -> None:
    if not apdu:
        raise MalformedDataError("empty APDU", data=apdu, offset=0)
    tag = apdu[0]
    if tag in CIPHERED_TAGS:
        _ciphered(ctx, parent, apdu, base)
        return
    decoded = decode_apdu(apdu)  # validates everything; the walk below only labels
    name = _APDU_NAMES.get(tag, type(decoded).__name__)
    parent.type = "apdu"
    parent.text = (parent.text + ", " if parent.text else "") + name
    cur = _Cursor(apdu, parent, base)
    cur.take(1, "tag", f"{tag:#04x} {name}", tag)
    annotate = _ANNOTATORS.get(type(decoded))
    if annotate is None:
        _generic(cur, decoded)
    else:
        annotate(ctx, cur, decoded)
    if isinstance(decoded, GeneralBlockTransfer):
        _block(ctx, decoded)


_APDU_NAMES: Final = {
    0x01: "initiateRequest",
    0x08: "initiateResponse",
    0x0E: "confirmedServiceError",
    0x0F: "data-notification",
    0x60: "AARQ",
    0x61: "AARE",
    0x62: "RLRQ",
    0x63: "RLRE",
    0xC0: "get-request",
    0xC1: "set-request",
    0xC2: "event-notification-request",
    0xC3: "action-request",
    0xC4: "get-response",
    0xC5: "set-response",
    0xC7: "action-response",
    0xD8: "exception-response",
    0xE0: "general-block-transfer",
}


def _block(ctx: _Context, block: GeneralBlockTransfer) -> None:
    if not block.block_data:
        return  # an acknowledgement
    if ctx.blocks and block.block_number != ctx.blocks[-1].block_number + 1:
        ctx.blocks.clear()
    ctx.blocks.append(block)
    if not block.last_block:
        return
    blocks, ctx.blocks = ctx.blocks, []
    whole = b"".join(b.block_data for b in blocks)
    numbers = f"{blocks[0].block_number}-{blocks[-1].block_number}"
    joined = Node(
        "APDU",
        None,
        whole,
        f"joined from general-block-transfer blocks {numbers}",
        type="apdu",
        space="joined block data",
    )
    ctx.late.append(joined)
    _apdu_into(ctx, joined, whole, 0, "joined general-block-transfer data: ")


def _invoke(cur: _Cursor) -> None:
    value = cur.data[cur.pos] if cur.pos < len(cur.data) else 0
    text = (
        f"invoke id {value & 0x0F}, {'confirmed' if value & 0x40 else 'unconfirmed'}, "
        f"{'high' if value & 0x80 else 'normal'} priority"
    )
    cur.take(1, "invoke-id-and-priority", text, value & 0x0F)


def _long_invoke(cur: _Cursor) -> None:
    if cur.rest() < 4:
        raise cur.fail("long-invoke-id-and-priority cut short")
    value = int.from_bytes(cur.data[cur.pos : cur.pos + 4], "big")
    flags = [
        "confirmed" if value & (1 << 30) else "unconfirmed",
        "high priority" if value & (1 << 31) else "normal priority",
    ]
    if value & (1 << 28):
        flags.append("self-descriptive")
    if value & (1 << 29):
        flags.append("break on error")
    cur.take(
        4,
        "long-invoke-id-and-priority",
        f"invoke id {value & 0xFFFFFF}, " + ", ".join(flags),
        value & 0xFFFFFF,
    )


def _class_text(class_id: int) -> str:
    try:
        return f"{class_id} {ClassId(class_id).name.lower()}"
    except ValueError:
        return f"{class_id} (unknown class)"


def _descriptor(cur: _Cursor, *, method: bool = False) -> None:
    if cur.rest() < 9:
        raise cur.fail("descriptor cut short")
    class_id = int.from_bytes(cur.data[cur.pos : cur.pos + 2], "big")
    obis = Obis.from_bytes(cur.data[cur.pos + 2 : cur.pos + 8])
    member = cur.data[cur.pos + 8]
    member = member - 256 if member > 127 else member
    label = "method" if method else "attribute"
    named = (method_name if method else attribute_name)(class_id, member)
    node = cur.take(
        9,
        f"{label} descriptor",
        f"{_class_text(class_id)} {obis.dotted} {label} {member}" + (f" {named}" if named else ""),
    )
    node.value = {"class_id": class_id, "obis": obis.dotted, label: member}
    sub = cur.child(node)
    sub.pos -= 9
    sub.take(2, "class-id", _class_text(class_id), class_id)
    sub.take(6, "instance-id", f"OBIS {obis.dotted}", obis.dotted)
    sub.take(1, f"{label}-id", f"{member}" + (f" {named}" if named else ""), member)


def _selective(cur: _Cursor) -> None:
    flag, _ = cur.byte("access-selection", lambda v: "present" if v == 1 else "absent" if v == 0 else "?")
    if flag == 1:
        cur.byte(
            "access-selector", lambda v: {1: "1 range_descriptor", 2: "2 entry_descriptor"}.get(v, str(v))
        )
        cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "access-parameters")


def _dar(value: int) -> str:
    return f"{value} {DataAccessResult(value).name.lower().replace('_', '-')}"


def _ann_notification(ctx: _Context, cur: _Cursor, apdu: DataNotification) -> None:
    _long_invoke(cur)
    if apdu.tagged_date_time:
        cur.take(1, "date-time type", "octet-string tag (Kaifa)", 9)
    length = cur.length("date-time length")
    if length:
        stamp = cur.data[cur.pos : cur.pos + length]
        text, value = _stamp_text(stamp)
        cur.take(length, "date-time", text, value, "date-time")
    else:
        cur.parent.children[-1].text = "0: no date-time"
    cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "notification-body")


def _ann_event(ctx: _Context, cur: _Cursor, apdu: EventNotificationRequest) -> None:
    flag, _ = cur.byte("time", lambda v: "present" if v else "absent")
    if flag:
        length = cur.length("time length")
        stamp = cur.data[cur.pos : cur.pos + length]
        text, value = _stamp_text(stamp)
        cur.take(length, "time", text, value, "date-time")
    _descriptor(cur)
    cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "attribute-value")


def _ann_get_normal(ctx: _Context, cur: _Cursor, apdu: GetRequestNormal) -> None:
    cur.take(1, "choice", "1 get-request-normal", 1)
    _invoke(cur)
    _descriptor(cur)
    _selective(cur)


def _ann_get_next(ctx: _Context, cur: _Cursor, apdu: GetRequestNext) -> None:
    cur.take(1, "choice", "2 get-request-next", 2)
    _invoke(cur)
    cur.uint(4, "block-number")


def _ann_get_list(ctx: _Context, cur: _Cursor, apdu: GetRequestWithList) -> None:
    cur.take(1, "choice", "3 get-request-with-list", 3)
    _invoke(cur)
    count = cur.length("count")
    for _ in range(count):
        _descriptor(cur)
        _selective(cur)


def _ann_get_response(ctx: _Context, cur: _Cursor, apdu: GetResponseNormal) -> None:
    cur.take(1, "choice", "1 get-response-normal", 1)
    _invoke(cur)
    _result(cur, "result")


def _result(cur: _Cursor, name: str) -> None:
    choice, _ = cur.byte(name, lambda v: "0 data" if v == 0 else "1 data-access-result" if v == 1 else str(v))
    if choice == 0:
        cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "data")
    else:
        cur.byte("data-access-result", _dar)


def _ann_get_block(ctx: _Context, cur: _Cursor, apdu: GetResponseWithDatablock) -> None:
    cur.take(1, "choice", "2 get-response-with-datablock", 2)
    _invoke(cur)
    cur.byte("last-block", lambda v: "yes" if v else "no")
    cur.uint(4, "block-number")
    choice, _ = cur.byte("result", lambda v: "0 raw-data" if v == 0 else "1 data-access-result")
    if choice == 0:
        size = cur.length("raw-data length")
        cur.take(size, "raw-data", f"{size} bytes of the encoded value")
    else:
        cur.byte("data-access-result", _dar)


def _ann_get_list_response(ctx: _Context, cur: _Cursor, apdu: GetResponseWithList) -> None:
    cur.take(1, "choice", "3 get-response-with-list", 3)
    _invoke(cur)
    count = cur.length("count")
    for index in range(count):
        _result(cur, f"result {index + 1}")


def _ann_set_normal(ctx: _Context, cur: _Cursor, apdu: SetRequestNormal) -> None:
    cur.take(1, "choice", "1 set-request-normal", 1)
    _invoke(cur)
    _descriptor(cur)
    _selective(cur)
    cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "value")


def _ann_set_response(ctx: _Context, cur: _Cursor, apdu: SetResponseNormal) -> None:
    cur.take(1, "choice", "1 set-response-normal", 1)
    _invoke(cur)
    cur.byte("result", _dar)


def _ann_action(ctx: _Context, cur: _Cursor, apdu: ActionRequestNormal) -> None:
    cur.take(1, "choice", "1 action-request-normal", 1)
    _invoke(cur)
    _descriptor(cur, method=True)
    flag, _ = cur.byte("parameters", lambda v: "present" if v else "absent")
    if flag:
        cur.pos = _data(cur.parent, cur.data, cur.pos, cur.base, "method-parameters")


def _ann_action_response(ctx: _Context, cur: _Cursor, apdu: ActionResponseNormal) -> None:
    cur.take(1, "choice", "1 action-response-normal", 1)
    _invoke(cur)
    cur.byte("action-result", lambda v: f"{v} {ActionResult(v).name.lower().replace('_', '-')}")
    flag, _ = cur.byte("return-parameters", lambda v: "present" if v else "absent")
    if flag:
        _result(cur, "get-data-result")


def _ann_exception(ctx: _Context, cur: _Cursor, apdu: ExceptionResponse) -> None:
    cur.byte("state-error", lambda v: f"{v} {ExceptionStateError(v).name.lower().replace('_', '-')}")
    cur.byte("service-error", lambda v: f"{v} {ExceptionServiceError(v).name.lower().replace('_', '-')}")
    if cur.rest() >= 4:
        cur.uint(4, "invocation-counter", lambda v: f"{v} (the counter the meter expects)")


def _ann_confirmed_error(ctx: _Context, cur: _Cursor, apdu: ConfirmedServiceError) -> None:
    cur.byte("service", lambda v: f"{v} {ConfirmedService(v).name.lower().replace('_', '-')}")
    cur.byte("service-error", lambda v: f"{v} {apdu.kind.name.lower().replace('_', '-')}")
    cur.byte("reason", lambda v: f"{v} {apdu.reason_name}")


def _ann_gbt(ctx: _Context, cur: _Cursor, apdu: GeneralBlockTransfer) -> None:
    flags = ["last block" if apdu.last_block else "more blocks follow"]
    if apdu.streaming:
        flags.append("streaming")
    flags.append(f"window {apdu.window}")
    cur.take(1, "block-control", ", ".join(flags), apdu.block_control)
    cur.uint(2, "block-number")
    cur.uint(2, "block-number-ack")
    size = cur.length("block-data length")
    cur.take(size, "block-data", f"{size} bytes" + ("" if size else " (acknowledgement)"))


def _ann_initiate_request(ctx: _Context, cur: _Cursor, apdu: InitiateRequest) -> None:
    flag, _ = cur.byte("dedicated-key", lambda v: "present" if v else "absent")
    if flag:
        size = cur.length("dedicated-key length")
        cur.take(size, "dedicated-key", f"{size} bytes")
    flag, _ = cur.byte("response-allowed", lambda v: "explicit" if v else "default (true)")
    if flag:
        cur.byte("response-allowed value", lambda v: "true" if v else "false")
    flag, _ = cur.byte("proposed-quality-of-service", lambda v: "present" if v else "absent")
    if flag:
        cur.byte("quality-of-service")
    cur.byte("proposed-dlms-version")
    _conformance(cur, apdu.proposed_conformance)
    cur.uint(2, "client-max-receive-pdu-size")


def _ann_initiate_response(ctx: _Context, cur: _Cursor, apdu: InitiateResponse) -> None:
    flag, _ = cur.byte("negotiated-quality-of-service", lambda v: "present" if v else "absent")
    if flag:
        cur.byte("quality-of-service")
    cur.byte("negotiated-dlms-version")
    _conformance(cur, apdu.negotiated_conformance)
    cur.uint(2, "server-max-receive-pdu-size")
    cur.uint(2, "vaa-name", lambda v: {7: "0x0007 (LN referencing)", 0xFA00: "0xFA00 (SN)"}.get(v, hex(v)))


def _conformance(cur: _Cursor, value: Conformance) -> None:
    names = [flag.name.lower().replace("_", "-") for flag in Conformance if flag & value and flag.name]
    cur.take(7, "conformance", ", ".join(names) or "none", int(value))


# -- ACSE: a BER walk ------------------------------------------------------------------------------
_ACSE_FIELDS: Final = {
    0x80: "protocol-version",
    0xA1: "application-context-name",
    0xA2: "result",
    0xA3: "result-source-diagnostic",
    0xA4: "responding-AP-title",
    0xA6: "calling-AP-title",
    0xA7: "calling-AE-qualifier",
    0xA9: "calling-AE-invocation-id",
    0x88: "responder-acse-requirements",
    0x89: "mechanism-name",
    0x8A: "sender-acse-requirements",
    0x8B: "mechanism-name",
    0xAA: "responding-authentication-value",
    0xAC: "calling-authentication-value",
    0xBE: "user-information",
}
_CONTEXTS: Final = {1: "LN", 2: "SN", 3: "LN with ciphering", 4: "SN with ciphering"}
_MECHANISMS: Final = {
    0: "none",
    1: "LLS (password)",
    2: "HLS manufacturer",
    3: "HLS MD5",
    4: "HLS SHA-1",
    5: "HLS GMAC",
    6: "HLS SHA-256",
    7: "HLS ECDSA",
}
_RESULTS: Final = {0: "accepted", 1: "rejected (permanent)", 2: "rejected (transient)"}


def _ann_acse(ctx: _Context, cur: _Cursor, apdu: AARQ | AARE | RLRQ | RLRE) -> None:
    total = cur.length("length")
    end = cur.pos + total
    while cur.pos < end:
        tag = cur.data[cur.pos]
        start = cur.pos
        length, body = decode_length(cur.data, start + 1)
        name = _ACSE_FIELDS.get(tag, f"field {tag:#04x}")
        if isinstance(apdu, RLRQ | RLRE) and tag == 0x80:
            name = "reason"
        content = cur.data[body : body + length]
        node = cur.take(body + length - start, name, _acse_text(tag, content, apdu), content.hex())
        if tag in (0xA4, 0xA6) and len(content) >= 2:
            title = content[2:]
            ctx.titles["server" if tag == 0xA4 else "client"] = title
            node.text = _title_text(title)
        if tag == 0xBE and len(content) >= 2 and content[0] == 0x04:
            inner_len, inner_at = decode_length(content, 1)
            inner = content[inner_at : inner_at + inner_len]
            if inner:
                sub = node.add(Node("xDLMS APDU", body + cur.base + inner_at, inner, type="apdu"))
                _apdu_into(ctx, sub, inner, body + cur.base + inner_at, "user-information: ")


def _acse_text(tag: int, content: bytes, apdu: object) -> str:
    if tag in (0xA1,) and len(content) >= 2:
        return f"{content[-1]} {_CONTEXTS.get(content[-1], '?')} referencing"
    if tag in (0x89, 0x8B) and content:
        return f"{content[-1]} {_MECHANISMS.get(content[-1], '?')}"
    if tag == 0xA2 and content:
        return f"{content[-1]} {_RESULTS.get(content[-1], '?')}"
    if tag == 0xA3 and len(content) >= 5:
        source = "acse-service-user" if content[0] == 0xA1 else "acse-service-provider"
        return f"{source} {content[-1]}"
    if tag in (0xAA, 0xAC) and len(content) >= 2:
        secret = content[2:]
        shown = (
            secret.decode("latin-1")
            if secret.isascii() and secret.decode("latin-1").isprintable()
            else secret.hex()
        )
        return f"{len(secret)} bytes: {shown}"
    if tag == 0x80 and isinstance(apdu, RLRQ | RLRE) and content:
        return {0: "0 normal", 1: "1 urgent / not finished", 30: "30 user defined"}.get(
            content[-1], str(content[-1])
        )
    return f"{len(content)} bytes"


def _title_text(title: bytes) -> str:
    maker = title[:3]
    if len(title) == 8 and maker.isascii() and maker.decode("latin-1").isalpha():
        return f"system title {title.hex()} (maker {maker.decode('latin-1')}, serial {title[3:].hex()})"
    return f"system title {title.hex()}"


def _generic(cur: _Cursor, apdu: object) -> None:
    """Fallback for the rarer APDUs: the decoded fields, without byte positions."""
    node = cur.parent
    if dataclasses.is_dataclass(apdu):
        for item in dataclasses.fields(apdu):
            value = getattr(apdu, item.name)
            node.add(
                Node(item.name, None, value if isinstance(value, bytes) else b"", _short(value), _json(value))
            )
    cur.take(cur.rest(), "rest", "see the fields above")


def _short(value: object) -> str:
    text = value.hex() if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


_ANNOTATORS: Final[dict[type, Callable[[_Context, _Cursor, Any], None]]] = {
    DataNotification: _ann_notification,
    EventNotificationRequest: _ann_event,
    GetRequestNormal: _ann_get_normal,
    GetRequestNext: _ann_get_next,
    GetRequestWithList: _ann_get_list,
    GetResponseNormal: _ann_get_response,
    GetResponseWithDatablock: _ann_get_block,
    GetResponseWithList: _ann_get_list_response,
    SetRequestNormal: _ann_set_normal,
    SetResponseNormal: _ann_set_response,
    ActionRequestNormal: _ann_action,
    ActionResponseNormal: _ann_action_response,
    ExceptionResponse: _ann_exception,
    ConfirmedServiceError: _ann_confirmed_error,
    GeneralBlockTransfer: _ann_gbt,
    InitiateRequest: _ann_initiate_request,
    InitiateResponse: _ann_initiate_response,
    AARQ: _ann_acse,
    AARE: _ann_acse,
    RLRQ: _ann_acse,
    RLRE: _ann_acse,
}


# -- ciphered APDUs --------------------------------------------------------------------------------
_CLIENT_TAGS: Final = frozenset({0x21, 0x25, 0x26, 0x41, 0x45, 0x46, 0xC8, 0xC9, 0xCB, 0xD0, 0xD1, 0xD3})


def _ciphered(ctx: _Context, parent: Node, apdu: bytes, base: int) -> None:
    envelope = parse_ciphered(apdu)
    kind = envelope.kind
    plain_name = _APDU_NAMES.get(envelope.plain_tag or 0, "APDU")
    if kind in (CipheredKind.GLO, CipheredKind.DED):
        name = f"{kind.value}-{plain_name}"
    else:
        name = (
            f"{kind.value}-ciphering" if kind is not CipheredKind.GENERAL_CIPHERING else "general-ciphering"
        )
    parent.type = "apdu"
    parent.text = (parent.text + ", " if parent.text else "") + name
    cur = _Cursor(apdu, parent, base)
    cur.take(1, "tag", f"{apdu[0]:#04x} {name}", apdu[0])
    if kind in (CipheredKind.GENERAL_GLO, CipheredKind.GENERAL_DED):
        size = cur.length("system-title length")
        if size:
            cur.take(
                size,
                "system-title",
                _title_text(apdu[cur.pos : cur.pos + size]),
                apdu[cur.pos : cur.pos + size].hex(),
            )
        else:
            cur.parent.children[-1].text = "0: no system title (taken from the association)"
    elif kind is CipheredKind.GENERAL_CIPHERING:
        header_end = len(apdu) - len(envelope.payload) - 5
        _, content_at = _content_length_at(apdu, header_end)
        cur.take(
            content_at - cur.pos, "general-ciphering header", "transaction id, titles, date-time, key info"
        )
    content = cur.length("length")
    sc = envelope.security_control
    cur.take(1, "security control", _sc_text(sc), sc.to_byte())
    cur.uint(4, "invocation counter")
    if sc.authenticated and len(envelope.payload) >= 12:
        body = len(envelope.payload) - 12
        cur.take(body, "ciphertext" if sc.encrypted else "plaintext", f"{body} bytes")
        cur.take(12, "authentication tag", "GMAC, 12 bytes")
    else:
        cur.take(cur.rest(), "ciphertext" if sc.encrypted else "payload", f"{len(envelope.payload)} bytes")
    del content
    keys = ctx.keys
    if keys.key is None:
        parent.add(Node("deciphered", None, b"", "not deciphered: no key given"))
        return
    title = envelope.system_title
    if title is None:
        side = "client" if apdu[0] in _CLIENT_TAGS else "server"
        title = ctx.titles.get(side) or keys.system_title
    if title is None:
        raise LocalProtocolError(f"the {name} APDU carries no system title: give the sender's system title")
    if sc.authenticated and keys.verify and keys.auth_key is None:
        raise LocalProtocolError(
            "the APDU is authenticated: give the authentication key, or do not verify the tag (--no-verify)"
        )
    _, plain = unprotect(
        apdu,
        key=keys.key,
        auth_key=keys.auth_key,
        system_title=title,
        verify=keys.verify,
        broadcast_key=keys.broadcast_key,
    )
    checked = (
        "tag verified"
        if sc.authenticated and keys.verify
        else "tag not checked"
        if sc.authenticated
        else "no tag"
    )
    node = parent.add(
        Node(
            "deciphered APDU",
            None,
            plain,
            f"system title {title.hex()}, {checked}",
            type="apdu",
            space="deciphered APDU",
        )
    )
    _apdu_into(ctx, node, plain, 0, "deciphered APDU: ")


def _content_length_at(apdu: bytes, guess: int) -> tuple[int, int]:
    """The start of the content length field of general-ciphering (it precedes SC)."""
    for size in (1, 2, 3, 4, 5):
        at = guess - size + 1
        if at <= 0:
            break
        try:
            length, end = decode_length(apdu, at)
        except MalformedDataError:
            continue
        if end + length == len(apdu):
            return length, at
    raise MalformedDataError("general-ciphering content length not found", data=apdu, offset=guess)


def _sc_text(sc: SecurityControl) -> str:
    parts = [f"suite {sc.suite}"]
    parts.append("authenticated" if sc.authenticated else "not authenticated")
    parts.append("encrypted" if sc.encrypted else "not encrypted")
    parts.append("broadcast key" if sc.broadcast_key else "unicast key")
    if sc.compressed:
        parts.append("compressed")
    return ", ".join(parts)


# ================================================================================================
# A-XDR data
# ================================================================================================
_TYPE_NAMES: Final = {int(tag): tag.name.lower().replace("_", "-") for tag in axdr.DataTag}


def _data(parent: Node, buf: bytes, pos: int, base: int, name: str, depth: int = 0) -> int:
    """Annotate the Data at ``pos`` as a child of ``parent``; returns the offset after it."""
    if pos >= len(buf):
        raise MalformedDataError(f"{name}: data missing", data=buf, offset=pos)
    if depth > axdr.MAX_DEPTH:
        raise MalformedDataError(f"data nested deeper than {axdr.MAX_DEPTH}", data=buf, offset=pos)
    tag = buf[pos]
    type_name = _TYPE_NAMES.get(tag)
    if type_name is None:
        raise MalformedDataError(f"{name}: unknown A-XDR tag {tag:#04x}", data=buf, offset=pos)
    if tag in (axdr.DataTag.ARRAY, axdr.DataTag.STRUCTURE):
        count, at = decode_length(buf, pos + 1)
        node = parent.add(Node(name, base + pos, b"", f"{type_name} of {count}", count, type_name))
        for index in range(count):
            at = _data(node, buf, at, base, f"[{index}]", depth + 1)
        node.raw = buf[pos:at]
        if tag == axdr.DataTag.STRUCTURE:
            hint = _structure_hint(node)
            if hint:
                node.text += f" ({hint})"
        return at
    value, end = axdr.decode_from(buf, pos)
    text, json_value = _value_text(value)
    parent.add(Node(name, base + pos, buf[pos:end], f"{type_name} {text}".rstrip(), json_value, type_name))
    return end


def _structure_hint(node: Node) -> str:
    kids = node.children
    if len(kids) == 2 and kids[0].type == "integer" and kids[1].type == "enum":
        assert isinstance(kids[0].value, int) and isinstance(kids[1].value, int)
        return f"scaler/unit: 10^{kids[0].value} {unit_symbol(kids[1].value) or '(no unit)'}".rstrip()
    if kids and kids[0].type == "octet-string" and len(kids[0].raw) == 8 and kids[0].raw[1] == 6:
        return f"OBIS {'.'.join(str(b) for b in kids[0].raw[2:])}"
    return ""


def _value_text(value: object) -> tuple[str, JsonValue]:
    if value is None:
        return "", None
    if isinstance(value, bool):
        return ("true" if value else "false"), value
    if isinstance(value, int):
        return str(int(value)), int(value)
    if isinstance(value, bytes):
        return _octets_text(value)
    if isinstance(value, str):
        return repr(str(value)), str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(float(value)), float(value)
        return repr(float(value)), repr(float(value))
    if isinstance(value, CosemDateTime | CosemDate | CosemTime):
        return _cosem_time_text(value)
    if isinstance(value, axdr.BitString):
        return f"{value.bits} bits {value}", str(value)
    if isinstance(value, axdr.CompactArray):
        return f"{len(value)} rows", _json(list(value))
    return repr(value), _json(value)


def _octets_text(value: bytes) -> tuple[str, JsonValue]:
    text = value.hex()
    notes = []
    if len(value) == 6:
        notes.append(f"OBIS {'.'.join(str(b) for b in value)}")
    if len(value) == 12:
        stamp, _ = _stamp_text(value)
        if not stamp.startswith("date-time with"):
            notes.append(stamp)
    if value and all(0x20 <= b < 0x7F for b in value) and len(value) != 6:
        notes.append(repr(value.decode("ascii")))
    return text + (f" ({'; '.join(notes)})" if notes else ""), text


def _stamp_text(stamp: bytes) -> tuple[str, JsonValue]:
    """A 12-byte COSEM date-time as text (ISO when it is one point in time)."""
    if len(stamp) != 12:
        return f"{len(stamp)} bytes {stamp.hex()}", stamp.hex()
    return _cosem_time_text(CosemDateTime.from_bytes(stamp))


def _cosem_time_text(value: CosemDateTime | CosemDate | CosemTime) -> tuple[str, JsonValue]:
    try:
        if isinstance(value, CosemDateTime):
            iso = value.to_datetime().isoformat()
        elif isinstance(value, CosemDate):
            iso = value.to_date().isoformat()
        else:
            iso = value.to_time().isoformat()
    except (MeterlinkError, ValueError, OverflowError):
        return f"date-time with wildcards {value!r}", repr(value)
    extra = ""
    if isinstance(value, CosemDateTime):
        if value.deviation is None:
            extra = " (no deviation)"
        if value.clock_status:
            status = value.clock_status
            flags = [str(f.name).lower().replace("_", " ") for f in ClockStatus if f in status]
            extra += f" (clock status {int(status):#04x}: {', '.join(flags)})"
    return iso + extra, iso


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, Obis):
        return value.dotted if value.is_complete else value.canonical
    if isinstance(value, CosemDateTime | CosemDate | CosemTime):
        return _cosem_time_text(value)[1]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _json(getattr(value, item.name)) for item in dataclasses.fields(value)}
    return repr(value)


# ================================================================================================
# IEC 62056-21
# ================================================================================================
def _decode_iec(ctx: _Context, data: bytes) -> Node:
    from meterlink.iec62056_21.messages import (
        Ack,
        CommandMessage,
        DataMessage,
        Identification,
        Nak,
        OptionSelect,
        RequestMessage,
    )
    from meterlink.iec62056_21.readout import parse_data_block, parse_readout

    root = Node("iec62056-21", 0, data, type="capture")
    first = data[:1]
    if first == b"/" and data[1:2] in (b"?", b"2", b"3", b"4", b"#") and data.endswith(b"!\r\n"):
        request = RequestMessage.from_bytes(data)
        root.text = "request message"
        root.add(Node("command", 1, data[1:2], request.command, request.command))
        root.add(Node("device address", 2, data[2:-3], request.address or "(any meter)", request.address))
        return root
    if first == b"/" and b"\x02" not in data:
        ident = Identification.from_bytes(data)
        root.text = "identification message"
        root.add(Node("manufacturer", 1, data[1:4], ident.manufacturer, ident.manufacturer))
        root.add(
            Node(
                "baud character",
                4,
                data[4:5],
                f"{ident.baud_char}: mode {ident.mode.value}, {ident.baud_rate} Bd",
                ident.baud_rate,
            )
        )
        root.add(Node("identification", None, ident.ident.encode("latin-1"), repr(ident.ident), ident.ident))
        if ident.mode_e_capable:
            root.add(Node("mode E", None, b"", "the meter offers HDLC (mode E)"))
        return root
    if first == b"/":
        readout = parse_readout(data)
        root.text = "readout"
        found = readout.identification
        if found is not None:
            root.add(Node("identification", 0, b"", f"/{found.text}", found.text))
        _data_sets(root, data, data.find(b"\x02") + 1, readout.data_sets)
        bcc = {True: "valid", False: "wrong", None: "absent"}[readout.bcc_valid]
        root.add(Node("BCC", None, b"", bcc, readout.bcc_valid))
        return root
    if first == b"\x06":
        if len(data) == 1:
            Ack.from_bytes(data)
            root.text = "ACK"
            return root
        option = OptionSelect.from_bytes(data)
        root.text = "option select (acknowledgement)"
        root.add(Node("protocol control", 1, data[1:2], option.protocol, option.protocol))
        root.add(
            Node(
                "baud character",
                2,
                data[2:3],
                f"{option.baud_char} ({option.baud_rate} Bd)",
                option.baud_rate,
            )
        )
        root.add(Node("mode control", 3, data[3:4], option.mode, option.mode))
        return root
    if first == b"\x15":
        Nak.from_bytes(data)
        root.text = "NAK (repeat please)"
        return root
    if first == b"\x01":
        command = CommandMessage.from_bytes(data)
        root.text = f"command message {command.name}"
        root.add(Node("command", 1, data[1:3], command.name, command.name))
        if command.data is not None:
            root.add(Node("data set", 4, data[4:-2], command.data, command.data))
        root.add(Node("BCC", len(data) - 1, data[-1:], "valid", True))
        return root
    if first == b"\x02":
        message = DataMessage.from_bytes(data)
        root.text = "data message" + (" (partial block)" if message.partial else "")
        _data_sets(root, data, 1, parse_data_block(message.data))
        root.add(Node("BCC", len(data) - 1, data[-1:], "valid", True))
        return root
    raise MalformedDataError("not an IEC 62056-21 message", data=data, offset=0)


def _data_sets(root: Node, data: bytes, start: int, data_sets: Any) -> None:
    text = data.decode("latin-1")
    pos = max(start, 0)
    for data_set in data_sets:
        raw = data_set.raw
        at = text.find(raw, pos) if raw else -1
        if at >= 0:
            pos = at + len(raw)
        obis = data_set.obis
        values = [(v.value, v.unit) for v in data_set.values]
        shown = ", ".join(f"{v}{' ' + u if u else ''}" for v, u in values)
        label = data_set.address + (f" (OBIS {obis.canonical})" if obis is not None else "")
        root.add(
            Node(
                "data set",
                at if at >= 0 else None,
                raw.encode("latin-1"),
                f"{label} = {shown}" if values else label,
                {"address": data_set.address, "values": [{"value": v, "unit": u} for v, u in values]},
            )
        )


_LAYERS: Final[dict[str, Callable[[_Context, bytes], Node]]] = {
    "hdlc": _decode_hdlc,
    "mbus": _decode_mbus,
    "wrapper": _decode_wrapper,
    "llc": _decode_llc,
    "iec62056-21": _decode_iec,
    "apdu": _decode_apdu_layer,
    "axdr": _decode_axdr_layer,
}
