"""Receive DLMS pushes (DataNotification) from meters: a sans-io core and blocking/asyncio fronts.

:class:`PushListener` is the core: bytes in (``receive_data`` for streams, ``receive_datagram``
for UDP, ``receive_apdu`` for whole APDUs), events out (:class:`Push`, :class:`EventNotice` for an
event-notification-request - one attribute with its descriptor and value - or :class:`PushFailed`).
Under it run the link layers the meters use:

* ``hdlc`` - HDLC frames on a serial HAN/P1 port or a raw TCP stream: UI or I frames, segments
  (S bit) joined per sender, LLC header dropped;
* ``wrapper`` - IEC 62056-47 PDUs on a TCP stream;
* ``datagram`` - UDP: each datagram a wrapper PDU, or a bare APDU when it is not one;
* ``mbus`` - wired M-Bus long frames with DLMS segmentation (:mod:`meterlink.mbus`);
* ``auto`` - a stream decides by its first byte: ``00`` wrapper, ``68`` M-Bus, else HDLC.

Above the link: general-block-transfer blocks are joined per sender, ciphered APDUs deciphered
(with or without verifying the tag, the latter an explicit opt-in for meters whose authentication
key is not handed out), invocation counters checked per system title, and the body decoded. A
:class:`Push` carries the meter's system title, the invoke id, the date-time, the decoded body
and best-effort :class:`Reading` triples found in the layouts of real pushes:

* structures ``{OBIS, value[, scaler_unit]}`` and flat ``OBIS, value[, scaler_unit]`` runs
  (Norwegian/Swedish/Austrian lists: Aidon, Kamstrup, Kaifa);
* IDIS pushes whose first element lists the capture objects (L+G E450);
* flat values matched with ``obis_codes`` given by the caller (Kaifa positional lists);
* a DSMR telegram as the plaintext of general-glo-ciphering, or as the body's string (Sagemcom
  T210-D), parsed with :mod:`meterlink.iec62056_21.readout`.

A bad push never stops the listener: it becomes a :class:`PushFailed` event (and the fronts hand
it to ``on_error``) and the next one is processed.

Fronts: :func:`listen` (blocking iterator), :func:`alisten` (async iterator) and
:class:`Listening` (a context manager that knows the bound address). URLs:

==========================================  ====================================================
``udp://0.0.0.0:4059``                      bind, receive datagrams (wrapper PDUs or bare APDUs)
``tcp://host:port``                         connect to a meter or converter, read its stream
``tcp-listen://0.0.0.0:4059``               accept connections, one stream each
``serial:///dev/ttyUSB0?baud=2400``         HDLC on a serial port, 8N1 (``parity=E`` for 8E1)
``mbus:///dev/ttyUSB0?baud=2400``           wired M-Bus long frames on a serial port, 8E1
==========================================  ====================================================

Query keys: ``baud`` (serial, default 2400), ``parity`` (``N``/``E``), ``framing`` (``auto``,
``hdlc``, ``wrapper``, ``mbus``; streams only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import selectors
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.dlms import axdr
from meterlink.dlms.apdu import (
    CIPHERED_TAGS,
    CosemAttributeDescriptor,
    DataNotification,
    EventNotificationRequest,
    GeneralBlockTransfer,
    decode_apdu,
)
from meterlink.dlms.cosem.quantity import Quantity
from meterlink.dlms.cosem.units import unit_symbol
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.security import InvocationCounters, parse_ciphered, unprotect
from meterlink.dlms.wrapper import HEADER_SIZE, WRAPPER_VERSION, WrapperFramer, decode_datagram
from meterlink.errors import (
    LinkError,
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    SecurityError,
    UnexpectedMessageError,
)
from meterlink.hdlc.framer import BadFrame, Framer
from meterlink.hdlc.frames import FrameKind
from meterlink.iec62056_21.readout import Readout, parse_readout
from meterlink.mbus import BadMbusFrame, MbusReceiver
from meterlink.obis import Obis

__all__ = [
    "LINKS",
    "EventNotice",
    "ListenSpec",
    "Listening",
    "Notice",
    "Push",
    "PushFailed",
    "PushListener",
    "Reading",
    "alisten",
    "extract_readings",
    "listen",
    "parse_listen_url",
]

LINKS: Final = ("auto", "hdlc", "wrapper", "mbus", "datagram", "apdu")
_LLC: Final = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")
_MAX_APDU: Final = 1 << 16
"""A reassembly (HDLC segments, GBT blocks) that grows past this is dropped."""


# ================================================================================================
# what comes out
# ================================================================================================
class Reading(NamedTuple):
    """One value of a push: ``(obis, value, unit)``; ``attribute`` is 2 unless the push said else.

    ``value`` is an ``int`` (or ``Decimal`` once a negative scaler applied), ``str`` (visible or
    printable octet strings), ``datetime`` (12-byte date-times), ``bytes`` or ``None``.
    """

    obis: Obis
    value: Any
    unit: str | None = None
    attribute: int = 2


@dataclass(frozen=True, slots=True)
class Push:
    """One push, deciphered and decoded."""

    invoke_id: int
    date_time: dt.datetime | CosemDateTime | None
    """The notification header's date-time: a ``datetime`` when it is one, else as sent."""
    body: axdr.DataValue
    readings: tuple[Reading, ...]
    system_title: bytes | None = None
    invocation_counter: int | None = None
    security_control: int | None = None
    """The SC byte when the push came ciphered, ``None`` when it came in plain."""
    apdu: bytes = b""
    """The plain APDU (after deciphering and joining blocks)."""
    source: str | None = None
    dsmr: Readout | None = None
    """The DSMR telegram, when the push carried one."""

    @property
    def ciphered(self) -> bool:
        return self.security_control is not None

    def reading(self, obis: Obis | str) -> Reading | None:
        """The first reading of ``obis`` (attribute 2 first), or ``None``."""
        code = obis if isinstance(obis, Obis) else Obis.parse(obis)
        found = [r for r in self.readings if r.obis == code]
        found.sort(key=lambda r: r.attribute != 2)
        return found[0] if found else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``meterlink listen --json`` prints one per line)."""
        stamp = self.date_time
        return {
            "source": self.source,
            "system_title": None if self.system_title is None else self.system_title.hex(),
            "invoke_id": self.invoke_id,
            "date_time": stamp.isoformat()
            if isinstance(stamp, dt.datetime)
            else None
            if stamp is None
            else repr(stamp),
            "ciphered": self.ciphered,
            "security_control": self.security_control,
            "invocation_counter": self.invocation_counter,
            "readings": [
                {
                    "obis": r.obis.dotted,
                    "attribute": r.attribute,
                    "value": _json_value(r.value),
                    "unit": r.unit,
                }
                for r in self.readings
            ],
            "apdu": self.apdu.hex(),
        }


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(value)


@dataclass(frozen=True, slots=True)
class EventNotice:
    """An event-notification-request (C2): the meter reports one attribute's value, unasked.

    ``attribute`` names it (class id, OBIS, attribute id), ``value`` is the decoded A-XDR;
    ``readings``/``reading()`` show it as a :class:`Reading`, as a :class:`Push` shows its values.
    """

    attribute: CosemAttributeDescriptor
    value: axdr.DataValue
    date_time: dt.datetime | CosemDateTime | None
    """The optional time of the notification: a ``datetime`` when it is one, else as sent."""
    system_title: bytes | None = None
    invocation_counter: int | None = None
    security_control: int | None = None
    apdu: bytes = b""
    source: str | None = None

    @property
    def ciphered(self) -> bool:
        return self.security_control is not None

    @property
    def readings(self) -> tuple[Reading, ...]:
        """The notified attribute as the one reading (its value raw: no scaler travels with it)."""
        a = self.attribute
        return (Reading(a.instance, _plain(self.value), None, a.attribute_id),)

    def reading(self, obis: Obis | str) -> Reading | None:
        """As :meth:`Push.reading`: the notified attribute's reading when it is ``obis``."""
        code = obis if isinstance(obis, Obis) else Obis.parse(obis)
        return self.readings[0] if self.attribute.instance == code else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, shaped like :meth:`Push.to_dict` (``kind`` tells them apart)."""
        stamp = self.date_time
        a = self.attribute
        return {
            "kind": "event-notification",
            "source": self.source,
            "system_title": None if self.system_title is None else self.system_title.hex(),
            "date_time": stamp.isoformat()
            if isinstance(stamp, dt.datetime)
            else None
            if stamp is None
            else repr(stamp),
            "ciphered": self.ciphered,
            "security_control": self.security_control,
            "invocation_counter": self.invocation_counter,
            "class_id": a.class_id,
            "obis": a.instance.dotted,
            "attribute": a.attribute_id,
            "value": _json_value(_plain(self.value)),
            "apdu": self.apdu.hex(),
        }


@dataclass(frozen=True, slots=True)
class PushFailed:
    """A push (or what looked like one) that could not be used; the listener went on."""

    error: MeterlinkError
    source: str | None = None


Event = Push | EventNotice | PushFailed
Notice = Push | EventNotice
"""What the listening fronts yield."""


# ================================================================================================
# readings
# ================================================================================================
def _is_obis(value: object) -> bool:
    return type(value) is bytes and len(value) == 6


def _scaler_unit(value: object) -> tuple[int, int] | None:
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], axdr.Integer)
        and isinstance(value[1], axdr.Enum)
    ):
        return int(value[0]), int(value[1])
    return None


def _plain(value: object) -> Any:
    """A decoded A-XDR value as a reading value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        if len(value) == 12:
            stamp = _datetime_of(value)
            if stamp is not None:
                return stamp
        if value and all(0x20 <= b < 0x7F for b in value):
            return value.decode("ascii")
        return value
    if isinstance(value, CosemDateTime):
        try:
            return value.to_datetime()
        except (MeterlinkError, ValueError, OverflowError):
            return value
    if isinstance(value, str):
        return str(value)
    return value


