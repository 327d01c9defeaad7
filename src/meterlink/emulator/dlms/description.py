"""The TOML description of an emulated DLMS/COSEM meter.

A description names the meter's logical devices, their COSEM objects with values, the
associations (one per client SAP) with mechanisms, keys and access rights, the HDLC and mode E
parameters, and the pushes. Every error is a :class:`~meterlink.errors.LocalProtocolError` that
starts with the file and the key path (``meter.toml: objects[3].obis: ...``), like the IEC
description, so a typo is found without reading code.

Layout (see ``examples/meters/dlms-meter.toml`` for a commented example)::

    [meter]          name, physical_address, system_title, logical_address, logical_device_name
    [clock]          origin, speed, deviation, status
    [hdlc]           max_info, window, inactivity_timeout
    [mode_e]         identification, reaction_time, switch_delay, option_timeout, inactivity_timeout
    [[objects]]      class = data | register | extended-register | clock | profile-generic |
                     frame-counter | security-setup | disconnect-control | push-setup, obis, ...
    [[associations]] client, mechanism, secret, policy, key, auth_key, ..., general_ciphering, read,
                     write, execute
    [[logical_devices]]  address, name, system_title, objects, associations (for more than one)

Numbers of registers are the raw values on the wire: the client applies ``scaler``.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from meterlink.dlms import axdr
from meterlink.dlms.association import SecuritySettings, Settings
from meterlink.dlms.cosem import CaptureObject, ClassId, Unit
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.emulator._toml import Table, kind_of
from meterlink.errors import LocalProtocolError, MeterlinkError, ObisError
from meterlink.iec62056_21.messages import Identification
from meterlink.obis import Obis

__all__ = [
    "CLOCK_OBIS",
    "SESSION",
    "AssociationSpec",
    "ClockSpec",
    "DlmsDescription",
    "HdlcSpec",
    "LogicalDeviceSpec",
    "ModeESpec",
    "ObjectSpec",
    "Rights",
    "load_dlms_description",
    "parse_dlms_description",
]

CLOCK_OBIS: Final = Obis(0, 0, 1, 0, 0, 255)
ASSOCIATION_OBIS: Final = Obis(0, 0, 40, 0, 0, 255)
SAP_OBIS: Final = Obis(0, 0, 41, 0, 0, 255)
LDN_OBIS: Final = Obis(0, 0, 42, 0, 0, 255)

SESSION: Final = "session"
"""A push setup's ``destination`` that pushes over the open connection(s) of its client: HDLC UI
frames or wrapper PDUs on the line the client's association runs on, while it is open."""

EPOCH: Final = dt.datetime(2000, 1, 1)
"""Profile rows fall on multiples of the capture period since this instant (meter time)."""


# ------------------------------------------------------------------------------------------------
# what a description holds
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClockSpec:
    """The meter clock: ``origin`` when the emulator starts (None: the host's local time)."""

    origin: dt.datetime | None = None
    speed: float = 1.0
    deviation: int | None = None
    """Minutes, sent as the meters do (UTC minus local: CET = -60); None = not specified."""
    status: int = 0


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """One configured COSEM object; ``kind`` picks its class in :mod:`.objects`, ``params`` its values.

    ``params`` holds already validated, typed values (see the ``_OBJECT_PARSERS`` table).
    """

    kind: str
    obis: Obis
    class_id: int
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Rights:
    """Per-object override of an association's access: attribute ids readable/writable, methods."""

    read: frozenset[int] | None = None
    write: frozenset[int] | None = None
    execute: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class AssociationSpec:
    """One client SAP's association: mechanism, keys, and what it may see and do.

    ``visible``/``read``/``write``/``execute`` are sets of logical names (None: every object);
    ``rights`` refines single objects attribute by attribute.
    """

    client: int
    name: str
    mechanism: Mechanism
    secret: bytes | None
    policy: SecurityPolicy
    key: bytes | None
    auth_key: bytes | None
    broadcast_key: bytes | None
    master_key: bytes | None
    max_pdu_size: int
    use_gbt: bool
    visible: frozenset[Obis] | None
    read: frozenset[Obis] | None
    write: frozenset[Obis] | None
    execute: frozenset[Obis] | None
    rights: Mapping[Obis, Rights] = field(default_factory=dict, hash=False)
    general_ciphering: bool = False
    """Cipher with general-glo-ciphering (0xDB) rather than the service-specific glo- tags, as
    some meters do (and clients that only know the general envelope need)."""

    def settings(
        self, system_title: bytes, *, secret: bytes | None = None, keys: Mapping[str, bytes] | None = None
    ) -> Settings:
        """The association layer's settings (``secret``/``keys`` override after method calls)."""
        keys = keys or {}
        security = SecuritySettings(
            policy=self.policy,
            key=keys.get("key", self.key),
            auth_key=keys.get("auth_key", self.auth_key),
            broadcast_key=keys.get("broadcast_key", self.broadcast_key),
            system_title=system_title,
            general_ciphering=self.general_ciphering,
        )
        return Settings(
            mechanism=self.mechanism,
            secret=secret if secret is not None else self.secret,
            security=security,
            max_receive_pdu_size=self.max_pdu_size,
            use_gbt=self.use_gbt,
        )


