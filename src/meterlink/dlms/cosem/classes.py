"""The interface classes a reader meets, as one declarative table, and value interpretation.

Each class lists its attributes (number -> name, Blue Book type, how to interpret the decoded
value) and its methods (number -> name, argument type). :func:`interpret` turns a decoded A-XDR
value into what the attribute means: logical names become :class:`Obis`, date-time octet strings
:class:`CosemDateTime`, register values with a scaler :class:`Quantity`, enumerations named
members. Values of an unknown class or attribute come back unchanged; so do enumeration codes
the table does not name and non-numeric register values (a numeric interpretation never
guesses). A value whose *shape* contradicts the class (a logical name that is not 6 bytes) raises
:class:`MalformedDataError`: the meter broke the class definition.

The ``type`` strings use Blue Book notation (``"structure{integer, enum}"``, ``"array"``,
``"any"``); :attr:`AttributeSpec.tag` is the A-XDR tag the outer value must have (``None`` = any).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeGuard, TypeVar

from meterlink.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterlink.errors import LocalProtocolError, MalformedDataError
from meterlink.obis import Obis

from .descriptors import CaptureObject, ClassId, CosemAttribute, class_id
from .quantity import Quantity
from .units import ScalerUnit

__all__ = [
    "AssociationStatus",
    "AttributeSpec",
    "BaudRate",
    "ClockBase",
    "ControlMode",
    "ControlState",
    "EncryptionKeyStatus",
    "ImageTransferStatus",
    "InterfaceClass",
    "Kind",
    "LocalPortMode",
    "MessageType",
    "MethodSpec",
    "PushOperationMethod",
    "ResponseTime",
    "ScriptAction",
    "SecurityPolicy",
    "SecurityPolicyV0",
    "SecuritySuite",
    "SendDestination",
    "SingleActionType",
    "SortMethod",
    "TransportService",
    "attribute_name",
    "interface_class",
    "interpret",
    "known_classes",
    "method_name",
]


# -- enumerations the classes define ---------------------------------------------------------------


class SortMethod(enum.IntEnum):
    """Profile generic attribute 5."""

    FIFO = 1
    LIFO = 2
    LARGEST = 3
    SMALLEST = 4
    NEAREST_TO_ZERO = 5
    FARTHEST_FROM_ZERO = 6


class ClockBase(enum.IntEnum):
    """Clock attribute 9."""

    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_50_HZ = 2
    MAINS_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


class ControlState(enum.IntEnum):
    """Disconnect control attribute 3."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class ControlMode(enum.IntEnum):
    """Disconnect control attribute 4: which transitions are allowed (Blue Book modes 0-6)."""

    NONE = 0
    MODE_1 = 1
    MODE_2 = 2
    MODE_3 = 3
    MODE_4 = 4
    MODE_5 = 5
    MODE_6 = 6


class ImageTransferStatus(enum.IntEnum):
    """Image transfer attribute 6."""

    NOT_INITIATED = 0
    INITIATED = 1
    VERIFICATION_INITIATED = 2
    VERIFICATION_SUCCESSFUL = 3
    VERIFICATION_FAILED = 4
    ACTIVATION_INITIATED = 5
    ACTIVATION_SUCCESSFUL = 6
    ACTIVATION_FAILED = 7


