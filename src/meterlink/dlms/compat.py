"""A thin facade for code written against the seed library's README (``dlms-cosem``): same shapes, our client.

This is *not* the seed library: every call goes to :class:`meterlink.dlms.client.Client`, and only
the names a typical seed program touches are here. Written from the seed's public API (25.1.0
and the older ``with_*_transport`` constructors), nothing of its code::

    from meterlink.dlms.compat import (DlmsClient, TcpTransport, BlockingTcpIO, NoSecurityAuthentication,
                                       CosemAttribute, CosemInterface, Obis)

    io = BlockingTcpIO(host="localhost", port=4059)
    transport = TcpTransport(io=io, server_logical_address=1, client_logical_address=16)
    client = DlmsClient(transport=transport, authentication=NoSecurityAuthentication())
    with client.session() as c:
        counter = CosemAttribute(interface=CosemInterface.DATA, instance=Obis(0, 0, 0x2B, 1, 0), attribute=2)
        raw = c.get(counter)

Differences on purpose: ``get`` returns the raw A-XDR bytes as the seed does, but errors are
meterlink's (:class:`~meterlink.dlms.client.DataAccessError`, ...), not the seed's exception
classes. :class:`ProfileGenericBufferParser` takes ``capture_period`` in *minutes*, as the seed
does (the Blue Book says seconds; our own :func:`~meterlink.dlms.cosem.parse_buffer` takes
seconds), and keeps null cells in their column instead of dropping them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, CosemMethodDescriptor
from meterlink.dlms.client import Client
from meterlink.dlms.cosem import (
    CaptureObject,
    ClassId,
    CosemAttribute,
    CosemMethod,
    EntryDescriptor,
    RangeDescriptor,
    parse_buffer,
)
from meterlink.dlms.security import Mechanism
from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis as _Obis

__all__ = [
    "BlockingTcpIO",
    "CaptureObject",
    "ColumnValue",
    "CosemAttribute",
    "CosemInterface",
    "CosemMethod",
    "DlmsClient",
    "EntryDescriptor",
    "HdlcTransport",
    "HighLevelSecurityGmacAuthentication",
    "LowLevelSecurityAuthentication",
    "NoSecurityAuthentication",
    "Obis",
    "ProfileGenericBufferParser",
    "RangeDescriptor",
    "SerialIO",
    "TcpTransport",
]

CosemInterface = ClassId
"""The seed's ``enumerations.CosemInterface``: our class ids."""


def Obis(a: int, b: int, c: int, d: int, e: int, f: int = 255) -> _Obis:  # noqa: N802 - the seed's name
    """The seed's ``cosem.Obis(a, b, c, d, e, f=255)``, giving meterlink's :class:`~meterlink.obis.Obis`."""
    return _Obis(a, b, c, d, e, f)


# -- the seed's IO / transport composition ---------------------------------------------------------
@dataclass
class BlockingTcpIO:
    host: str
    port: int
    timeout: int = 10


@dataclass
class SerialIO:
    port_name: str
    baud_rate: int = 9600
    timeout: int = 10


@dataclass
class TcpTransport:
    io: BlockingTcpIO
    server_logical_address: int = 1
    client_logical_address: int = 16
    timeout: int = 10


@dataclass
class HdlcTransport:
    io: SerialIO | BlockingTcpIO
    server_logical_address: int = 1
    client_logical_address: int = 16
    server_physical_address: int | None = None
    timeout: int = 10


# -- authentication managers (only what they configure) --------------------------------------------
@dataclass
class NoSecurityAuthentication:
    mechanism: Mechanism = field(default=Mechanism.NONE, init=False)
    secret: bytes | None = None


@dataclass
class LowLevelSecurityAuthentication:
    secret: bytes | None = None
    mechanism: Mechanism = field(default=Mechanism.LLS, init=False)


@dataclass
class HighLevelSecurityGmacAuthentication:
    challenge_length: int = 32
    secret: bytes | None = None
    mechanism: Mechanism = field(default=Mechanism.HLS_GMAC, init=False)


Authentication = (
    NoSecurityAuthentication | LowLevelSecurityAuthentication | HighLevelSecurityGmacAuthentication
)

