"""Blocking and asyncio DLMS/COSEM clients: one driver (:mod:`._driver`), two ways to wait.

::

    with Client.tcp("10.0.0.5", 4059, auth="hls-gmac", key=EK, auth_key=AK) as meter:
        energy = meter.get("1.0.1.8.0.255")            # Quantity(raw, scaler, Wh)
        profile = meter.read_profile("1.0.99.1.0.255", start, end)

    async with AsyncClient.serial("/dev/ttyUSB0", mode_e=True) as meter:
        now = await meter.read_clock()

Links: the wrapper over TCP (default) or UDP, HDLC over TCP (``transport="hdlc"``), HDLC on a serial
port, directly at ``baud`` 8N1 or after an IEC 62056-21 mode E handshake on an optical head
(``mode_e=True``: :meth:`meterlink.iec62056_21.Client.binary` hands the switched line over).
URLs name the same: ``tcp://host:4059``, ``tcp://host:4059?transport=hdlc``, ``udp://host:4059``,
``serial:///dev/ttyUSB0?baud=9600``, ``mode-e:///dev/ttyUSB0`` (``?parity=sw7e1``: the sign-on in
software 7E1, for a pty or an adapter that cannot switch the character format).

Entering the ``with`` block opens the link (SNRM/UA over HDLC) and the association (AARQ/AARE,
then HLS pass 3/4 for the high-level mechanisms); leaving it releases (RLRQ/RLRE) and closes
the link (DISC), also after an error. Every wait is bounded by ``timeout`` (per response), HDLC
repeats unanswered frames within it, and a silent meter ends in
:class:`~meterlink.errors.ResponseTimeout`.

Values come back typed: A-XDR decoded, interpreted by the interface class (a Register's value as a
:class:`~meterlink.dlms.cosem.Quantity` with its scaler_unit read once and cached, a clock time
as :class:`~meterlink.dlms.cosem_time.CosemDateTime`, logical names as :class:`~meterlink.obis.Obis`).
A meter refusing one attribute raises :class:`DataAccessError`, a whole request
:class:`ServiceError`, an association :class:`AssociationRefusedError`; all are
:class:`~meterlink.errors.MeterReportedError`.

Pushes the meter sends on the open connection (DataNotification in HDLC UI frames or wrapper
PDUs, event notifications) are collected while requests run (:attr:`Client.pushes`);
``wait_push(timeout)`` and ``iter_pushes(count=, timeout=)`` wait for them between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Generic, Literal, Self, TypedDict, TypeVar, Unpack
from urllib.parse import parse_qsl, unquote, urlsplit

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess
from meterlink.dlms.association import SecuritySettings, Settings
from meterlink.dlms.cosem import (
    CosemMethod,
    EntryDescriptor,
    ObjectListEntry,
    Profile,
    RangeDescriptor,
)
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.events import EventReported, PushReceived
from meterlink.dlms.quirks import Quirks
from meterlink.dlms.security import InvocationCounters, Mechanism, SecurityPolicy
from meterlink.errors import LinkError, LocalProtocolError, MeterlinkError
from meterlink.hdlc.parameters import DEFAULT_PARAMETERS, HdlcParameters
from meterlink.obis import Obis
from meterlink.transport import AsyncLink, AsyncSerialLink, AsyncTcpLink, Link, SerialLink, TcpLink, Trace
from meterlink.transport.udp import AsyncUdpLink, UdpLink
from meterlink.transport.url import SerialSpec

from ._driver import (
    FRAME_COUNTER,
    ActionError,
    AssociationRefusedError,
    DataAccessError,
    Driver,
    Engine,
    LinkOptions,
    Op,
    Read,
    ServiceError,
    Target,
    Write,
    attribute_descriptor,
    encode_value,
    guess_class,
    method_descriptor,
)

__all__ = [
    "DEFAULT_PORT",
    "ActionError",
    "AssociationRefusedError",
    "AsyncClient",
    "Client",
    "ClientOptions",
    "DataAccessError",
    "ServiceError",
    "guess_class",
    "parse_key",
]

T = TypeVar("T")
L = TypeVar("L", Link, AsyncLink)

DEFAULT_PORT: Final = 4059
"""IANA port of the DLMS/COSEM wrapper (TCP and UDP)."""
DEFAULT_SYSTEM_TITLE: Final = b"MLK\x00\x00\x00\x00\x01"
"""Our system title when ciphering or HLS-GMAC/SHA-256 needs one and none is given."""

_MECHANISMS: Final[dict[str, Mechanism]] = {
    "none": Mechanism.NONE,
    "lls": Mechanism.LLS,
    "hls": Mechanism.HLS,
    "hls-md5": Mechanism.HLS_MD5,
    "hls-sha1": Mechanism.HLS_SHA1,
    "hls-gmac": Mechanism.HLS_GMAC,
    "hls-sha256": Mechanism.HLS_SHA256,
}
_POLICIES: Final[dict[str, SecurityPolicy]] = {
    "none": SecurityPolicy.NONE,
    "auth": SecurityPolicy.AUTHENTICATED,
    "enc": SecurityPolicy.ENCRYPTED,
    "auth-enc": SecurityPolicy.AUTHENTICATED_ENCRYPTED,
}

Key = bytes | str
"""A key as bytes, as hex text, or ``@path`` to a file holding either."""


# ================================================================================================
# options
# ================================================================================================
class ClientOptions(TypedDict, total=False):
    """What every constructor takes besides the link (see :meth:`Client.tcp`)."""

    client: int
    server: int
    physical: int | None
    auth: str | Mechanism
    password: bytes | str | None
    key: Key | None
    auth_key: Key | None
    system_title: Key | None
    policy: str | SecurityPolicy | None
    quirks: Quirks | None
    timeout: float
    max_pdu_size: int
    use_gbt: bool
    invocation_counter: int | None
    hdlc_parameters: HdlcParameters
    frame_timeout: float
    retries: int
    trace: Trace | None


def parse_key(value: Key | None, what: str = "key", length: int | None = None) -> bytes | None:
    """Bytes as given, hex text (spaces and colons allowed), or ``@path`` (binary or hex text)."""
    if value is None:
        return None
    raw: bytes
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("@"):
            try:
                content = Path(os.path.expanduser(text[1:])).read_bytes()
            except OSError as exc:
                raise LocalProtocolError(
                    f"cannot read the {what} file {text[1:]!r}: {exc.strerror}"
                ) from None
            try:
                raw = bytes.fromhex(content.decode("ascii").replace(":", " "))
            except (UnicodeDecodeError, ValueError):
                raw = content
        else:
            try:
                raw = bytes.fromhex(text.replace(":", " "))
            except ValueError:
                raise LocalProtocolError(f"the {what} is not hex text: {value!r}") from None
    else:
        raise LocalProtocolError(f"the {what} must be bytes, hex text or @file, got {type(value).__name__}")
    if length is not None and len(raw) != length:
        raise LocalProtocolError(f"the {what} must be {length} bytes, got {len(raw)}")
    return raw


def _mechanism(auth: str | Mechanism) -> Mechanism:
    if isinstance(auth, Mechanism):
        return auth
    found = _MECHANISMS.get(str(auth).lower())
    if found is None:
        raise LocalProtocolError(f"auth must be one of {', '.join(_MECHANISMS)}, not {auth!r}")
    return found


def _policy(policy: str | SecurityPolicy | None, key: bytes | None, auth_key: bytes | None) -> SecurityPolicy:
    if policy is None:
        if key is None:
            return SecurityPolicy.NONE
        return SecurityPolicy.AUTHENTICATED_ENCRYPTED if auth_key is not None else SecurityPolicy.ENCRYPTED
    if isinstance(policy, SecurityPolicy):
        return policy
    found = _POLICIES.get(str(policy).lower())
    if found is None:
        raise LocalProtocolError(f"policy must be one of {', '.join(_POLICIES)}, not {policy!r}")
    return found


def build_settings(options: ClientOptions) -> Settings:
    """The association settings the options describe."""
    mechanism = _mechanism(options.get("auth", "none"))
    key = parse_key(options.get("key"), "key", 16)
    auth_key = parse_key(options.get("auth_key"), "authentication key", 16)
    title = parse_key(options.get("system_title"), "system title", 8)
    policy = _policy(options.get("policy"), key, auth_key)
    if title is None and (policy is not SecurityPolicy.NONE or mechanism >= Mechanism.HLS_GMAC):
        title = DEFAULT_SYSTEM_TITLE
    password = options.get("password")
    secret = password.encode("latin-1") if isinstance(password, str) else password
    return Settings(
        mechanism=mechanism,
        secret=secret,
        security=SecuritySettings(policy=policy, key=key, auth_key=auth_key, system_title=title),
        max_receive_pdu_size=options.get("max_pdu_size", 0xFFFF),
        quirks=options.get("quirks") or Quirks(),
        use_gbt=options.get("use_gbt", False),
    )


def _link_options(options: ClientOptions, transport: str, datagrams: bool) -> LinkOptions:
    if transport not in ("wrapper", "hdlc"):
        raise LocalProtocolError(f"transport must be 'wrapper' or 'hdlc', not {transport!r}")
    return LinkOptions(
        transport="hdlc" if transport == "hdlc" else "wrapper",
        client=options.get("client", 16),
        server=options.get("server", 1),
        physical=options.get("physical"),
        datagrams=datagrams,
        hdlc_parameters=options.get("hdlc_parameters", DEFAULT_PARAMETERS),
        frame_timeout=options.get("frame_timeout", min(1.0, options.get("timeout", 5.0))),
        retries=options.get("retries", 2),
    )


# ================================================================================================
# opening links
# ================================================================================================
@dataclass(frozen=True, slots=True)
class _Opener:
    """Where the link goes; opened on first use by either front."""

    kind: Literal["tcp", "udp", "serial", "mode-e"]
    host: str = ""
    port: int = DEFAULT_PORT
    device: str = ""
    baud: int = 9600
    connect_timeout: float = 5.0
    iec_address: str | None = None
    software_parity: bool = False
    """Mode E: the 7E1 sign-on in software over an 8-bit port (a pty cannot switch 7E1 to 8N1)."""
    trace: Trace | None = None

    def _iec_url(self) -> str:
        return SerialSpec(self.device, 300, 7, software_parity=self.software_parity).url

    def open(self) -> tuple[Link, bytes, Callable[[], None]]:
        """The link, bytes already received for the framing, and how to close it."""
        if self.kind == "tcp":
            tcp = TcpLink.connect(self.host, self.port, timeout=self.connect_timeout, trace=self.trace)
            return tcp, b"", tcp.close
        if self.kind == "udp":
            udp = UdpLink.connect(self.host, self.port, trace=self.trace)
            return udp, b"", udp.close
        if self.kind == "serial":
            serial = SerialLink.open(self.device, self.baud, 8, trace=self.trace)
            return serial, b"", serial.close
        from meterlink.iec62056_21.client import Client as IecClient

        iec = IecClient.from_url(self._iec_url(), address=self.iec_address, trace=self.trace)
        try:
            binary = iec.binary()
        except BaseException:
            iec.close()
            raise
        return binary.link, binary.leftover, iec.close

    async def open_async(self) -> tuple[AsyncLink, bytes, Callable[[], Awaitable[None]]]:
        if self.kind == "tcp":
            tcp = await AsyncTcpLink.connect(
                self.host, self.port, timeout=self.connect_timeout, trace=self.trace
            )
            return tcp, b"", tcp.close
        if self.kind == "udp":
            udp = await AsyncUdpLink.connect(self.host, self.port, trace=self.trace)
            return udp, b"", udp.close
        if self.kind == "serial":
            serial = await AsyncSerialLink.open(self.device, self.baud, 8, trace=self.trace)
            return serial, b"", serial.close
        from meterlink.iec62056_21.client import AsyncClient as AsyncIecClient

        iec = AsyncIecClient.from_url(self._iec_url(), address=self.iec_address, trace=self.trace)
        try:
            binary = await iec.binary()
        except BaseException:
            await iec.close()
            raise
        return binary.link, binary.leftover, iec.close


def _url_options(url: str) -> tuple[_Opener, str, ClientOptions]:
    """``tcp://h:p``, ``udp://h:p``, ``serial:///dev/x``, ``mode-e:///dev/x``, plus query keys."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    options: ClientOptions = {}
    transport = query.pop("transport", "hdlc" if scheme in ("serial", "mode-e") else "wrapper")
    for name in ("client", "server", "physical"):
        if name in query:
            try:
                options[name] = int(query.pop(name))
            except ValueError:
                raise LocalProtocolError(f"bad URL {url!r}: {name} must be a number") from None
    baud_text = query.pop("baud", "9600")
    parity = query.pop("parity", "E")
    if query:
        raise LocalProtocolError(
            f"bad URL {url!r}: unknown keys {sorted(query)} (transport, client, server, physical, baud,"
            " parity)"
        )
    if scheme in ("tcp", "udp"):
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise LocalProtocolError(f"bad URL {url!r}: the port must be 1-65535") from None
        if not parts.hostname:
            raise LocalProtocolError(f"bad URL {url!r}: no host")
        kind: Literal["tcp", "udp"] = "tcp" if scheme == "tcp" else "udp"
        return _Opener(kind, host=parts.hostname, port=port), transport, options
    if scheme in ("serial", "mode-e"):
        device = unquote(parts.netloc + parts.path)
        if not device:
            raise LocalProtocolError(f"bad URL {url!r}: no serial port")
        try:
            baud = int(baud_text)
        except ValueError:
            raise LocalProtocolError(f"bad URL {url!r}: baud must be a number") from None
        serial_kind: Literal["serial", "mode-e"] = "serial" if scheme == "serial" else "mode-e"
        if parity.lower() not in ("e", "sw7e1") or (parity.lower() == "sw7e1" and scheme != "mode-e"):
            raise LocalProtocolError(f"bad URL {url!r}: parity is E, or sw7e1 for the mode E sign-on")
        software = parity.lower() == "sw7e1"
        return _Opener(serial_kind, device=device, baud=baud, software_parity=software), transport, options
    raise LocalProtocolError(f"bad URL {url!r}: use tcp://, udp://, serial:// or mode-e://")