@dataclass(frozen=True, slots=True)
class LogicalDeviceSpec:
    address: int
    name: bytes
    system_title: bytes
    objects: tuple[ObjectSpec, ...]
    associations: tuple[AssociationSpec, ...]

    def association(self, client: int) -> AssociationSpec | None:
        for spec in self.associations:
            if spec.client == client:
                return spec
        return None


@dataclass(frozen=True, slots=True)
class HdlcSpec:
    max_info: int = 128
    window: int = 1
    inactivity_timeout: float = 120.0
    """A link quiet this long is dropped (the meter's HDLC setup inactivity time-out)."""


@dataclass(frozen=True, slots=True)
class ModeESpec:
    """The IEC 62056-21 sign-on in front of HDLC on a serial line (``--mode-e``)."""

    identification: Identification
    reaction_time: float = 0.2
    switch_delay: float = 0.3
    option_timeout: float = 2.0
    inactivity_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class DlmsDescription:
    name: str
    physical_address: int
    logical_devices: tuple[LogicalDeviceSpec, ...]
    clock: ClockSpec
    hdlc: HdlcSpec
    mode_e: ModeESpec
    idle_timeout: float = 300.0
    """Wrapper (TCP/UDP) sessions quiet this long are dropped."""
    source: str = "<string>"

    def device(self, address: int) -> LogicalDeviceSpec | None:
        for device in self.logical_devices:
            if device.address == address:
                return device
        return None


# ------------------------------------------------------------------------------------------------
# small typed readers
# ------------------------------------------------------------------------------------------------
def _obis(table: Table, key: str, default: Obis | None = None) -> Obis:
    text = table.text(key)
    if text is None:
        if default is None:
            raise table.error(key, "missing (an OBIS code like 1.0.1.8.0.255)")
        return default
    return _obis_text(table, key, text)


def _obis_text(table: Table, key: str, text: object) -> Obis:
    if not isinstance(text, str):
        raise table.error(key, f"expected an OBIS code, got {kind_of(text)}")
    try:
        value = Obis.parse(text)
    except ObisError as exc:
        raise table.error(key, str(exc)) from None
    if not value.is_complete:
        raise table.error(key, f"{text!r}: a COSEM logical name needs all six OBIS groups (A.B.C.D.E.F)")
    return value


def _hex(table: Table, key: str, size: int | None = None) -> bytes | None:
    text = table.text(key)
    if text is None:
        return None
    try:
        value = bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise table.error(key, f"expected hexadecimal digits, got {text!r}") from None
    if size is not None and len(value) != size:
        raise table.error(key, f"expected {size} bytes ({2 * size} hex digits), got {len(value)}")
    return value


def _bytes_value(table: Table, key: str, hex_key: str) -> bytes | None:
    """Text (``key``, taken as latin-1) or hexadecimal (``hex_key``), not both."""
    if table.has(key) and table.has(hex_key):
        raise table.error(hex_key, f"give {key} or {hex_key}, not both")
    raw = _hex(table, hex_key)
    if raw is not None:
        return raw
    text = table.text(key)
    if text is None:
        return None
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise table.error(key, "only latin-1 characters fit an octet-string; use the hex form") from None


def _int_list(table: Table, key: str, low: int, high: int) -> frozenset[int] | None:
    value = table.raw(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
    ):
        raise table.error(key, f"expected a list of integers {low}..{high}, got {kind_of(value)}")
    return frozenset(value)


def _obis_set(table: Table, key: str, default: str) -> frozenset[Obis] | None:
    """``"all"``, ``"none"`` or a list of OBIS codes."""
    value = table.raw(key)
    if value is None:
        value = default
    if value == "all":
        return None
    if value == "none":
        return frozenset()
    if not isinstance(value, list):
        raise table.error(key, f'expected "all", "none" or a list of OBIS codes, got {kind_of(value)}')
    return frozenset(_obis_text(table, key, item) for item in value)