def _stamp(raw: bytes | None) -> dt.datetime | CosemDateTime | None:
    """A notification's 12-byte date-time as a ``datetime`` when it is one (else as sent)."""
    if raw is None or len(raw) != 12:
        return None
    value = CosemDateTime.from_bytes(raw)
    try:
        return value.to_datetime()
    except (MeterlinkError, ValueError, OverflowError):
        return value


def _datetime_of(raw: bytes) -> dt.datetime | None:
    try:
        return CosemDateTime.from_bytes(raw).to_datetime()
    except (MeterlinkError, ValueError, OverflowError):
        return None


def _reading(obis: bytes, value: object, scaler_unit: tuple[int, int] | None, attribute: int = 2) -> Reading:
    code = Obis.from_bytes(obis)
    if scaler_unit is not None and isinstance(value, int) and not isinstance(value, bool):
        scaler, unit = scaler_unit
        quantity = Quantity(int(value), scaler, unit)
        number: Any = quantity.value if scaler < 0 else int(value) * 10**scaler
        return Reading(code, number, unit_symbol(unit) or None, attribute)
    return Reading(code, _plain(value), None, attribute)


def _is_capture_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(d, tuple) and len(d) == 4 and _is_obis(d[1]) and isinstance(d[2], int) for d in value
        )
    )