_METHODS = {
    "NO_SECURITY": Mechanism.NONE,
    "LLS": Mechanism.LLS,
    "LOW_LEVEL_SECURITY": Mechanism.LLS,
    "HLS": Mechanism.HLS,
    "HLS_GMAC": Mechanism.HLS_GMAC,
}


def _mechanism(value: object) -> Mechanism:
    if value is None:
        return Mechanism.NONE
    if isinstance(value, Mechanism):
        return value
    name = getattr(value, "name", value)
    if isinstance(name, str) and name.upper() in _METHODS:
        return _METHODS[name.upper()]
    if isinstance(value, int):
        return Mechanism(int(value))
    raise LocalProtocolError(f"unknown authentication method {value!r}")


# -- descriptors from our types or the seed's (duck-typed) -----------------------------------------
def _instance(value: Any) -> _Obis:
    if isinstance(value, _Obis):
        return value
    to_bytes = getattr(value, "to_bytes", None)
    if callable(to_bytes):
        return _Obis.from_bytes(to_bytes())
    return _Obis.parse(str(value))


def _attribute(value: Any) -> CosemAttributeDescriptor:
    if isinstance(value, CosemAttributeDescriptor):
        return value
    return CosemAttributeDescriptor(int(value.interface), _instance(value.instance), int(value.attribute))


def _method(value: Any) -> CosemMethodDescriptor:
    if isinstance(value, CosemMethodDescriptor):
        return value
    return CosemMethodDescriptor(int(value.interface), _instance(value.instance), int(value.method))