# A-XDR types a configured value may take, by their TOML name
_TYPES: Final[dict[str, axdr.DataTag]] = {
    "null-data": axdr.DataTag.NULL_DATA,
    "boolean": axdr.DataTag.BOOLEAN,
    "double-long": axdr.DataTag.DOUBLE_LONG,
    "double-long-unsigned": axdr.DataTag.DOUBLE_LONG_UNSIGNED,
    "octet-string": axdr.DataTag.OCTET_STRING,
    "visible-string": axdr.DataTag.VISIBLE_STRING,
    "utf8-string": axdr.DataTag.UTF8_STRING,
    "integer": axdr.DataTag.INTEGER,
    "long": axdr.DataTag.LONG,
    "unsigned": axdr.DataTag.UNSIGNED,
    "long-unsigned": axdr.DataTag.LONG_UNSIGNED,
    "long64": axdr.DataTag.LONG64,
    "long64-unsigned": axdr.DataTag.LONG64_UNSIGNED,
    "enum": axdr.DataTag.ENUM,
    "float32": axdr.DataTag.FLOAT32,
    "float64": axdr.DataTag.FLOAT64,
}
NUMERIC_TYPES: Final = frozenset(
    {
        axdr.DataTag.DOUBLE_LONG,
        axdr.DataTag.DOUBLE_LONG_UNSIGNED,
        axdr.DataTag.INTEGER,
        axdr.DataTag.LONG,
        axdr.DataTag.UNSIGNED,
        axdr.DataTag.LONG_UNSIGNED,
        axdr.DataTag.LONG64,
        axdr.DataTag.LONG64_UNSIGNED,
        axdr.DataTag.ENUM,
        axdr.DataTag.FLOAT32,
        axdr.DataTag.FLOAT64,
    }
)
_INT_CLASSES: Final[dict[axdr.DataTag, type[axdr.TypedInt]]] = {
    axdr.DataTag.DOUBLE_LONG: axdr.DoubleLong,
    axdr.DataTag.DOUBLE_LONG_UNSIGNED: axdr.DoubleLongUnsigned,
    axdr.DataTag.INTEGER: axdr.Integer,
    axdr.DataTag.LONG: axdr.Long,
    axdr.DataTag.UNSIGNED: axdr.Unsigned,
    axdr.DataTag.LONG_UNSIGNED: axdr.LongUnsigned,
    axdr.DataTag.LONG64: axdr.Long64,
    axdr.DataTag.LONG64_UNSIGNED: axdr.Long64Unsigned,
    axdr.DataTag.ENUM: axdr.Enum,
}


def typed_number(tag: axdr.DataTag, number: float) -> axdr.EncodableValue:
    """``number`` as an A-XDR value of type ``tag`` (integers rounded, clamped to the type)."""
    if tag is axdr.DataTag.FLOAT32:
        return axdr.Float32(number)
    if tag is axdr.DataTag.FLOAT64:
        return float(number)
    cls = _INT_CLASSES[tag]
    low, high = _INT_RANGES[tag]
    return cls(min(max(round(number), low), high))


_INT_RANGES: Final[dict[axdr.DataTag, tuple[int, int]]] = {
    axdr.DataTag.DOUBLE_LONG: (-(1 << 31), (1 << 31) - 1),
    axdr.DataTag.DOUBLE_LONG_UNSIGNED: (0, (1 << 32) - 1),
    axdr.DataTag.INTEGER: (-128, 127),
    axdr.DataTag.LONG: (-(1 << 15), (1 << 15) - 1),
    axdr.DataTag.UNSIGNED: (0, 255),
    axdr.DataTag.LONG_UNSIGNED: (0, 0xFFFF),
    axdr.DataTag.LONG64: (-(1 << 63), (1 << 63) - 1),
    axdr.DataTag.LONG64_UNSIGNED: (0, (1 << 64) - 1),
    axdr.DataTag.ENUM: (0, 255),
}


def _type(table: Table, key: str, default: str) -> axdr.DataTag:
    name = table.text(key, default) or default
    tag = _TYPES.get(name)
    if tag is None:
        raise table.error(key, f"unknown type {name!r}; known: {', '.join(sorted(_TYPES))}")
    return tag