# ================================================================================================
# the shared front
# ================================================================================================
Item = Target | tuple[Target, int] | tuple[Target, int, int]


class _Front(Generic[L]):
    """Construction, argument checking and state both fronts share; no I/O."""

    def __init__(
        self, opener: _Opener, settings: Settings, link: LinkOptions, *, timeout: float = 5.0
    ) -> None:
        self._opener = opener
        self._engine = Engine(settings, link, timeout=timeout)
        self._link: L | None = None
        self._closed = False

    @classmethod
    def _make(cls, opener: _Opener, transport: str, datagrams: bool, options: ClientOptions) -> Self:
        unknown = set(options) - set(ClientOptions.__annotations__)
        if unknown:  # a TypedDict does not stop a misspelt keyword at run time: we do
            raise LocalProtocolError(
                f"unknown client option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(ClientOptions.__annotations__))}"
            )
        settings = build_settings(options)
        front = cls(
            replace(opener, trace=options.get("trace")),
            settings,
            _link_options(options, transport, datagrams),
            timeout=options.get("timeout", 5.0),
        )
        counter = options.get("invocation_counter")
        if counter is not None:
            front.counters.set_next_to_send("guek", counter)
        return front

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        transport: Literal["wrapper", "hdlc"] = "wrapper",
        connect_timeout: float = 5.0,
        **options: Unpack[ClientOptions],
    ) -> Self:
        """A client over TCP: the IEC 62056-47 wrapper (default), or HDLC (``transport="hdlc"``).

        ``client`` is our SAP (16 public, 1 management...), ``server`` the meter's logical device
        (1), ``physical`` its HDLC lower address (HDLC only). ``auth`` is ``none``, ``lls``,
        ``hls``, ``hls-md5``, ``hls-sha1``, ``hls-sha256`` or ``hls-gmac``; ``password`` the LLS
        password or HLS secret. ``key`` (GUEK), ``auth_key`` (AK) and ``system_title`` (ours) are
        bytes, hex text or ``@file``; with a key the association is ciphered (``policy``
        ``auth-enc`` when the AK is given, else ``enc``; or say ``none``/``auth``/``enc``/
        ``auth-enc``). ``timeout`` bounds every response (seconds), ``invocation_counter`` is the
        first one we send (see :meth:`Client.bootstrap_invocation_counter`).
        """
        return cls._make(
            _Opener("tcp", host=host, port=port, connect_timeout=connect_timeout), transport, False, options
        )

    @classmethod
    def udp(cls, host: str, port: int = DEFAULT_PORT, **options: Unpack[ClientOptions]) -> Self:
        """A client over the wrapper on UDP: one APDU per datagram."""
        return cls._make(_Opener("udp", host=host, port=port), "wrapper", True, options)

    @classmethod
    def serial(
        cls,
        port: str,
        *,
        mode_e: bool = False,
        baud: int = 9600,
        iec_address: str | None = None,
        software_parity: bool = False,
        **options: Unpack[ClientOptions],
    ) -> Self:
        """HDLC on a serial port: directly at ``baud`` 8N1, or ``mode_e`` after an IEC 62056-21 handshake.

        ``iec_address`` is the device address of the mode E request (default: any meter).
        ``software_parity`` (mode E) runs the 7E1 sign-on in software on an 8-bit port, for
        links that cannot change the character format (pseudo-terminals, some adapters).
        """
        if software_parity and not mode_e:
            raise LocalProtocolError("software_parity is for the 7E1 sign-on of mode E")
        kind: Literal["serial", "mode-e"] = "mode-e" if mode_e else "serial"
        opener = _Opener(
            kind, device=port, baud=baud, iec_address=iec_address, software_parity=software_parity
        )
        return cls._make(opener, "hdlc", False, options)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        transport: Literal["wrapper", "hdlc"] | None = None,
        **options: Unpack[ClientOptions],
    ) -> Self:
        """``tcp://host:4059``, ``udp://host:4059``, ``serial:///dev/ttyUSB0?baud=9600``, ``mode-e:///dev/ttyUSB0``.

        Query keys: ``transport`` (``wrapper`` or ``hdlc``; serial is always HDLC), ``client``,
        ``server``, ``physical``, ``baud``, ``parity`` (``sw7e1``: mode E sign-on in software
        7E1). Keyword options (``transport=`` too) win over the URL's.
        """
        opener, url_transport, from_url = _url_options(url)
        chosen: str = transport or url_transport
        if opener.kind in ("serial", "mode-e") and chosen != "hdlc":
            raise LocalProtocolError("a serial port carries HDLC, not the wrapper")
        if opener.kind == "udp" and chosen != "wrapper":
            raise LocalProtocolError("UDP carries the wrapper, not HDLC")
        merged: ClientOptions = {**from_url, **options}
        return cls._make(opener, chosen, opener.kind == "udp", merged)

    # -- state ------------------------------------------------------------------------------------
    @property
    def counters(self) -> InvocationCounters:
        """Our association's invocation counters (persist ``to_dict()`` between runs)."""
        return self._engine.assoc.counters

    @property
    def associated(self) -> bool:
        return self._engine.associated

    @property
    def settings(self) -> Settings:
        return self._engine.settings

    @property
    def pushes(self) -> list[PushReceived | EventReported]:
        """Pushes and event notifications that arrived during requests (or were read by
        :meth:`Client.wait_push`'s loop beyond the one it returned), taken out of the queue."""
        out = list(self._engine.pushes)
        self._engine.pushes.clear()
        return out

    @property
    def link(self) -> L:
        if self._link is None:
            raise LocalProtocolError("the client is not open")
        return self._link

    def _check_usable(self) -> None:
        if self._closed:
            raise LocalProtocolError("the client is closed")

    # -- argument handling ------------------------------------------------------------------------
    def _attribute(
        self, target: Target, attribute: int | None, class_id: int | None
    ) -> CosemAttributeDescriptor:
        return attribute_descriptor(target, attribute, class_id, self._engine.classes)

    def _item(self, item: Item) -> CosemAttributeDescriptor:
        if isinstance(item, tuple):
            if len(item) == 2:
                return self._attribute(item[0], item[1], None)
            return self._attribute(item[0], item[1], item[2])
        return self._attribute(item, None, None)

    def _method(
        self,
        target: Obis | str | CosemMethod | CosemMethodDescriptor,
        method: int | None,
        class_id: int | None,
    ) -> CosemMethodDescriptor:
        return method_descriptor(target, method, class_id, self._engine.classes)

    @staticmethod
    def _profile(obis: Obis | str) -> Obis:
        descriptor = attribute_descriptor(obis, 2, 7)
        return descriptor.instance

    def _set_data(self, descriptor: CosemAttributeDescriptor, value: object) -> bytes:
        return encode_value(value, descriptor.class_id, attribute=descriptor.attribute_id)

    @staticmethod
    def _action_value(data: bytes | None) -> object:
        return None if data is None else axdr.decode(data)