class AssociationStatus(enum.IntEnum):
    """Association LN attribute 8."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


class SecurityPolicyV0(enum.IntEnum):
    """Security setup version 0 attribute 2."""

    NOTHING = 0
    ALL_AUTHENTICATED = 1
    ALL_ENCRYPTED = 2
    ALL_AUTHENTICATED_AND_ENCRYPTED = 3


class SecurityPolicy(enum.IntFlag):
    """Security setup version 1 attribute 2 (bit field)."""

    NOTHING = 0
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


class SecuritySuite(enum.IntEnum):
    """Security setup attribute 3."""

    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA_256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA_384 = 2


class BaudRate(enum.IntEnum):
    """comm_speed / baud enumerations of IEC local port and HDLC setup."""

    BAUD_300 = 0
    BAUD_600 = 1
    BAUD_1200 = 2
    BAUD_2400 = 3
    BAUD_4800 = 4
    BAUD_9600 = 5
    BAUD_19200 = 6
    BAUD_38400 = 7
    BAUD_57600 = 8
    BAUD_115200 = 9

    @property
    def rate(self) -> int:
        return _RATES[self]


_RATES: Final = dict(
    zip(BaudRate, (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200), strict=True)
)


class LocalPortMode(enum.IntEnum):
    """IEC local port setup attribute 2 (default_mode)."""

    IEC_62056_21 = 0
    DLMS_COSEM = 1
    NOT_SPECIFIED = 2


class ResponseTime(enum.IntEnum):
    """IEC local port setup attribute 5: minimum time before the meter answers."""

    MS_20 = 0
    MS_200 = 1


class TransportService(enum.IntEnum):
    """Push setup send_destination_and_method: transport."""

    TCP = 0
    UDP = 1
    FTP = 2
    SMTP = 3
    SMS = 4
    HDLC = 5
    MBUS = 6
    ZIGBEE = 7


class MessageType(enum.IntEnum):
    """Push setup send_destination_and_method: message."""

    AXDR_APDU = 0
    XML_APDU = 1


class PushOperationMethod(enum.IntEnum):
    """Push setup version 2 attribute 11."""

    UNCONFIRMED_FAILURE_RETRY = 0
    UNCONFIRMED_MISSING_RETRY = 1
    CONFIRMED = 2


class SingleActionType(enum.IntEnum):
    """Single action schedule attribute 3 (execution_time shape and wildcard rules)."""

    ONE_TIME_WILDCARD_DATE = 1
    SAME_TIMES_WILDCARD_DATE = 2
    SAME_TIMES_NO_WILDCARD_DATE = 3
    DIFFERENT_TIMES_WILDCARD_DATE = 4
    DIFFERENT_TIMES_NO_WILDCARD_DATE = 5


class EncryptionKeyStatus(enum.IntEnum):
    """M-Bus client attribute 14."""

    NO_KEY = 0
    KEY_SET = 1
    KEY_TRANSFERRED = 2
    KEY_SET_AND_TRANSFERRED = 3
    KEY_IN_USE = 4


@dataclass(frozen=True, slots=True)
class ScriptAction:
    """A reference to a script: script table logical name and script selector."""

    script: Obis
    selector: int


@dataclass(frozen=True, slots=True)
class SendDestination:
    """Push setup attribute 3."""

    transport: TransportService | int
    destination: bytes
    message: MessageType | int


# -- interpretation kinds ------------------------------------------------------------------------


class Kind(enum.Enum):
    """How a decoded attribute value is turned into its meaning."""

    OBIS = "obis"
    DATE_TIME = "date-time"
    DATE = "date"
    TIME = "time"
    SCALER_UNIT = "scaler-unit"
    QUANTITY = "quantity"  # numeric, scaled by the scaler_unit argument
    CAPTURE_OBJECTS = "capture-objects"
    CAPTURE_OBJECT = "capture-object"
    VALUE_DEFINITION = "value-definition"  # structure{class_id, logical_name, attribute_index}
    OBJECT_LIST = "object-list"
    SCRIPT = "script"
    SCRIPT_PAIR = "script-pair"  # structure{script, script}
    SCRIPT_PAIRS = "script-pairs"
    SAP_LIST = "sap-list"
    EXECUTION_TIMES = "execution-times"
    SEND_DESTINATION = "send-destination"
    COMMUNICATION_WINDOW = "communication-window"
    EMERGENCY_PROFILE = "emergency-profile"
    MANUFACTURER = "manufacturer"  # EN 13757 three-letter code
    SECURITY_POLICY = "security-policy"  # depends on the class version


_INT8 = "integer"
_U16 = "long-unsigned"
_DLU = "double-long-unsigned"
_OS = "octet-string"
_DT = "octet-string(12)"
_CAPTURE = "array of structure{long-unsigned, octet-string, integer, long-unsigned}"
_VALUE_DEF = "structure{long-unsigned, octet-string, integer}"
_SCRIPT = "structure{octet-string, long-unsigned}"

# Blue Book type names -> A-XDR tag of the outer value.
_TAGS: Final[dict[str, int]] = {
    "null-data": 0x00,
    "array": 0x01,
    "structure": 0x02,
    "boolean": 0x03,
    "bit-string": 0x04,
    "double-long": 0x05,
    "double-long-unsigned": 0x06,
    "octet-string": 0x09,
    "visible-string": 0x0A,
    "utf8-string": 0x0C,
    "bcd": 0x0D,
    "integer": 0x0F,
    "long": 0x10,
    "unsigned": 0x11,
    "long-unsigned": 0x12,
    "compact-array": 0x13,
    "long64": 0x14,
    "long64-unsigned": 0x15,
    "enum": 0x16,
    "float32": 0x17,
    "float64": 0x18,
    "date-time": 0x19,
    "date": 0x1A,
    "time": 0x1B,
}


def _head_tag(type_: str) -> int | None:
    head = type_.split("{", 1)[0].split("(", 1)[0].split(" ", 1)[0]
    return _TAGS.get(head)


EnumType = type[enum.IntEnum] | type[enum.IntFlag]
_E = TypeVar("_E", bound=int)


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of an interface class."""

    number: int
    name: str
    type: str = "any"
    kind: Kind | EnumType | None = None
    since: int = 0
    """First class version that has the attribute."""

    @property
    def tag(self) -> int | None:
        """A-XDR tag of the outer value, ``None`` when the class allows any type (or a CHOICE)."""
        return _head_tag(self.type)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method of an interface class; ``argument`` in Blue Book notation."""

    number: int
    name: str
    argument: str = "integer"
    since: int = 0


@dataclass(frozen=True, slots=True)
class InterfaceClass:
    """An interface class: id, highest version described here, attributes and methods."""

    class_id: ClassId
    name: str
    version: int
    attributes: Mapping[int, AttributeSpec] = field(repr=False)
    methods: Mapping[int, MethodSpec] = field(repr=False)

    def attribute(self, number: int, version: int | None = None) -> AttributeSpec | None:
        spec = self.attributes.get(number)
        if spec is None or (version is not None and spec.since > version):
            return None
        return spec

    def method(self, number: int, version: int | None = None) -> MethodSpec | None:
        spec = self.methods.get(number)
        if spec is None or (version is not None and spec.since > version):
            return None
        return spec


A = AttributeSpec
M = MethodSpec


def _ic(cid: ClassId, version: int, attrs: list[AttributeSpec], methods: list[MethodSpec]) -> InterfaceClass:
    table = {1: A(1, "logical_name", "octet-string(6)", Kind.OBIS)}
    table.update({a.number: a for a in attrs})
    return InterfaceClass(
        cid,
        cid.name.lower(),
        version,
        MappingProxyType(table),
        MappingProxyType({m.number: m for m in methods}),
    )


_RESET = M(1, "reset", "integer")

_CLASSES: Final[dict[int, InterfaceClass]] = {
    ic.class_id: ic
    for ic in (
        _ic(ClassId.DATA, 0, [A(2, "value")], []),
        _ic(
            ClassId.REGISTER,
            0,
            [
                A(2, "value", "any", Kind.QUANTITY),
                A(3, "scaler_unit", "structure{integer, enum}", Kind.SCALER_UNIT),
            ],
            [_RESET],
        ),
        _ic(
            ClassId.EXTENDED_REGISTER,
            0,
            [
                A(2, "value", "any", Kind.QUANTITY),
                A(3, "scaler_unit", "structure{integer, enum}", Kind.SCALER_UNIT),
                A(4, "status"),
                A(5, "capture_time", _DT, Kind.DATE_TIME),
            ],
            [_RESET],
        ),
        _ic(
            ClassId.DEMAND_REGISTER,
            0,
            [
                A(2, "current_average_value", "any", Kind.QUANTITY),
                A(3, "last_average_value", "any", Kind.QUANTITY),
                A(4, "scaler_unit", "structure{integer, enum}", Kind.SCALER_UNIT),
                A(5, "status"),
                A(6, "capture_time", _DT, Kind.DATE_TIME),
                A(7, "start_time_current", _DT, Kind.DATE_TIME),
                A(8, "period", _DLU),
                A(9, "number_of_periods", _U16),
            ],
            [_RESET, M(2, "next_period", "integer")],
        ),
        _ic(
            ClassId.PROFILE_GENERIC,
            1,
            [
                A(2, "buffer", "array"),
                A(3, "capture_objects", _CAPTURE, Kind.CAPTURE_OBJECTS),
                A(4, "capture_period", _DLU),
                A(5, "sort_method", "enum", SortMethod),
                A(
                    6,
                    "sort_object",
                    "structure{long-unsigned, octet-string, integer, long-unsigned}",
                    Kind.CAPTURE_OBJECT,
                ),
                A(7, "entries_in_use", _DLU),
                A(8, "profile_entries", _DLU),
            ],
            [_RESET, M(2, "capture", "integer")],
        ),
        _ic(
            ClassId.CLOCK,
            0,
            [
                A(2, "time", _DT, Kind.DATE_TIME),
                A(3, "time_zone", "long"),
                A(4, "status", "unsigned"),
                A(5, "daylight_savings_begin", _DT, Kind.DATE_TIME),
                A(6, "daylight_savings_end", _DT, Kind.DATE_TIME),
                A(7, "daylight_savings_deviation", _INT8),
                A(8, "daylight_savings_enabled", "boolean"),
                A(9, "clock_base", "enum", ClockBase),
            ],
            [
                M(1, "adjust_to_quarter"),
                M(2, "adjust_to_measuring_period"),
                M(3, "adjust_to_minute"),
                M(4, "adjust_to_preset_time"),
                M(5, "preset_adjusting_time", "structure{octet-string, octet-string, octet-string}"),
                M(6, "shift_time", "long"),
            ],
        ),
        _ic(
            ClassId.SCRIPT_TABLE,
            0,
            [A(2, "scripts", "array of structure{long-unsigned, array}")],
            [M(1, "execute", _U16)],
        ),
        _ic(
            ClassId.ASSOCIATION_LN,
            3,
            [
                A(
                    2,
                    "object_list",
                    "array of structure{long-unsigned, unsigned, octet-string, structure}",
                    Kind.OBJECT_LIST,
                ),
                A(3, "associated_partners_id", "structure{integer, long-unsigned}"),
                A(4, "application_context_name"),
                A(5, "xdlms_context_info", "structure"),
                A(6, "authentication_mechanism_name"),
                A(7, "secret", _OS),
                A(8, "association_status", "enum", AssociationStatus),
                A(9, "security_setup_reference", _OS, Kind.OBIS, since=1),
                A(10, "user_list", "array of structure{unsigned, visible-string}", since=2),
                A(11, "current_user", "structure{unsigned, visible-string}", since=2),
            ],
            [
                M(1, "reply_to_hls_authentication", _OS),
                M(2, "change_hls_secret", _OS),
                M(3, "add_object", "structure"),
                M(4, "remove_object", "structure"),
                M(5, "add_user", "structure{unsigned, visible-string}", since=2),
                M(6, "remove_user", "structure{unsigned, visible-string}", since=2),
            ],
        ),
        _ic(
            ClassId.SAP_ASSIGNMENT,
            0,
            [A(2, "sap_assignment_list", "array of structure{long-unsigned, octet-string}", Kind.SAP_LIST)],
            [M(1, "connect_logical_device", "structure{long-unsigned, octet-string}")],
        ),
        _ic(
            ClassId.IMAGE_TRANSFER,
            0,
            [
                A(2, "image_block_size", _DLU),
                A(3, "image_transferred_blocks_status", "bit-string"),
                A(4, "image_first_not_transferred_block_number", _DLU),
                A(5, "image_transfer_enabled", "boolean"),
                A(6, "image_transfer_status", "enum", ImageTransferStatus),
                A(
                    7,
                    "image_to_activate_info",
                    "array of structure{double-long-unsigned, octet-string, octet-string}",
                ),
            ],
            [
                M(1, "image_transfer_initiate", "structure{octet-string, double-long-unsigned}"),
                M(2, "image_block_transfer", "structure{double-long-unsigned, octet-string}"),
                M(3, "image_verify", "integer"),
                M(4, "image_activate", "integer"),
            ],
        ),
        _ic(
            ClassId.IEC_LOCAL_PORT_SETUP,
            1,
            [
                A(2, "default_mode", "enum", LocalPortMode),
                A(3, "default_baud", "enum", BaudRate),
                A(4, "prop_baud", "enum", BaudRate),
                A(5, "response_time", "enum", ResponseTime),
                A(6, "device_addr", _OS),
                A(7, "pass_p1", _OS),
                A(8, "pass_p2", _OS),
                A(9, "pass_w5", _OS),
            ],
            [],
        ),
        _ic(
            ClassId.ACTIVITY_CALENDAR,
            0,
            [
                A(2, "calendar_name_active", _OS),
                A(3, "season_profile_active", "array"),
                A(4, "week_profile_table_active", "array"),
                A(5, "day_profile_table_active", "array"),
                A(6, "calendar_name_passive", _OS),
                A(7, "season_profile_passive", "array"),
                A(8, "week_profile_table_passive", "array"),
                A(9, "day_profile_table_passive", "array"),
                A(10, "activate_passive_calendar_time", _DT, Kind.DATE_TIME),
            ],
            [M(1, "activate_passive_calendar")],
        ),
        _ic(
            ClassId.REGISTER_MONITOR,
            0,
            [
                A(2, "thresholds", "array"),
                A(3, "monitored_value", _VALUE_DEF, Kind.VALUE_DEFINITION),
                A(4, "actions", f"array of structure{{{_SCRIPT}, {_SCRIPT}}}", Kind.SCRIPT_PAIRS),
            ],
            [],
        ),
        _ic(
            ClassId.SINGLE_ACTION_SCHEDULE,
            0,
            [
                A(2, "executed_script", _SCRIPT, Kind.SCRIPT),
                A(3, "type", "enum", SingleActionType),
                A(
                    4,
                    "execution_time",
                    "array of structure{octet-string(4), octet-string(5)}",
                    Kind.EXECUTION_TIMES,
                ),
            ],
            [],
        ),
        _ic(
            ClassId.IEC_HDLC_SETUP,
            1,
            [
                A(2, "comm_speed", "enum", BaudRate),
                A(3, "window_size_transmit", "unsigned"),
                A(4, "window_size_receive", "unsigned"),
                A(5, "max_info_field_length_transmit", _U16),
                A(6, "max_info_field_length_receive", _U16),
                A(7, "inter_octet_time_out", _U16),
                A(8, "inactivity_time_out", _U16),
                A(9, "device_address", _U16),
            ],
            [],
        ),
        _ic(
            ClassId.PUSH_SETUP,
            2,
            [
                A(2, "push_object_list", _CAPTURE, Kind.CAPTURE_OBJECTS),
                A(
                    3,
                    "send_destination_and_method",
                    "structure{enum, octet-string, enum}",
                    Kind.SEND_DESTINATION,
                ),
                A(
                    4,
                    "communication_window",
                    "array of structure{octet-string(12), octet-string(12)}",
                    Kind.COMMUNICATION_WINDOW,
                ),
                A(5, "randomisation_start_interval", _U16),
                A(6, "number_of_retries", "unsigned"),
                A(7, "repetition_delay"),  # long-unsigned in v0/v1, structure in v2
                A(8, "port_reference", _OS, Kind.OBIS, since=1),
                A(9, "push_client_sap", _INT8, since=1),
                A(10, "push_protection_parameters", "array", since=1),
                A(11, "push_operation_method", "enum", PushOperationMethod, since=2),
                A(
                    12,
                    "confirmation_parameters",
                    "structure{octet-string(12), double-long-unsigned}",
                    since=2,
                ),
                A(13, "last_confirmation_date_time", _DT, Kind.DATE_TIME, since=2),
            ],
            [M(1, "push"), M(2, "reset", since=2)],
        ),
        _ic(
            ClassId.SECURITY_SETUP,
            1,
            [
                A(2, "security_policy", "enum", Kind.SECURITY_POLICY),
                A(3, "security_suite", "enum", SecuritySuite),
                A(4, "client_system_title", _OS),
                A(5, "server_system_title", _OS),
                A(6, "certificates", "array", since=1),
            ],
            [
                M(1, "security_activate", "enum"),
                M(2, "key_transfer", "array of structure{enum, octet-string}"),
                M(3, "key_agreement", "array of structure{enum, octet-string}", since=1),
                M(4, "generate_key_pair", "enum", since=1),
                M(5, "generate_certificate_request", "enum", since=1),
                M(6, "import_certificate", _OS, since=1),
                M(7, "export_certificate", "structure", since=1),
                M(8, "remove_certificate", "structure", since=1),
            ],
        ),
        _ic(
            ClassId.DISCONNECT_CONTROL,
            0,
            [
                A(2, "output_state", "boolean"),
                A(3, "control_state", "enum", ControlState),
                A(4, "control_mode", "enum", ControlMode),
            ],
            [M(1, "remote_disconnect"), M(2, "remote_reconnect")],
        ),
        _ic(
            ClassId.LIMITER,
            0,
            [
                A(2, "monitored_value", _VALUE_DEF, Kind.VALUE_DEFINITION),
                A(3, "threshold_active", "any", Kind.QUANTITY),
                A(4, "threshold_normal", "any", Kind.QUANTITY),
                A(5, "threshold_emergency", "any", Kind.QUANTITY),
                A(6, "min_over_threshold_duration", _DLU),
                A(7, "min_under_threshold_duration", _DLU),
                A(
                    8,
                    "emergency_profile",
                    "structure{long-unsigned, octet-string(12), double-long-unsigned}",
                    Kind.EMERGENCY_PROFILE,
                ),
                A(9, "emergency_profile_group_id_list", "array of long-unsigned"),
                A(10, "emergency_profile_active", "boolean"),
                A(11, "actions", f"structure{{{_SCRIPT}, {_SCRIPT}}}", Kind.SCRIPT_PAIR),
            ],
            [],
        ),
        _ic(
            ClassId.MBUS_CLIENT,
            1,
            [
                A(2, "mbus_port_reference", _OS, Kind.OBIS),
                A(3, "capture_definition", "array of structure{octet-string, octet-string}"),
                A(4, "capture_period", _DLU),
                A(5, "primary_address", "unsigned"),
                A(6, "identification_number", _DLU),
                A(7, "manufacturer_id", _U16, Kind.MANUFACTURER),
                A(8, "version", "unsigned"),
                A(9, "device_type", "unsigned"),
                A(10, "access_number", "unsigned"),
                A(11, "status", "unsigned"),
                A(12, "alarm", "unsigned"),
                A(13, "configuration", _U16, since=1),
                A(14, "encryption_key_status", "enum", EncryptionKeyStatus, since=1),
            ],
            [
                M(1, "slave_install", "unsigned"),
                M(2, "slave_deinstall"),
                M(3, "capture"),
                M(4, "reset_alarm"),
                M(5, "synchronize_clock"),
                M(6, "data_send", "array of structure{octet-string, any}"),
                M(7, "set_encryption_key", _OS),
                M(8, "transfer_key", _OS),
            ],
        ),
    )
}


def known_classes() -> list[InterfaceClass]:
    """Every interface class described here, by id."""
    return [_CLASSES[k] for k in sorted(_CLASSES)]


def interface_class(cid: ClassId | int) -> InterfaceClass:
    """The description of a class; :class:`LocalProtocolError` for a class not in the table."""
    try:
        return _CLASSES[cid]
    except (KeyError, TypeError):
        raise LocalProtocolError(f"interface class {cid!r} is not described in meterlink's table") from None


def attribute_name(cid: ClassId | int, attribute: int, version: int | None = None) -> str | None:
    """Blue Book name of an attribute, ``None`` if unknown (manufacturer attributes are negative)."""
    ic = _CLASSES.get(cid)
    if ic is None:
        return "logical_name" if attribute == 1 else None
    spec = ic.attribute(attribute, version)
    return spec.name if spec is not None else None


def method_name(cid: ClassId | int, method: int, version: int | None = None) -> str | None:
    """Blue Book name of a method, ``None`` if unknown."""
    ic = _CLASSES.get(cid)
    if ic is None:
        return None
    spec = ic.method(method, version)
    return spec.name if spec is not None else None


# -- interpretation ---------------------------------------------------------------------------------


class _Context:
    __slots__ = ("scaler_unit", "version")

    def __init__(self, scaler_unit: ScalerUnit | None, version: int | None) -> None:
        self.scaler_unit = scaler_unit
        self.version = version


def _bad(what: str, value: object) -> MalformedDataError:
    return MalformedDataError(f"{what}, got {value!r}"[:300])


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _obis(value: object) -> Obis:
    if isinstance(value, bytes) and len(value) == 6:
        return Obis.from_bytes(value)
    raise _bad("a logical name is octet-string(6)", value)


def _date_time(value: object) -> CosemDateTime | None:
    if isinstance(value, CosemDateTime):
        return value
    if isinstance(value, bytes):
        if len(value) == 12:
            return CosemDateTime.from_bytes(value)
        if not value:
            return None  # "not set": several meters send an empty octet string
    raise _bad("a date-time is octet-string(12) or date-time", value)


def _date(value: object) -> CosemDate:
    if isinstance(value, CosemDate):
        return value
    if isinstance(value, bytes) and len(value) == 5:
        return CosemDate.from_bytes(value)
    raise _bad("a date is octet-string(5) or date", value)


def _time(value: object) -> CosemTime:
    if isinstance(value, CosemTime):
        return value
    if isinstance(value, bytes) and len(value) == 4:
        return CosemTime.from_bytes(value)
    raise _bad("a time is octet-string(4) or time", value)


def _quantity(value: object, ctx: _Context) -> object:
    su = ctx.scaler_unit
    if su is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return Quantity(value, su.scaler, su.unit)


def _capture_objects(value: object) -> list[CaptureObject]:
    if not isinstance(value, list):
        raise _bad("capture objects are an array", value)
    return [CaptureObject.from_value(item) for item in value]


def _value_definition(value: object) -> CosemAttribute:
    if isinstance(value, tuple) and len(value) == 3:
        cid, ln, attr = value
        if _is_int(cid) and 0 <= cid <= 0xFFFF and _is_int(attr) and -128 <= attr <= 127:
            return CosemAttribute(int(cid), _obis(ln), int(attr))
    raise _bad("a value definition is structure{long-unsigned, octet-string(6), integer}", value)


def _script(value: object) -> ScriptAction:
    if isinstance(value, tuple) and len(value) == 2 and _is_int(value[1]) and value[1] >= 0:
        return ScriptAction(_obis(value[0]), int(value[1]))
    raise _bad("a script reference is structure{octet-string(6), long-unsigned}", value)


def _script_pair(value: object) -> tuple[ScriptAction, ScriptAction]:
    if isinstance(value, tuple) and len(value) == 2:
        return _script(value[0]), _script(value[1])
    raise _bad("an action pair is structure{script, script}", value)


def _script_pairs(value: object) -> list[tuple[ScriptAction, ScriptAction]]:
    if not isinstance(value, list):
        raise _bad("actions are an array", value)
    return [_script_pair(item) for item in value]


def _sap_list(value: object) -> dict[int, bytes]:
    if not isinstance(value, list):
        raise _bad("the SAP assignment list is an array", value)
    out: dict[int, bytes] = {}
    for item in value:
        if not (
            isinstance(item, tuple) and len(item) == 2 and _is_int(item[0]) and isinstance(item[1], bytes)
        ):
            raise _bad("a SAP assignment is structure{long-unsigned, octet-string}", item)
        out[int(item[0])] = item[1]
    return out


def _execution_times(value: object) -> list[tuple[CosemTime, CosemDate]]:
    if not isinstance(value, list):
        raise _bad("execution_time is an array", value)
    out = []
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise _bad("an execution time is structure{time, date}", item)
        out.append((_time(item[0]), _date(item[1])))
    return out


def _send_destination(value: object) -> SendDestination:
    if isinstance(value, tuple) and len(value) == 3:
        transport, destination, message = value
        if _is_int(transport) and isinstance(destination, bytes) and _is_int(message):
            return SendDestination(
                _enum_value(TransportService, transport), destination, _enum_value(MessageType, message)
            )
    raise _bad("send_destination_and_method is structure{enum, octet-string, enum}", value)


def _communication_window(value: object) -> list[tuple[CosemDateTime | None, CosemDateTime | None]]:
    if not isinstance(value, list):
        raise _bad("communication_window is an array", value)
    out = []
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise _bad("a communication window is structure{date-time, date-time}", item)
        out.append((_date_time(item[0]), _date_time(item[1])))
    return out


def _emergency_profile(value: object) -> tuple[int, CosemDateTime | None, int]:
    if isinstance(value, tuple) and len(value) == 3 and _is_int(value[0]) and _is_int(value[2]):
        return int(value[0]), _date_time(value[1]), int(value[2])
    raise _bad("emergency_profile is structure{long-unsigned, date-time, double-long-unsigned}", value)


def _manufacturer(value: object) -> object:
    """EN 13757-3 manufacturer id: three 5-bit letters ('A' = 1) packed into 15 bits."""
    if not _is_int(value) or not 0 <= value <= 0x7FFF:
        return value
    code = int(value)
    letters = [(code >> shift) & 0x1F for shift in (10, 5, 0)]
    if not all(1 <= letter <= 26 for letter in letters):
        return value
    return "".join(chr(64 + letter) for letter in letters)


def _security_policy(value: object, ctx: _Context) -> object:
    if not _is_int(value):
        return value
    if ctx.version == 0:
        return _enum_value(SecurityPolicyV0, value)
    if 0 <= value <= 0xFF:
        return SecurityPolicy(int(value))
    return value


def _enum_value(enum_type: type[_E], value: int) -> _E | int:
    try:
        return enum_type(int(value))
    except ValueError:
        return value


def _object_list(value: object, ctx: _Context) -> object:
    from .object_list import parse_object_list_value

    return parse_object_list_value(value)


_Plain = Callable[[object], object]
_WithCtx = Callable[[object, _Context], object]

_PLAIN: Final[dict[Kind, _Plain]] = {
    Kind.OBIS: _obis,
    Kind.DATE_TIME: _date_time,
    Kind.DATE: _date,
    Kind.TIME: _time,
    Kind.SCALER_UNIT: ScalerUnit.from_value,
    Kind.CAPTURE_OBJECTS: _capture_objects,
    Kind.CAPTURE_OBJECT: CaptureObject.from_value,
    Kind.VALUE_DEFINITION: _value_definition,
    Kind.SCRIPT: _script,
    Kind.SCRIPT_PAIR: _script_pair,
    Kind.SCRIPT_PAIRS: _script_pairs,
    Kind.SAP_LIST: _sap_list,
    Kind.EXECUTION_TIMES: _execution_times,
    Kind.SEND_DESTINATION: _send_destination,
    Kind.COMMUNICATION_WINDOW: _communication_window,
    Kind.EMERGENCY_PROFILE: _emergency_profile,
    Kind.MANUFACTURER: _manufacturer,
}
_CONTEXTUAL: Final[dict[Kind, _WithCtx]] = {
    Kind.QUANTITY: _quantity,
    Kind.SECURITY_POLICY: _security_policy,
    Kind.OBJECT_LIST: _object_list,
}


def interpret(
    cid: ClassId | int,
    attribute: int,
    value: object,
    *,
    scaler_unit: ScalerUnit | None = None,
    version: int | None = None,
) -> object:
    """The meaning of a decoded attribute value, by the class table.

    ``scaler_unit`` scales register-like values (Register/Extended/Demand values, Limiter
    thresholds) to a :class:`Quantity`; ``version`` picks version-dependent readings (Security
    setup v0 policy enum vs v1 bit field; default: latest). ``None`` (null-data) stays ``None``.
    """
    if value is None:
        return None
    ic = _CLASSES.get(class_id(cid) if _is_int(cid) else cid)
    if ic is None:
        return _obis(value) if attribute == 1 else value
    spec = ic.attributes.get(attribute)
    if spec is None or spec.kind is None:
        return value
    kind = spec.kind
    if isinstance(kind, Kind):
        plain = _PLAIN.get(kind)
        if plain is not None:
            return plain(value)
        return _CONTEXTUAL[kind](value, _Context(scaler_unit, version))
    if _is_int(value):
        return _enum_value(kind, value)
    return value