def _typed_value(table: Table, tag: axdr.DataTag) -> bytes:
    """The A-XDR bytes of ``value`` (or ``hex`` for octet-strings) with type ``tag``."""
    if tag is axdr.DataTag.OCTET_STRING:
        raw = _bytes_value(table, "value", "hex")
        return axdr.encode(raw or b"")
    if table.has("hex"):
        raise table.error("hex", "hex is for octet-string values")
    value = table.raw("value")
    if tag is axdr.DataTag.NULL_DATA:
        if value is not None:
            raise table.error("value", "a null-data object has no value")
        return b"\x00"
    if value is None:
        raise table.error("value", "missing")
    if tag is axdr.DataTag.BOOLEAN:
        if not isinstance(value, bool):
            raise table.error("value", f"expected true or false, got {kind_of(value)}")
        return axdr.encode(value)
    if tag in (axdr.DataTag.VISIBLE_STRING, axdr.DataTag.UTF8_STRING):
        if not isinstance(value, str):
            raise table.error("value", f"expected a string, got {kind_of(value)}")
        try:
            return axdr.encode(value if tag is axdr.DataTag.VISIBLE_STRING else axdr.Utf8String(value))
        except MeterlinkError as exc:
            raise table.error("value", str(exc)) from None
    return axdr.encode(typed_number(tag, _number(table, "value", value, tag)))


def _number(table: Table, key: str, value: object, tag: axdr.DataTag) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise table.error(key, f"expected a number, got {kind_of(value)}")
    if tag in _INT_RANGES:
        low, high = _INT_RANGES[tag]
        if not low <= value <= high:
            raise table.error(
                key, f"{value} does not fit {tag.name.lower().replace('_', '-')} ({low}..{high})"
            )
    return float(value)


_UNIT_NAMES: Final[dict[str, int]] = {u.name.lower().replace("_", "-"): int(u) for u in Unit}
_UNIT_SYMBOLS: Final[dict[str, int]] = {}
for _u in Unit:
    if _u.symbol and sum(1 for v in Unit if v.symbol == _u.symbol) == 1:
        _UNIT_SYMBOLS[_u.symbol] = int(_u)


def _unit(table: Table) -> int:
    value = table.raw("unit")
    if value is None:
        return int(Unit.COUNT)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255:
        return value
    if isinstance(value, str):
        code = _UNIT_SYMBOLS.get(value, _UNIT_NAMES.get(value.lower().replace("_", "-")))
        if code is not None:
            return code
    raise table.error(
        "unit", f"expected a unit symbol (Wh, W, V...), name (watt-hour) or code 0..255, got {kind_of(value)}"
    )


def _shape(table: Table) -> tuple[float, ...]:
    raw = table.raw("daily_shape")
    if raw is None:
        return ()
    if (
        not isinstance(raw, list)
        or len(raw) != 24
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in raw)
    ):
        raise table.error("daily_shape", "expected 24 non-negative numbers, one factor per hour of the day")
    return tuple(float(v) for v in raw)


# ------------------------------------------------------------------------------------------------
# objects, one parser per kind (table-driven)
# ------------------------------------------------------------------------------------------------
def _data(table: Table) -> dict[str, Any]:
    tag = _type(table, "type", "octet-string")
    return {"value": _typed_value(table, tag)}


def _register(table: Table) -> dict[str, Any]:
    tag = _type(table, "type", "double-long-unsigned")
    if tag not in NUMERIC_TYPES:
        raise table.error("type", "a register holds a number")
    value = table.raw("value")
    number = 0.0 if value is None else _number(table, "value", value, tag)
    scaler = table.integer("scaler", 0, minimum=-128)
    if scaler > 127:
        raise table.error("scaler", "must be -128..127")
    rate = table.number("rate_per_hour", 0.0) or 0.0
    shape = _shape(table)
    if shape and not rate:
        raise table.error("daily_shape", "needs rate_per_hour")
    return {
        "type": tag,
        "value": number,
        "scaler": scaler,
        "unit": _unit(table),
        "rate_per_hour": rate,
        "daily_shape": shape,
    }


def _extended_register(table: Table) -> dict[str, Any]:
    params = _register(table)
    status = table.integer("status", 0)
    if status > 0xFFFFFFFF:
        raise table.error("status", "must fit double-long-unsigned")
    params["status"] = status
    return params


def _nothing(table: Table) -> dict[str, Any]:
    return {}


def _frame_counter(table: Table) -> dict[str, Any]:
    return {"association": table.integer("association", 1)}


def _security_setup(table: Table) -> dict[str, Any]:
    return {"association": table.integer("association", 1)}