# -- the client -----------------------------------------------------------------------------------
class DlmsClient:
    """The seed's ``DlmsClient`` shape over :class:`meterlink.dlms.client.Client`."""

    def __init__(
        self,
        transport: TcpTransport | HdlcTransport | None = None,
        authentication: Authentication | None = None,
        encryption_key: bytes | None = None,
        authentication_key: bytes | None = None,
        security_suite: int = 0,
        client_system_title: bytes | None = None,
        client_initial_invocation_counter: int = 0,
        timeout: float = 10,
        *,
        server_logical_address: int | None = None,
        server_physical_address: int | None = None,
        client_logical_address: int | None = None,
        authentication_method: object = None,
        password: bytes | None = None,
        host: str | None = None,
        port: int = 4059,
        serial_port: str | None = None,
        baud_rate: int = 9600,
    ) -> None:
        if security_suite != 0:
            raise LocalProtocolError("only security suite 0 is supported")
        if transport is not None:
            io = transport.io
            server_logical_address = server_logical_address or transport.server_logical_address
            client_logical_address = client_logical_address or transport.client_logical_address
            if isinstance(transport, HdlcTransport):
                server_physical_address = server_physical_address or transport.server_physical_address
            if isinstance(io, SerialIO):
                serial_port, baud_rate = io.port_name, io.baud_rate
            else:
                host, port = io.host, io.port
        mechanism = _mechanism(
            authentication.mechanism if authentication is not None else authentication_method
        )
        secret = password if password is not None else getattr(authentication, "secret", None)
        options: dict[str, Any] = {
            "client": client_logical_address or 16,
            "server": server_logical_address or 1,
            "physical": server_physical_address,
            "auth": mechanism,
            "password": secret,
            "key": encryption_key,
            "auth_key": authentication_key,
            "system_title": client_system_title,
            "timeout": float(timeout),
        }
        if client_initial_invocation_counter:
            options["invocation_counter"] = client_initial_invocation_counter
        if serial_port is not None:
            self._client = Client.serial(serial_port, baud=baud_rate, **options)
        elif host is not None:
            hdlc = isinstance(transport, HdlcTransport)
            self._client = Client.tcp(host, port, transport="hdlc" if hdlc else "wrapper", **options)
        else:
            raise LocalProtocolError("DlmsClient needs a transport (or host / serial_port)")

    @classmethod
    def with_tcp_transport(
        cls,
        host: str,
        port: int,
        server_logical_address: int,
        client_logical_address: int,
        authentication_method: object = None,
        password: bytes | None = None,
        encryption_key: bytes | None = None,
        authentication_key: bytes | None = None,
        client_system_title: bytes | None = None,
        client_initial_invocation_counter: int = 0,
        timeout: float = 10,
    ) -> DlmsClient:
        return cls(
            encryption_key=encryption_key,
            authentication_key=authentication_key,
            client_system_title=client_system_title,
            client_initial_invocation_counter=client_initial_invocation_counter,
            timeout=timeout,
            server_logical_address=server_logical_address,
            client_logical_address=client_logical_address,
            authentication_method=authentication_method,
            password=password,
            host=host,
            port=port,
        )

    @classmethod
    def with_serial_hdlc_transport(
        cls,
        serial_port: str,
        server_logical_address: int,
        server_physical_address: int | None,
        client_logical_address: int,
        authentication_method: object = None,
        password: bytes | None = None,
        encryption_key: bytes | None = None,
        authentication_key: bytes | None = None,
        client_system_title: bytes | None = None,
        client_initial_invocation_counter: int = 0,
        baud_rate: int = 9600,
        timeout: float = 10,
    ) -> DlmsClient:
        return cls(
            encryption_key=encryption_key,
            authentication_key=authentication_key,
            client_system_title=client_system_title,
            client_initial_invocation_counter=client_initial_invocation_counter,
            timeout=timeout,
            server_logical_address=server_logical_address,
            server_physical_address=server_physical_address,
            client_logical_address=client_logical_address,
            authentication_method=authentication_method,
            password=password,
            serial_port=serial_port,
            baud_rate=baud_rate,
        )

    @property
    def client(self) -> Client:
        """The meterlink client underneath, for everything the seed API does not have."""
        return self._client

    @property
    def client_invocation_counter(self) -> int:
        return self._client.counters.peek_send("guek")

    @client_invocation_counter.setter
    def client_invocation_counter(self, value: int) -> None:
        self._client.counters.set_next_to_send("guek", value)

    @contextlib.contextmanager
    def session(self) -> Iterator[DlmsClient]:
        """Connect and associate; release and disconnect at the end (also after an error)."""
        with self._client:
            yield self

    def connect(self) -> None:
        self._client.open()

    def associate(self) -> None:
        self._client.open()

    def release_association(self) -> None:
        self._client.close()

    def disconnect(self) -> None:
        self._client.close()

    def get(
        self, cosem_attribute: Any, access_descriptor: RangeDescriptor | EntryDescriptor | None = None
    ) -> bytes:
        """Raw A-XDR bytes of one attribute, as the seed returns them."""
        return self._client.get_raw(_attribute(cosem_attribute), access=access_descriptor)

    def get_many(self, cosem_attributes: Sequence[Any]) -> list[Any]:
        """Typed values (the seed returns its response object; we return what that holds, decoded)."""
        return self._client.get_many([_attribute(c) for c in cosem_attributes])

    def set(self, cosem_attribute: Any, data: bytes) -> None:
        self._client.set_raw(_attribute(cosem_attribute), data)

    def action(self, method: Any, data: bytes | None = None) -> bytes | None:
        value = self._client.action(_method(method), None, axdr.decode(data) if data is not None else None)
        return None if value is None else axdr.encode(value)


# -- the profile parser --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ColumnValue:
    attribute: CaptureObject
    value: Any


@dataclass
class ProfileGenericBufferParser:
    """``capture_period`` in minutes, as the seed takes it; rows of :class:`ColumnValue`."""

    capture_objects: Sequence[Any]
    capture_period: int = 0

    def parse_bytes(self, profile_bytes: bytes) -> list[list[ColumnValue]]:
        columns = [self._column(c) for c in self.capture_objects]
        profile = parse_buffer(profile_bytes, columns, capture_period=int(self.capture_period) * 60)
        return [
            [ColumnValue(column, value) for column, value in zip(columns, row, strict=False)]
            for row in profile.rows
        ]

    @staticmethod
    def _column(value: Any) -> CaptureObject:
        if isinstance(value, CaptureObject):
            return value
        attribute = getattr(value, "cosem_attribute", value)
        descriptor = _attribute(attribute)
        return CaptureObject(
            descriptor.class_id,
            descriptor.instance,
            descriptor.attribute_id,
            int(getattr(value, "data_index", 0)),
        )