# ================================================================================================
# blocking
# ================================================================================================
class Client(_Front[Link]):
    """A blocking DLMS/COSEM client (see the module documentation)."""

    _closer: Callable[[], None] | None = None

    def _open_link(self) -> None:
        self._check_usable()
        if self._link is None:
            try:
                link, leftover, closer = self._opener.open()
            except MeterlinkError:
                raise
            except Exception as exc:  # pyserial lets termios errors and the like through
                raise LinkError(f"cannot open the link: {exc}") from exc
            self._link, self._closer = link, closer
            self._engine.leftover = leftover

    def _perform(self, op: Op) -> bytes:
        link = self.link
        if isinstance(op, Write):
            link.write(op.data)
            return b""
        assert isinstance(op, Read)
        return link.read(max(0.0, op.deadline - self._engine.clock()))

    def _run(self, driver: Driver[T]) -> T:
        self._open_link()
        self._engine.claim()
        try:
            op = next(driver)
            while True:
                op = driver.send(self._perform(op))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            driver.close()
            self._engine.busy = False

    def open(self) -> None:
        """Open the link and the association (``with`` does it)."""
        self._open_link()
        if not self._engine.associated:
            self._run(self._engine.connect())

    def close(self) -> None:
        """Release, disconnect, close the link; safe to call twice and after errors."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._link is not None and not self._engine.busy:
                self._run_closing(self._engine.disconnect())
        finally:
            closer, self._closer = self._closer, None
            self._link = None
            if closer is not None:
                closer()

    def _run_closing(self, driver: Driver[None]) -> None:
        self._closed = False
        try:
            self._run(driver)
        finally:
            self._closed = True

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            with contextlib.suppress(MeterlinkError):
                self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            self.close()
        except MeterlinkError:
            if exc is None:
                raise

    # -- operations -------------------------------------------------------------------------------
    def get(self, target: Target, attribute: int = 2, class_id: int | None = None) -> Any:
        """One attribute, typed; :class:`DataAccessError` when the meter refuses it."""
        return self._run(self._engine.get_value(self._attribute(target, attribute, class_id)))

    def get_raw(
        self,
        target: Target,
        attribute: int = 2,
        class_id: int | None = None,
        access: SelectiveAccess | RangeDescriptor | EntryDescriptor | None = None,
    ) -> bytes:
        """One attribute as raw A-XDR bytes (optionally with selective access)."""
        if isinstance(access, RangeDescriptor | EntryDescriptor):
            access = SelectiveAccess(*access.to_selective_access())
        return self._run(self._engine.get_raw(self._attribute(target, attribute, class_id), access))

    def get_many(self, items: Sequence[Item]) -> list[Any]:
        """Several attributes in one get-with-list; a refused one comes back as its DataAccessError."""
        return self._run(self._engine.get_values([self._item(i) for i in items]))

    def set(self, target: Target, value: object, attribute: int = 2, class_id: int | None = None) -> None:
        """Write a typed value (plain ints only where the class table gives the type)."""
        descriptor = self._attribute(target, attribute, class_id)
        self._run(self._engine.set_raw(descriptor, self._set_data(descriptor, value)))

    def set_raw(self, target: Target, data: bytes, attribute: int = 2, class_id: int | None = None) -> None:
        self._run(self._engine.set_raw(self._attribute(target, attribute, class_id), data))

    def action(
        self,
        target: Obis | str | CosemMethod | CosemMethodDescriptor,
        method: int | None = None,
        parameters: object = None,
        class_id: int | None = None,
    ) -> Any:
        """Invoke a method; returns its decoded return data (or None)."""
        descriptor = self._method(target, method, class_id)
        data = (
            None
            if parameters is None
            else encode_value(parameters, descriptor.class_id, method=descriptor.method_id)
        )
        return self._action_value(self._run(self._engine.action_raw(descriptor, data)))

    def read_object_list(self) -> list[ObjectListEntry]:
        """Association LN attribute 2: what this association may see (and their classes, cached)."""
        return self._run(self._engine.read_object_list())

    def read_profile(
        self,
        obis: Obis | str,
        start: _dt.datetime | CosemDateTime | None = None,
        end: _dt.datetime | CosemDateTime | None = None,
        *,
        scale: bool = True,
    ) -> Profile:
        """A Profile generic buffer, by range on its clock column when ``start``/``end`` are given."""
        return self._run(self._engine.read_profile(self._profile(obis), None, start, end, scale=scale))

    def read_profile_entries(
        self, obis: Obis | str, first: int = 1, last: int = 0, *, scale: bool = True
    ) -> Profile:
        """Buffer rows ``first..last`` (1-based; ``last=0`` = up to the newest)."""
        access = EntryDescriptor(first, last)
        return self._run(self._engine.read_profile(self._profile(obis), access, scale=scale))

    def read_clock(self) -> _dt.datetime | CosemDateTime | None:
        """The meter's time (aware when it states its deviation); a CosemDateTime when it has wildcards."""
        return self._run(self._engine.read_clock())

    def set_clock(self, when: _dt.datetime | CosemDateTime) -> None:
        self._run(self._engine.set_clock(when))

    def bootstrap_invocation_counter(
        self, public_client: int = 16, frame_counter: Obis | str | None = None
    ) -> int:
        """Read the meter's frame counter through the public client on this link; we go on at value + 1.

        Call it before opening or inside the ``with`` block (our association is re-opened).
        """
        obis = self._frame_counter(frame_counter)
        return self._run(self._engine.bootstrap_invocation_counter(public_client, obis))

    def wait_push(self, timeout: float = 5.0) -> PushReceived | EventReported | None:
        """The next push the meter sends on this open connection (queued ones first), or None
        when none arrives within ``timeout`` seconds. Event notifications come as
        :class:`~meterlink.dlms.events.EventReported`."""
        return self._run(self._engine.wait_push(timeout))

    def iter_pushes(
        self, *, count: int | None = None, timeout: float | None = None
    ) -> Iterator[PushReceived | EventReported]:
        """Pushes as they arrive, until ``count`` came or ``timeout`` seconds passed (both
        optional: without them it runs until the link ends or the caller stops iterating)."""
        end = None if timeout is None else self._engine.clock() + timeout
        seen = 0
        while count is None or seen < count:
            left = self._engine.timeout if end is None else end - self._engine.clock()
            if left <= 0:
                return
            push = self.wait_push(left)
            if push is not None:
                seen += 1
                yield push

    def _frame_counter(self, frame_counter: Obis | str | None) -> Obis:
        if frame_counter is None:
            default = self.settings.quirks.frame_counter_object
            return default if default.is_complete else FRAME_COUNTER
        return attribute_descriptor(frame_counter, 2, 1).instance