def _disconnect(table: Table) -> dict[str, Any]:
    mode = table.integer("control_mode", 1)
    if mode > 6:
        raise table.error("control_mode", "must be 0..6")
    return {"control_mode": mode, "connected": table.flag("connected", True)}


def _profile(table: Table) -> dict[str, Any]:
    period = table.integer("capture_period", 900, minimum=1)
    depth = table.integer("depth", 96, minimum=1)
    if depth > 100_000:
        raise table.error("depth", "at most 100000 entries")
    return {"capture": _capture_refs(table, "capture"), "capture_period": period, "depth": depth}


def _push(table: Table) -> dict[str, Any]:
    destination = table.text("destination")
    if destination == SESSION:
        pass  # pushed over the open connection of the push's client
    elif destination is not None and not destination.startswith(("udp://", "tcp://")):
        raise table.error(
            "destination", f"expected udp://HOST:PORT, tcp://HOST:PORT or {SESSION!r}, got {destination!r}"
        )
    if destination is not None and destination != SESSION:
        host, _, port = destination.partition("://")[2].rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise table.error(
                "destination", f"expected udp://HOST:PORT or tcp://HOST:PORT, got {destination!r}"
            )
    transport = table.text("transport", "wrapper") or "wrapper"
    if transport not in ("wrapper", "hdlc"):
        raise table.error("transport", f"expected wrapper or hdlc, got {transport!r}")
    interval = table.number("interval", None)
    if interval is not None and interval <= 0:
        raise table.error("interval", "must be positive (seconds)")
    return {
        "objects": _capture_refs(table, "objects"),
        "include_self": table.flag("include_self", True),
        "destination": destination,
        "transport": transport,
        "interval": interval,
        "client_sap": table.integer("client_sap", 102),
        "association": table.integer("association", 0),
        "gbt_block_size": table.integer("gbt_block_size", 0),
        "max_info": table.integer("max_info", 128, minimum=32),
    }


@dataclass(frozen=True, slots=True)
class _CaptureRef:
    """A capture object as written: resolved against the objects once all are read."""

    obis: Obis
    attribute: int | None
    data_index: int
    where: str


def _capture_refs(table: Table, key: str) -> tuple[_CaptureRef, ...]:
    raw = table.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise table.error(
            key, f"expected a list of OBIS codes or {{obis, attribute, index}} tables, got {kind_of(raw)}"
        )
    refs = []
    for i, item in enumerate(raw):
        where = f"{table.where(key)}[{i}]"
        if isinstance(item, str):
            refs.append(_CaptureRef(_obis_text(table, key, item), None, 0, where))
            continue
        if not isinstance(item, dict):
            raise table.error(key, f"item {i}: expected an OBIS code or a table, got {kind_of(item)}")
        sub = Table(item, where)
        attribute = sub.integer("attribute", 2, minimum=1) if sub.has("attribute") else None
        refs.append(_CaptureRef(_obis(sub, "obis"), attribute, sub.integer("index", 0), where))
        sub.finish()
    return tuple(refs)


_OBJECT_PARSERS: Final[dict[str, tuple[int, Any, Obis | None]]] = {
    "data": (ClassId.DATA, _data, None),
    "register": (ClassId.REGISTER, _register, None),
    "extended-register": (ClassId.EXTENDED_REGISTER, _extended_register, None),
    "clock": (ClassId.CLOCK, _nothing, CLOCK_OBIS),
    "profile-generic": (ClassId.PROFILE_GENERIC, _profile, None),
    "frame-counter": (ClassId.DATA, _frame_counter, Obis(0, 0, 43, 1, 0, 255)),
    "security-setup": (ClassId.SECURITY_SETUP, _security_setup, Obis(0, 0, 43, 0, 0, 255)),
    "disconnect-control": (ClassId.DISCONNECT_CONTROL, _disconnect, Obis(0, 0, 96, 3, 10, 255)),
    "push-setup": (ClassId.PUSH_SETUP, _push, Obis(0, 0, 25, 9, 0, 255)),
}
"""kind -> (class id, parser of its own keys, default logical name)."""

_AUTOMATIC: Final = {ASSOCIATION_OBIS: "association-ln", SAP_OBIS: "sap-assignment", LDN_OBIS: "data"}


def _object(table: Table) -> ObjectSpec:
    kind = table.text("class")
    if kind is None:
        raise table.error("class", f"missing; one of {', '.join(sorted(_OBJECT_PARSERS))}")
    entry = _OBJECT_PARSERS.get(kind)
    if entry is None:
        raise table.error("class", f"unknown class {kind!r}; known: {', '.join(sorted(_OBJECT_PARSERS))}")
    class_id, parser, default_obis = entry
    obis = _obis(table, "obis", default_obis)
    if obis in _AUTOMATIC:
        raise table.error("obis", f"{obis} is built by the emulator ({_AUTOMATIC[obis]}); leave it out")
    params = parser(table)
    table.finish()
    return ObjectSpec(kind, obis, int(class_id), MappingProxyType(params))