def extract_readings(
    body: axdr.DataValue, obis_codes: Sequence[Obis | str | None] | None = None
) -> tuple[Reading, ...]:
    """Best-effort ``(obis, value, unit)`` readings of a push body (see the module docstring).

    With ``obis_codes`` the body's top-level items (or, for a one-element wrapper structure,
    its items) are matched in order with the codes given; ``None`` skips an item.
    """
    if obis_codes is not None:
        items = body
        if isinstance(items, list | tuple) and len(items) == 1 and isinstance(items[0], list | tuple):
            items = items[0]
        if not isinstance(items, list | tuple):
            items = [items]
        out = []
        for code, value in zip(obis_codes, items, strict=False):
            if code is None:
                continue
            obis = code if isinstance(code, Obis) else Obis.parse(code)
            out.append(Reading(obis, _plain(value), None))
        return tuple(out)
    found: list[Reading] = []
    if isinstance(body, list | tuple) and body and _is_capture_list(body[0]):
        definitions: list[Any] = list(body[0])  # type: ignore[arg-type]  # checked by _is_capture_list
        for definition, value in zip(definitions, body, strict=False):
            if int(definition[0]) == 40:  # the push setup's own object list: element 0
                continue
            found.append(_reading(definition[1], value, None, int(definition[2])))
        return tuple(found)
    _walk(body, found, 0)
    return tuple(found)


def _walk(node: object, found: list[Reading], depth: int) -> None:
    if not isinstance(node, list | tuple) or depth > axdr.MAX_DEPTH:
        return
    if isinstance(node, tuple) and 2 <= len(node) <= 3 and _is_obis(node[0]) and not _is_obis(node[1]):
        scaler = _scaler_unit(node[2]) if len(node) == 3 else None
        if len(node) == 2 or scaler is not None:
            found.append(_reading(node[0], node[1], scaler))
            return
    i = 0
    while i < len(node):
        item = node[i]
        if _is_obis(item) and i + 1 < len(node) and not _is_obis(node[i + 1]):
            value = node[i + 1]
            scaler = _scaler_unit(node[i + 2]) if i + 2 < len(node) else None
            if not isinstance(value, list | tuple) or _scaler_unit(value) is None:
                found.append(_reading(item, value, scaler))
                i += 3 if scaler is not None else 2
                continue
        _walk(item, found, depth + 1)
        i += 1