# ================================================================================================
# asyncio
# ================================================================================================
class AsyncClient(_Front[AsyncLink]):
    """The asyncio twin of :class:`Client`: same constructors and methods, awaited; ``async with``."""

    _closer: Callable[[], Awaitable[None]] | None = None

    async def _open_link(self) -> None:
        self._check_usable()
        if self._link is None:
            try:
                link, leftover, closer = await self._opener.open_async()
            except MeterlinkError:
                raise
            except Exception as exc:
                raise LinkError(f"cannot open the link: {exc}") from exc
            self._link, self._closer = link, closer
            self._engine.leftover = leftover

    async def _perform(self, op: Op) -> bytes:
        link = self.link
        if isinstance(op, Write):
            await link.write(op.data)
            return b""
        assert isinstance(op, Read)
        return await link.read(max(0.0, op.deadline - self._engine.clock()))

    async def _run(self, driver: Driver[T]) -> T:
        await self._open_link()
        self._engine.claim()
        try:
            op = next(driver)
            while True:
                op = driver.send(await self._perform(op))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            driver.close()
            self._engine.busy = False

    async def open(self) -> None:
        await self._open_link()
        if not self._engine.associated:
            await self._run(self._engine.connect())

    async def close(self) -> None:
        if self._closed:
            return
        try:
            if self._link is not None and not self._engine.busy:
                await self._run(self._engine.disconnect())
        finally:
            self._closed = True
            closer, self._closer = self._closer, None
            self._link = None
            if closer is not None:
                await closer()

    async def __aenter__(self) -> Self:
        try:
            await self.open()
        except BaseException:
            with contextlib.suppress(MeterlinkError):
                await asyncio.shield(self.close())
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            await self.close()
        except MeterlinkError:
            if exc is None:
                raise

    async def get(self, target: Target, attribute: int = 2, class_id: int | None = None) -> Any:
        return await self._run(self._engine.get_value(self._attribute(target, attribute, class_id)))

    async def get_raw(
        self,
        target: Target,
        attribute: int = 2,
        class_id: int | None = None,
        access: SelectiveAccess | RangeDescriptor | EntryDescriptor | None = None,
    ) -> bytes:
        if isinstance(access, RangeDescriptor | EntryDescriptor):
            access = SelectiveAccess(*access.to_selective_access())
        return await self._run(self._engine.get_raw(self._attribute(target, attribute, class_id), access))

    async def get_many(self, items: Sequence[Item]) -> list[Any]:
        return await self._run(self._engine.get_values([self._item(i) for i in items]))

    async def set(
        self, target: Target, value: object, attribute: int = 2, class_id: int | None = None
    ) -> None:
        descriptor = self._attribute(target, attribute, class_id)
        await self._run(self._engine.set_raw(descriptor, self._set_data(descriptor, value)))

    async def set_raw(
        self, target: Target, data: bytes, attribute: int = 2, class_id: int | None = None
    ) -> None:
        await self._run(self._engine.set_raw(self._attribute(target, attribute, class_id), data))

    async def action(
        self,
        target: Obis | str | CosemMethod | CosemMethodDescriptor,
        method: int | None = None,
        parameters: object = None,
        class_id: int | None = None,
    ) -> Any:
        descriptor = self._method(target, method, class_id)
        data = (
            None
            if parameters is None
            else encode_value(parameters, descriptor.class_id, method=descriptor.method_id)
        )
        return self._action_value(await self._run(self._engine.action_raw(descriptor, data)))

    async def read_object_list(self) -> list[ObjectListEntry]:
        return await self._run(self._engine.read_object_list())

    async def read_profile(
        self,
        obis: Obis | str,
        start: _dt.datetime | CosemDateTime | None = None,
        end: _dt.datetime | CosemDateTime | None = None,
        *,
        scale: bool = True,
    ) -> Profile:
        return await self._run(self._engine.read_profile(self._profile(obis), None, start, end, scale=scale))

    async def read_profile_entries(
        self, obis: Obis | str, first: int = 1, last: int = 0, *, scale: bool = True
    ) -> Profile:
        access = EntryDescriptor(first, last)
        return await self._run(self._engine.read_profile(self._profile(obis), access, scale=scale))

    async def read_clock(self) -> _dt.datetime | CosemDateTime | None:
        return await self._run(self._engine.read_clock())

    async def set_clock(self, when: _dt.datetime | CosemDateTime) -> None:
        await self._run(self._engine.set_clock(when))

    async def wait_push(self, timeout: float = 5.0) -> PushReceived | EventReported | None:
        """See :meth:`Client.wait_push`."""
        return await self._run(self._engine.wait_push(timeout))

    async def iter_pushes(
        self, *, count: int | None = None, timeout: float | None = None
    ) -> AsyncIterator[PushReceived | EventReported]:
        """See :meth:`Client.iter_pushes`."""
        end = None if timeout is None else self._engine.clock() + timeout
        seen = 0
        while count is None or seen < count:
            left = self._engine.timeout if end is None else end - self._engine.clock()
            if left <= 0:
                return
            push = await self.wait_push(left)
            if push is not None:
                seen += 1
                yield push

    async def bootstrap_invocation_counter(
        self, public_client: int = 16, frame_counter: Obis | str | None = None
    ) -> int:
        if frame_counter is None:
            default = self.settings.quirks.frame_counter_object
            obis = default if default.is_complete else FRAME_COUNTER
        else:
            obis = attribute_descriptor(frame_counter, 2, 1).instance
        return await self._run(self._engine.bootstrap_invocation_counter(public_client, obis))