def _resolve_captures(
    objects: dict[Obis, ObjectSpec], refs: tuple[_CaptureRef, ...]
) -> tuple[CaptureObject, ...]:
    out = []
    for ref in refs:
        target = objects.get(ref.obis)
        if target is None:
            raise LocalProtocolError(f"{ref.where}: no object {ref.obis} in this logical device")
        out.append(CaptureObject(target.class_id, ref.obis, ref.attribute or 2, ref.data_index))
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# associations
# ------------------------------------------------------------------------------------------------
_MECHANISMS: Final[dict[str, Mechanism]] = {
    "none": Mechanism.NONE,
    "lls": Mechanism.LLS,
    "hls-md5": Mechanism.HLS_MD5,
    "hls-sha1": Mechanism.HLS_SHA1,
    "hls-gmac": Mechanism.HLS_GMAC,
    "hls-sha256": Mechanism.HLS_SHA256,
}
_POLICIES: Final[dict[str, SecurityPolicy]] = {
    "none": SecurityPolicy.NONE,
    "authenticated": SecurityPolicy.AUTHENTICATED,
    "encrypted": SecurityPolicy.ENCRYPTED,
    "authenticated-encrypted": SecurityPolicy.AUTHENTICATED_ENCRYPTED,
}


def _choice(table: Table, key: str, choices: Mapping[str, Any], default: str) -> Any:
    name = table.text(key, default) or default
    if name not in choices:
        raise table.error(key, f"unknown {key} {name!r}; known: {', '.join(choices)}")
    return choices[name]


def _association(table: Table, system_title: bytes) -> AssociationSpec:
    client = table.integer("client", 16)
    if not 1 <= client <= 0x7F:
        raise table.error("client", "a client SAP is 1..127")
    mechanism: Mechanism = _choice(table, "mechanism", _MECHANISMS, "none")
    public = mechanism is Mechanism.NONE
    rights: dict[Obis, Rights] = {}
    rights_table = table.table("rights")
    for key in rights_table.data:
        obis = _obis_text(rights_table, key, key)
        sub = rights_table.table(key)
        rights[obis] = Rights(
            read=_int_list(sub, "read", 1, 127),
            write=_int_list(sub, "write", 1, 127),
            execute=_int_list(sub, "execute", 1, 127),
        )
        sub.finish()
    max_pdu = table.integer("max_pdu_size", 1024, minimum=12)
    if max_pdu > 0xFFFF:
        raise table.error("max_pdu_size", "at most 65535")
    spec = AssociationSpec(
        client=client,
        name=table.text("name", "public" if public else f"client {client}") or "",
        mechanism=mechanism,
        secret=_bytes_value(table, "secret", "secret_hex"),
        policy=_choice(table, "policy", _POLICIES, "none"),
        key=_hex(table, "key", 16),
        auth_key=_hex(table, "auth_key", 16),
        broadcast_key=_hex(table, "broadcast_key", 16),
        master_key=_hex(table, "master_key", 16),
        max_pdu_size=max_pdu,
        use_gbt=table.flag("gbt", False),
        visible=_obis_set(table, "objects", "all"),
        read=_obis_set(table, "read", "all"),
        write=_obis_set(table, "write", "none" if public else "all"),
        execute=_obis_set(table, "execute", "none" if public else "all"),
        rights=MappingProxyType(rights),
        general_ciphering=table.flag("general_ciphering", False),
    )
    try:
        spec.settings(system_title)
    except LocalProtocolError as exc:
        raise table.error("mechanism", str(exc)) from None
    table.finish()
    return spec


def grants(names: frozenset[Obis] | None, obis: Obis) -> bool:
    """Whether a ``visible``/``read``/``write``/``execute`` set (None: every object) covers ``obis``."""
    return names is None or obis in names