def _dsmr_readings(readout: Readout) -> tuple[Reading, ...]:
    out = []
    for data_set in readout.data_sets:
        obis = data_set.obis
        if obis is None or not data_set.values:
            continue
        value = data_set.values[0]
        number = value.number()
        full = obis if obis.is_complete else obis.complete()
        out.append(Reading(full, number if number is not None else value.value, value.effective_unit))
    return tuple(out)


# ================================================================================================
# the sans-io core
# ================================================================================================
class _Stream:
    """Link state of one sender (a serial line, a TCP connection, a UDP peer)."""

    __slots__ = ("blocks", "hdlc", "kind", "mbus", "segments", "wrapper")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.hdlc: Framer | None = None
        self.wrapper: WrapperFramer | None = None
        self.mbus: MbusReceiver | None = None
        self.segments: dict[bytes, bytearray] = {}
        """HDLC segments being joined, per source address."""
        self.blocks: list[GeneralBlockTransfer] = []


class PushListener:
    """Bytes from meters in, :class:`Push` / :class:`EventNotice` / :class:`PushFailed` events out; no I/O.

    ``key``/``auth_key`` decipher (``verify=False`` skips the tag check and needs no AK);
    ``system_title`` is used for envelopes that carry none. ``link`` is the framing of streams
    (:data:`LINKS`); ``obis_codes`` names the values of positional pushes. ``check_counters``
    refuses an invocation counter not above the last one from the same system title.

    With ``verify=False`` nothing proves a push came from the meter, and its invocation counter is
    still taken as the newest: a forged push with a high counter would make the real ones look
    like replays. Keep ``check_counters`` off, or verify, where the line is not trusted.
    """

    def __init__(
        self,
        *,
        key: bytes | None = None,
        auth_key: bytes | None = None,
        system_title: bytes | None = None,
        verify: bool = True,
        broadcast_key: bytes | None = None,
        link: str = "auto",
        obis_codes: Sequence[Obis | str | None] | None = None,
        check_counters: bool = True,
    ) -> None:
        if link not in LINKS:
            raise LocalProtocolError(f"unknown link {link!r}; one of {', '.join(LINKS)}")
        for name, value in (("key", key), ("auth_key", auth_key), ("broadcast_key", broadcast_key)):
            if value is not None and len(value) not in (16, 32):
                raise LocalProtocolError(f"{name} must be 16 or 32 bytes, got {len(value)}")
        if system_title is not None and len(system_title) != 8:
            raise LocalProtocolError(f"a system title is 8 bytes, got {len(system_title)}")
        self.key = key
        self.auth_key = auth_key
        self.system_title = system_title
        self.verify = verify
        self.broadcast_key = broadcast_key
        self.link = link
        self.obis_codes = (
            None
            if obis_codes is None
            else [c if c is None or isinstance(c, Obis) else Obis.parse(c) for c in obis_codes]
        )
        self.check_counters = check_counters
        self.counters = InvocationCounters()
        """Last invocation counter accepted per system title (``counters.to_dict()`` to persist)."""
        self.pushes = 0
        self.failures = 0
        self._streams: dict[str | None, _Stream] = {}
        self._events: deque[Event] = deque()

    # -- input ---------------------------------------------------------------------------------
    def receive_data(self, data: bytes, source: str | None = None) -> None:
        """Bytes of a stream (serial line, TCP connection); ``source`` keeps streams apart."""
        if not data:
            return
        stream = self._streams.get(source)
        if stream is None:
            stream = self._streams[source] = _Stream(self._stream_kind(data))
        if stream.kind == "datagram":
            self.receive_datagram(data, source)
        elif stream.kind == "apdu":
            self.receive_apdu(data, source)
        elif stream.kind == "wrapper":
            self._wrapper(stream, data, source)
        elif stream.kind == "mbus":
            self._mbus(stream, data, source)
        else:
            self._hdlc(stream, data, source)

    def receive_datagram(self, data: bytes, source: str | None = None) -> None:
        """One UDP datagram: a wrapper PDU when it is one, else a bare APDU (LLC allowed)."""
        data = bytes(data)
        if (
            len(data) > HEADER_SIZE
            and int.from_bytes(data[:2], "big") == WRAPPER_VERSION
            and int.from_bytes(data[6:8], "big") == len(data) - HEADER_SIZE
        ):
            try:
                pdu = decode_datagram(data)
            except MeterlinkError as exc:  # pragma: no cover - checked just above
                self._fail(exc, source)
                return
            self.receive_apdu(pdu.apdu, source)
            return
        self.receive_apdu(data, source)

    def receive_apdu(self, apdu: bytes, source: str | None = None) -> None:
        """One whole APDU (an LLC header in front is dropped)."""
        try:
            self._apdu(bytes(apdu), source, 0)
        except MeterlinkError as exc:
            self._fail(exc, source)

    def forget(self, source: str | None) -> None:
        """The stream of ``source`` ended (connection closed): drop its half-received data."""
        self._streams.pop(source, None)

    # -- output --------------------------------------------------------------------------------
    def next_event(self) -> Event | NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[Event]:
        out = list(self._events)
        self._events.clear()
        return out

    # -- links ---------------------------------------------------------------------------------
    def _stream_kind(self, first: bytes) -> str:
        if self.link != "auto":
            return self.link
        if first[0] == 0x00:
            return "wrapper"
        if first[0] == 0x68:
            return "mbus"
        return "hdlc"

    def _fail(self, error: MeterlinkError, source: str | None) -> None:
        self.failures += 1
        self._events.append(PushFailed(error, source))

    def _hdlc(self, stream: _Stream, data: bytes, source: str | None) -> None:
        if stream.hdlc is None:
            stream.hdlc = Framer(drop_echo=False)
        framer = stream.hdlc
        framer.feed(data)
        for item in framer:
            if isinstance(item, BadFrame):
                self._fail(item.error, source)
                continue
            if item.kind not in (FrameKind.I, FrameKind.UI) or not item.info:
                continue
            sender = item.source.encoded
            pending = stream.segments.get(sender)
            if pending is None:
                if not item.segmented:
                    self.receive_apdu(item.info, source)
                    continue
                pending = stream.segments[sender] = bytearray()
            pending += item.info
            if len(pending) > _MAX_APDU:
                del stream.segments[sender]
                self._fail(
                    MalformedDataError("HDLC segments grew past 64 KiB", data=bytes(pending[:64])), source
                )
                continue
            if not item.segmented:
                del stream.segments[sender]
                self.receive_apdu(bytes(pending), source)

    def _wrapper(self, stream: _Stream, data: bytes, source: str | None) -> None:
        if stream.wrapper is None:
            stream.wrapper = WrapperFramer()
        framer = stream.wrapper
        framer.feed(data)
        while True:
            try:
                pdu = framer.next_pdu()
            except MeterlinkError as exc:  # the framer cleared itself: start over with what comes next
                self._fail(exc, source)
                return
            if isinstance(pdu, NeedData):
                return
            self.receive_apdu(pdu.apdu, source)

    def _mbus(self, stream: _Stream, data: bytes, source: str | None) -> None:
        if stream.mbus is None:
            stream.mbus = MbusReceiver()
        receiver = stream.mbus
        receiver.feed(data)
        while True:
            item = receiver.next_event()
            if isinstance(item, NeedData):
                return
            if isinstance(item, BadMbusFrame):
                self._fail(item.error, source)
                continue
            self.receive_apdu(item, source)

    # -- APDUs ---------------------------------------------------------------------------------
    def _apdu(
        self,
        apdu: bytes,
        source: str | None,
        depth: int,
        envelope: tuple[bytes, int, int] | None = None,
    ) -> None:
        if apdu[:3] in _LLC:
            apdu = apdu[3:]
        if not apdu:
            raise MalformedDataError("an empty APDU", data=apdu, offset=0)
        if depth > 3:
            raise MalformedDataError(
                "APDU nested too deeply (ciphering / block transfer)", data=apdu[:64], offset=0
            )
        tag = apdu[0]
        if tag in CIPHERED_TAGS:
            sender, ic, sc_byte, plain = self._decipher(apdu)
            self._apdu(plain, source, depth + 1, (sender, ic, sc_byte))
            return
        if tag == 0xE0:
            whole = self._block(apdu, source)
            if whole is not None:
                self._apdu(whole, source, depth + 1, envelope)
            return
        title: bytes | None = None
        counter: int | None = None
        sc: int | None = None
        if envelope is not None:
            title, counter, sc = envelope
        if tag == 0x2F:  # '/': a DSMR telegram as the plaintext (Sagemcom T210-D)
            telegram = parse_readout(apdu, strict=False)
            text = apdu.decode("latin-1")
            self._push(
                Push(0, None, text, _dsmr_readings(telegram), title, counter, sc, apdu, source, telegram)
            )
            return
        decoded = decode_apdu(apdu)
        if isinstance(decoded, EventNotificationRequest):
            notice = EventNotice(
                decoded.attribute, decoded.value, _stamp(decoded.time), title, counter, sc, apdu, source
            )
            self.pushes += 1
            self._events.append(notice)
            return
        if not isinstance(decoded, DataNotification):
            raise UnexpectedMessageError(f"{type(decoded).__name__} is not a push", data=apdu, offset=0)
        body = decoded.value
        stamp = _stamp(decoded.date_time)
        readout: Readout | None = None
        raw_text = (
            body.encode("latin-1", "replace")  # a utf8-string may hold any character
            if isinstance(body, str)
            else body
            if isinstance(body, bytes)
            else b""
        )
        if raw_text[:1] == b"/":
            readout = parse_readout(raw_text, strict=False)
            readings = _dsmr_readings(readout)
        else:
            readings = extract_readings(body, self.obis_codes)
        self._push(
            Push(
                decoded.invoke_id.invoke_id, stamp, body, readings, title, counter, sc, apdu, source, readout
            )
        )

    def _push(self, push: Push) -> None:
        self.pushes += 1
        self._events.append(push)

    def _decipher(self, apdu: bytes) -> tuple[bytes, int, int, bytes]:
        envelope = parse_ciphered(apdu)
        if self.key is None:
            raise SecurityError(
                f"a ciphered push ({envelope.kind.value}, SC {envelope.security_control.to_byte():#04x}) "
                "but no key was given",
                data=apdu[:64],
                offset=0,
            )
        title = envelope.system_title or self.system_title
        if title is None:
            raise SecurityError(
                "the ciphered push carries no system title: give the meter's system title",
                data=apdu[:64],
                offset=0,
            )
        sc = envelope.security_control
        if sc.authenticated and self.verify and self.auth_key is None:
            raise SecurityError(
                "the push is authenticated: give the authentication key or opt out of verifying",
                data=apdu[:64],
                offset=0,
            )
        _, plain = unprotect(
            apdu,
            key=self.key,
            auth_key=self.auth_key,
            system_title=title,
            verify=self.verify,
            broadcast_key=self.broadcast_key,
        )
        if self.check_counters:
            self.counters.accept(title.hex(), envelope.invocation_counter)
        return title, envelope.invocation_counter, sc.to_byte(), plain

    def _block(self, apdu: bytes, source: str | None) -> bytes | None:
        block = decode_apdu(apdu)
        assert isinstance(block, GeneralBlockTransfer)
        stream = self._streams.get(source)
        if stream is None:
            stream = self._streams[source] = _Stream(self.link if self.link != "auto" else "apdu")
        blocks = stream.blocks
        if block.block_number == 1 or not blocks:
            if blocks:
                stream.blocks = []
                self._fail(
                    MalformedDataError(
                        f"general-block-transfer blocks 1-{blocks[-1].block_number} never ended",
                        data=apdu,
                        offset=0,
                    ),
                    source,
                )
            if block.block_number != 1 and not block.last_block:
                raise MalformedDataError(
                    f"general-block-transfer block {block.block_number} without block 1", data=apdu, offset=2
                )
            stream.blocks = blocks = []
        elif block.block_number != blocks[-1].block_number + 1:
            stream.blocks = []
            raise MalformedDataError(
                f"general-block-transfer block {block.block_number} after {blocks[-1].block_number}",
                data=apdu,
                offset=2,
            )
        blocks.append(block)
        if sum(len(b.block_data) for b in blocks) > _MAX_APDU:
            stream.blocks = []
            raise MalformedDataError("general-block-transfer data grew past 64 KiB", data=apdu[:64], offset=0)
        if not block.last_block:
            return None
        stream.blocks = []
        return b"".join(b.block_data for b in blocks)


