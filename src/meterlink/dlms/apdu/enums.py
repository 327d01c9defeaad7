"""Result, reason and error codes carried by xDLMS APDUs (IEC 62056-5-3).

All are open enums: a value the standard does not name decodes to ``UNKNOWN_<n>`` and encodes
back to the same byte, because a meter's vendor-specific code is still an answer worth showing.
"""

from __future__ import annotations

from typing import Final

from ._common import OpenIntEnum

__all__ = [
    "ActionResult",
    "ConfirmedService",
    "DataAccessResult",
    "ExceptionServiceError",
    "ExceptionStateError",
    "ServiceErrorKind",
    "service_error_reason_name",
]


class DataAccessResult(OpenIntEnum):
    """Data-Access-Result of GET and SET."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(OpenIntEnum):
    """Action-Result of ACTION; same numbers as :class:`DataAccessResult`, action wording."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class ExceptionStateError(OpenIntEnum):
    """state-error of an exception-response."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ExceptionServiceError(OpenIntEnum):
    """service-error of an exception-response; only 6 carries a value (the expected counter)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


class ConfirmedService(OpenIntEnum):
    """Which service a confirmedServiceError answers (the CHOICE of ConfirmedServiceError)."""

    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6
    GET_DATA_SET_ATTRIBUTE = 7
    GET_TI_ATTRIBUTE = 8
    CHANGE_SCOPE = 9
    START = 10
    STOP = 11
    RESUME = 12
    MAKE_USABLE = 13
    INITIATE_LOAD = 14
    LOAD_SEGMENT = 15
    TERMINATE_LOAD = 16
    INITIATE_UPLOAD = 17
    UPLOAD_SEGMENT = 18
    TERMINATE_UPLOAD = 19


class ServiceErrorKind(OpenIntEnum):
    """The CHOICE of ServiceError; each kind has its own list of reasons."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    CHANGE_SCOPE = 8
    TASK = 9
    OTHER = 10


_REASONS: Final[dict[int, tuple[str, ...]]] = {
    0: (
        "other",
        "time-elapsed",
        "application-unreachable",
        "application-reference-invalid",
        "application-context-unsupported",
        "provider-communication-error",
        "deciphering-error",
    ),
    1: (
        "other",
        "memory-unavailable",
        "processor-resource-unavailable",
        "mass-storage-unavailable",
        "other-resource-unavailable",
    ),
    2: ("other", "no-dlms-context", "loading-data-set", "status-nochange", "status-inoperable"),
    3: ("other", "pdu-size", "service-unsupported"),
    4: ("other", "object-undefined", "object-class-inconsistent", "object-attribute-inconsistent"),
    5: (
        "other",
        "scope-of-access-violated",
        "object-access-violated",
        "hardware-fault",
        "object-unavailable",
    ),
    6: (
        "other",
        "dlms-version-too-low",
        "incompatible-conformance",
        "pdu-size-too-short",
        "refused-by-the-VDE-handler",
    ),
    7: (
        "other",
        "primitive-out-of-sequence",
        "not-loadable",
        "dataset-size-too-large",
        "not-awaited-segment",
        "interpretation-failure",
        "storage-failure",
        "data-set-not-ready",
    ),
    8: ("other",),
    9: ("other", "no-remote-control", "ti-stopped", "ti-running", "ti-unusable"),
    10: ("other",),
}


def service_error_reason_name(kind: int, reason: int) -> str:
    """The standard's name of ``reason`` within ServiceError ``kind`` (``unknown-<n>`` otherwise)."""
    names = _REASONS.get(kind, ())
    return names[reason] if 0 <= reason < len(names) else f"unknown-{reason}"