# ------------------------------------------------------------------------------------------------
# logical devices and the whole description
# ------------------------------------------------------------------------------------------------
def _logical_device(table: Table, address: int, name: bytes, system_title: bytes) -> LogicalDeviceSpec:
    objects: dict[Obis, ObjectSpec] = {CLOCK_OBIS: ObjectSpec("clock", CLOCK_OBIS, int(ClassId.CLOCK))}
    explicit_clock = False
    for sub in table.tables("objects"):
        spec = _object(sub)
        if spec.obis in objects and not (spec.kind == "clock" and not explicit_clock):
            raise sub.error("obis", f"{spec.obis} is configured twice")
        explicit_clock = explicit_clock or spec.kind == "clock"
        objects[spec.obis] = spec
    resolved: dict[Obis, ObjectSpec] = {}
    for obis, spec in objects.items():
        params = dict(spec.params)
        for key in ("capture", "objects"):
            if key in params:
                params[key] = _resolve_captures(objects, params[key])
        resolved[obis] = ObjectSpec(spec.kind, obis, spec.class_id, MappingProxyType(params))
    associations = []
    seen: set[int] = set()
    for sub in table.tables("associations"):
        assoc = _association(sub, system_title)
        if assoc.client in seen:
            raise sub.error("client", f"client SAP {assoc.client} has two associations")
        seen.add(assoc.client)
        for key in ("objects", "read", "write", "execute"):
            names = getattr(assoc, {"objects": "visible"}.get(key, key))
            for obis in names or ():
                if obis not in resolved and obis not in _AUTOMATIC:
                    raise sub.error(key, f"no object {obis} in this logical device")
        for obis in assoc.rights:
            if obis not in resolved and obis not in _AUTOMATIC:
                raise sub.error("rights", f"no object {obis} in this logical device")
        associations.append(assoc)
    if not associations:
        associations.append(_association(Table({"client": 16}, table.where("associations")), system_title))
    for spec in resolved.values():
        ref = spec.params.get("association")
        if isinstance(ref, int) and ref and ref not in seen and spec.kind != "push-setup":
            raise LocalProtocolError(f"{spec.kind} {spec.obis}: association {ref} is not configured")
        if spec.kind == "push-setup" and ref and ref not in seen:
            raise LocalProtocolError(f"push-setup {spec.obis}: association {ref} is not configured")
    return LogicalDeviceSpec(address, name, system_title, tuple(resolved.values()), tuple(associations))


def _clock(table: Table) -> ClockSpec:
    deviation = table.raw("deviation")
    if deviation is not None and (
        isinstance(deviation, bool) or not isinstance(deviation, int) or not -720 <= deviation <= 720
    ):
        raise table.error("deviation", f"expected minutes -720..720, got {kind_of(deviation)}")
    speed = table.number("speed", 1.0) or 1.0
    if speed <= 0:
        raise table.error("speed", "must be positive")
    status = table.integer("status", 0)
    if status > 0xFE:
        raise table.error("status", "must be 0..254")
    spec = ClockSpec(table.datetime("origin"), speed, deviation, status)
    table.finish()
    return spec


def _mode_e(table: Table, default_ident: str) -> ModeESpec:
    text = table.text("identification", default_ident) or default_ident
    try:
        ident = Identification.from_text(text.removesuffix("\r\n").removeprefix("/"))
    except MeterlinkError as exc:
        raise table.error("identification", f"not an identification line: {exc}") from None
    if not ident.mode_e_capable:
        raise table.error("identification", f"{text!r} lacks \\2 (mode E) after the baud character")
    spec = ModeESpec(
        ident,
        reaction_time=table.number("reaction_time", 0.2, minimum=0.0) or 0.0,
        switch_delay=table.number("switch_delay", 0.3, minimum=0.0) or 0.0,
        option_timeout=table.number("option_timeout", 2.0, minimum=0.01) or 2.0,
        inactivity_timeout=table.number("inactivity_timeout", 120.0, minimum=0.01) or 120.0,
    )
    table.finish()
    return spec


def _hdlc(table: Table) -> HdlcSpec:
    max_info = table.integer("max_info", 128, minimum=32)
    window = table.integer("window", 1, minimum=1)
    if max_info > 2030:
        raise table.error("max_info", "at most 2030")
    if window > 7:
        raise table.error("window", "at most 7")
    spec = HdlcSpec(max_info, window, table.number("inactivity_timeout", 120.0, minimum=0.01) or 120.0)
    table.finish()
    return spec