# ================================================================================================
# URLs and the I/O fronts
# ================================================================================================
@dataclass(frozen=True, slots=True)
class ListenSpec:
    """What a listen URL names."""

    scheme: str
    host: str = ""
    port: int = 0
    device: str = ""
    baud_rate: int = 2400
    parity: str = "N"
    framing: str = "auto"
    options: dict[str, str] = field(default_factory=dict)


_SCHEMES: Final = ("udp", "tcp", "tcp-listen", "serial", "mbus")


def parse_listen_url(url: str) -> ListenSpec:
    """Parse a listen URL (see the module docstring); :class:`LocalProtocolError` when wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise LocalProtocolError(f"listen URL {url!r}: scheme must be one of {', '.join(_SCHEMES)}")
    query = dict(parse_qsl(parts.query))
    known = {"baud", "parity", "framing"}
    unknown = set(query) - known
    if unknown:
        raise LocalProtocolError(f"listen URL {url!r}: unknown query keys {sorted(unknown)}")
    framing = query.get("framing", "mbus" if scheme == "mbus" else "datagram" if scheme == "udp" else "auto")
    if framing not in LINKS:
        raise LocalProtocolError(f"listen URL {url!r}: framing must be one of {', '.join(LINKS)}")
    if scheme in ("serial", "mbus"):
        device = (parts.netloc + parts.path) or ""
        if not device:
            raise LocalProtocolError(f"listen URL {url!r} names no serial device")
        try:
            baud = int(query.get("baud", "2400"))
        except ValueError:
            raise LocalProtocolError(f"listen URL {url!r}: baud must be a number") from None
        parity = query.get("parity", "E" if scheme == "mbus" else "N").upper()
        if parity not in ("N", "E") or baud <= 0:
            raise LocalProtocolError(f"listen URL {url!r}: parity is N or E, baud positive")
        return ListenSpec(scheme, device=device, baud_rate=baud, parity=parity, framing=framing)
    try:
        port = parts.port
    except ValueError:
        raise LocalProtocolError(f"listen URL {url!r}: bad port") from None
    if port is None or not parts.hostname:
        raise LocalProtocolError(f"listen URL {url!r} needs host:port")
    if scheme == "tcp" and port == 0:
        raise LocalProtocolError(f"listen URL {url!r}: cannot connect to port 0")
    return ListenSpec(scheme, host=parts.hostname, port=port, framing=framing)


class _Chunk(NamedTuple):
    source: str | None
    data: bytes
    """``b""``: the source closed."""


class Listening:
    """An open listen endpoint (socket or serial port) feeding a :class:`PushListener`.

    Use as a context manager; :attr:`address` is the bound ``(host, port)`` for ``udp`` and
    ``tcp-listen`` (useful with port 0). :meth:`pushes` yields pushes until ``count`` were
    seen, ``timeout`` seconds passed or the peer of a ``tcp://`` connection closed.
    """

    def __init__(self, url: str, listener: PushListener | None = None) -> None:
        self.spec = parse_listen_url(url)
        spec = self.spec
        self.listener = listener or PushListener(link=spec.framing)
        if listener is not None and spec.framing != "auto":
            self.listener.link = spec.framing
        self.address: tuple[str, int] | None = None
        self._selector = selectors.DefaultSelector()
        self._closed = False
        self._ended = False
        self._serial: Any = None
        self._socket: socket.socket | None = None
        try:
            self._open()
        except OSError as exc:
            if self._socket is not None:
                self._socket.close()
            if self._serial is not None:
                self._serial.close()
            self._selector.close()
            raise LinkError(f"cannot listen on {url}: {exc}") from exc

    def _open(self) -> None:
        spec = self.spec
        if spec.scheme == "udp":
            sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((spec.host, spec.port))
            sock.setblocking(False)
            self.address = sock.getsockname()[:2]
            self._selector.register(sock, selectors.EVENT_READ, "udp")
        elif spec.scheme == "tcp-listen":
            sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((spec.host, spec.port))
            sock.listen(8)
            sock.setblocking(False)
            self.address = sock.getsockname()[:2]
            self._selector.register(sock, selectors.EVENT_READ, "accept")
        elif spec.scheme == "tcp":
            sock = self._socket = socket.create_connection((spec.host, spec.port), timeout=5.0)
            sock.setblocking(False)
            self.address = sock.getpeername()[:2]
            self._selector.register(sock, selectors.EVENT_READ, f"tcp:{spec.host}:{spec.port}")
        else:
            import serial

            try:
                port = serial.serial_for_url(
                    spec.device,
                    baudrate=spec.baud_rate,
                    bytesize=serial.EIGHTBITS,
                    parity=serial.PARITY_EVEN if spec.parity == "E" else serial.PARITY_NONE,
                    stopbits=serial.STOPBITS_ONE,
                    timeout=0,
                )
            except (serial.SerialException, ValueError) as exc:
                raise OSError(str(exc)) from exc
            self._serial = port
            self._selector.register(port.fileno(), selectors.EVENT_READ, spec.device)

    # -- reading ------------------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[_Chunk]:
        """Wait at most ``timeout`` seconds for data; what arrived, per source."""
        if self._closed:
            raise LinkError("the listen endpoint is closed")
        out: list[_Chunk] = []
        try:
            ready = self._selector.select(max(0.0, timeout))
        except OSError as exc:  # pragma: no cover - the selector itself failed
            raise LinkError(f"waiting for data failed: {exc}") from exc
        for key, _ in ready:
            tag = key.data
            try:
                if tag == "udp":
                    assert self._socket is not None
                    while True:
                        try:
                            data, peer = self._socket.recvfrom(65535)
                        except BlockingIOError:
                            break
                        out.append(_Chunk(f"udp:{peer[0]}:{peer[1]}", data))
                elif tag == "accept":
                    assert self._socket is not None
                    conn, peer = self._socket.accept()
                    conn.setblocking(False)
                    self._selector.register(conn, selectors.EVENT_READ, f"tcp:{peer[0]}:{peer[1]}")
                elif self._serial is not None and tag == self.spec.device:
                    data = self._serial.read(65536)
                    if data:
                        out.append(_Chunk(tag, bytes(data)))
                else:
                    peer_socket = key.fileobj
                    assert isinstance(peer_socket, socket.socket)
                    try:
                        data = peer_socket.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._selector.unregister(peer_socket)
                        peer_socket.close()
                        if self.spec.scheme == "tcp":
                            self._ended = True
                    out.append(_Chunk(str(tag), data))
            except OSError as exc:
                raise LinkError(f"reading from {self.spec.scheme} failed: {exc}") from exc
        return out

    def feed(self, chunks: list[_Chunk]) -> list[Event]:
        """Hand polled data to the core; the events it produced."""
        core = self.listener
        for chunk in chunks:
            if not chunk.data:
                core.forget(chunk.source)
            elif self.spec.scheme == "udp":
                core.receive_datagram(chunk.data, chunk.source)
            else:
                core.receive_data(chunk.data, chunk.source)
        return core.events()

    @property
    def ended(self) -> bool:
        """A ``tcp://`` peer closed the connection: nothing more will come."""
        return self._ended

    def pushes(
        self,
        *,
        count: int | None = None,
        timeout: float | None = None,
        on_error: Callable[[PushFailed], None] | None = None,
    ) -> Iterator[Notice]:
        """Pushes (and event notifications) as they arrive; failures go to ``on_error`` and never
        stop the loop. ``count`` counts both."""
        end = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while count is None or seen < count:
            wait = 0.5 if end is None else min(0.5, end - time.monotonic())
            if wait <= 0 and end is not None:
                return
            for event in self.feed(self.poll(max(0.0, wait))):
                if isinstance(event, PushFailed):
                    if on_error is not None:
                        on_error(event)
                    continue
                yield event
                seen += 1
                if count is not None and seen >= count:
                    return
            if self._ended:
                return

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for key in list(self._selector.get_map().values()):
            obj = key.fileobj
            if isinstance(obj, socket.socket):
                obj.close()
        self._selector.close()
        if self._serial is not None:
            self._serial.close()

    def __enter__(self) -> Listening:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _core(
    url: str,
    key: bytes | None,
    auth_key: bytes | None,
    system_title: bytes | None,
    verify: bool,
    obis_codes: Sequence[Obis | str | None] | None,
) -> PushListener:
    return PushListener(
        key=key,
        auth_key=auth_key,
        system_title=system_title,
        verify=verify,
        link=parse_listen_url(url).framing,
        obis_codes=obis_codes,
    )