def _description(root: Table, source: str) -> DlmsDescription:
    meter = root.table("meter")
    name = meter.text("name", "meterlink DLMS meter") or ""
    physical = meter.integer("physical_address", 17)
    if physical > 0x3FFD:
        raise meter.error("physical_address", "must be 0..16381")
    title = _hex(meter, "system_title", 8) or bytes.fromhex("4D4C4B0000000001")
    ldn = _bytes_value(meter, "logical_device_name", "logical_device_name_hex") or b"MLK0000000000001"
    logical = meter.integer("logical_address", 1, minimum=1)
    if logical > 0x3FFD:
        raise meter.error("logical_address", "must be 1..16381")
    idle = meter.number("idle_timeout", 300.0, minimum=0.01) or 300.0
    meter.finish()
    devices: list[LogicalDeviceSpec] = []
    if root.has("logical_devices"):
        if root.has("objects") or root.has("associations"):
            raise root.error("objects", "with [[logical_devices]], put objects and associations inside them")
        for sub in root.tables("logical_devices"):
            address = sub.integer("address", 1, minimum=1)
            if any(d.address == address for d in devices):
                raise sub.error("address", f"logical device {address} is configured twice")
            dev_name = _bytes_value(sub, "name", "name_hex") or ldn
            dev_title = _hex(sub, "system_title", 8) or title
            devices.append(_logical_device(sub, address, dev_name, dev_title))
            sub.finish()
    else:
        devices.append(_logical_device(root, logical, ldn, title))
    mode_e_ident = f"/MLK5\\2{name[:12].replace(' ', '') or 'DLMS'}"
    description = DlmsDescription(
        name=name,
        physical_address=physical,
        logical_devices=tuple(devices),
        clock=_clock(root.table("clock")),
        hdlc=_hdlc(root.table("hdlc")),
        mode_e=_mode_e(root.table("mode_e"), mode_e_ident),
        idle_timeout=idle,
        source=source,
    )
    root.finish()
    return description


def parse_dlms_description(text: str, *, source: str = "<string>") -> DlmsDescription:
    """Read a DLMS meter description from TOML text (see the module docstring)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocalProtocolError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _description(Table(data, ""), source)
    except LocalProtocolError as exc:
        raise LocalProtocolError(f"{source}: {exc}") from None


def load_dlms_description(path: str | Path) -> DlmsDescription:
    """Read a DLMS meter description from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalProtocolError(f"cannot read meter description {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LocalProtocolError(f"meter description {path} is not UTF-8 text") from None
    return parse_dlms_description(text, source=str(path))


DEFAULT_TEXT: Final = """
[meter]
name = "meterlink DLMS meter"

[[objects]]
class = "register"
obis = "1.0.1.8.0.255"
value = 1234567
scaler = 0
unit = "Wh"
rate_per_hour = 450

[[objects]]
class = "profile-generic"
obis = "1.0.99.1.0.255"
capture = ["0.0.1.0.0.255", "1.0.1.8.0.255"]
capture_period = 900
depth = 96

[[associations]]
client = 16
mechanism = "none"

[[associations]]
client = 1
mechanism = "lls"
secret = "12345678"
"""


def default_dlms_description() -> DlmsDescription:
    """A small meter: an energy register, its load profile, public and LLS management clients."""
    return parse_dlms_description(DEFAULT_TEXT, source="<built-in DLMS meter>")


DEMO_TEXT: Final = """
[meter]
name = "meterlink demo DLMS meter"
system_title = "4D4C4B0000BC614E"

[[objects]]
class = "data"
obis = "0.0.96.1.0.255"
type = "visible-string"
value = "12345678"

[[objects]]
class = "register"
obis = "1.0.1.8.0.255"
value = 12345678
scaler = 0
unit = "Wh"
rate_per_hour = 450

[[objects]]
class = "register"
obis = "1.0.32.7.0.255"
type = "long-unsigned"
value = 2301
scaler = -1
unit = "V"

[[objects]]
class = "profile-generic"
obis = "1.0.99.1.0.255"
capture = ["0.0.1.0.0.255", "1.0.1.8.0.255"]
capture_period = 900
depth = 96

[[associations]]
client = 16
mechanism = "none"
objects = ["0.0.96.1.0.255", "0.0.1.0.0.255", "1.0.1.8.0.255"]

[[associations]]
client = 1
mechanism = "hls-gmac"
policy = "authenticated-encrypted"
key = "000102030405060708090A0B0C0D0E0F"
auth_key = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
"""
"""The demo meter: public client 16 (read-only) and management client 1 with HLS-GMAC and
authenticated encryption, keyed with the Green Book test keys (EK 000102...0F, AK D0D1...DF)."""


def demo_dlms_description() -> DlmsDescription:
    """The meter ``meterlink demo`` and the README read: a ciphered HLS-GMAC association to try."""
    return parse_dlms_description(DEMO_TEXT, source="<demo DLMS meter>")