def listen(
    url: str,
    *,
    key: bytes | None = None,
    auth_key: bytes | None = None,
    system_title: bytes | None = None,
    verify: bool = True,
    obis_codes: Sequence[Obis | str | None] | None = None,
    count: int | None = None,
    timeout: float | None = None,
    on_error: Callable[[PushFailed], None] | None = None,
) -> Iterator[Notice]:
    """Blocking iterator over the pushes arriving at ``url``; stops after ``count`` pushes or
    ``timeout`` seconds (both optional). Failures go to ``on_error``."""
    core = _core(url, key, auth_key, system_title, verify, obis_codes)
    with Listening(url, core) as endpoint:
        yield from endpoint.pushes(count=count, timeout=timeout, on_error=on_error)


async def alisten(
    url: str,
    *,
    key: bytes | None = None,
    auth_key: bytes | None = None,
    system_title: bytes | None = None,
    verify: bool = True,
    obis_codes: Sequence[Obis | str | None] | None = None,
    count: int | None = None,
    timeout: float | None = None,
    on_error: Callable[[PushFailed], None] | None = None,
) -> AsyncIterator[Notice]:
    """The asyncio twin of :func:`listen`.

    The endpoint is polled in a worker thread in short slices (0.2 s), so the event loop stays
    free and cancelling the iteration takes effect within one slice.
    """
    core = _core(url, key, auth_key, system_title, verify, obis_codes)
    endpoint = await asyncio.to_thread(Listening, url, core)
    try:
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        seen = 0
        while count is None or seen < count:
            wait = 0.2 if end is None else min(0.2, end - loop.time())
            if wait <= 0:
                return
            chunks = await asyncio.to_thread(endpoint.poll, wait)
            for event in endpoint.feed(chunks):
                if isinstance(event, PushFailed):
                    if on_error is not None:
                        on_error(event)
                    continue
                yield event
                seen += 1
                if count is not None and seen >= count:
                    return
            if endpoint.ended:
                return
    finally:
        endpoint.close()
