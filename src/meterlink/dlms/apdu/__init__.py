"""DLMS/COSEM APDUs: the ACSE (AARQ, AARE, RLRQ, RLRE) and the xDLMS services, both directions.

Every APDU is a frozen slotted dataclass with ``to_bytes()`` and ``from_bytes(data)``;
:func:`decode_apdu` picks the class from the first byte. A-XDR Data inside an APDU stays raw
``bytes`` (``.value`` decodes it with :mod:`meterlink.dlms.axdr`), so the COSEM layer chooses the
decoder and block transfer can join blocks without decoding them.

Ciphered APDUs (tags in :data:`CIPHERED_TAGS`) belong to :mod:`meterlink.dlms.security`;
:func:`decode_apdu` refuses them with a clear error so the association layer routes them there.
Short-name services (read/write/information-report) are not implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from meterlink.errors import MalformedDataError

from .acse import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    DiagnosticSource,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from .action import (
    ActionOutcome,
    ActionRequest,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponse,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithPblock,
    decode_action_request,
    decode_action_response,
)
from .enums import (
    ActionResult,
    ConfirmedService,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorKind,
)
from .gbt import GeneralBlockTransfer
from .get import (
    GetRequest,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponse,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_request,
    decode_get_response,
)
from .initiate import DEFAULT_CONFORMANCE, Conformance, InitiateRequest, InitiateResponse
from .notification import DataNotification, EventNotificationRequest
from .set import (
    SetRequest,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponse,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_request,
    decode_set_response,
)
from .xdlms import (
    AttributeWithSelection,
    ConfirmedServiceError,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    ExceptionResponse,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    SelectiveAccess,
)

__all__ = [
    "AARE",
    "AARQ",
    "CIPHERED_TAGS",
    "DEFAULT_CONFORMANCE",
    "RLRE",
    "RLRQ",
    "AcseServiceProviderDiagnostic",
    "AcseServiceUserDiagnostic",
    "ActionOutcome",
    "ActionRequest",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponse",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithPblock",
    "ActionResult",
    "Apdu",
    "ApplicationContextName",
    "AssociationResult",
    "AttributeWithSelection",
    "ConfirmedService",
    "ConfirmedServiceError",
    "Conformance",
    "CosemAttributeDescriptor",
    "CosemMethodDescriptor",
    "DataAccessResult",
    "DataNotification",
    "DiagnosticSource",
    "EventNotificationRequest",
    "ExceptionResponse",
    "ExceptionServiceError",
    "ExceptionStateError",
    "GeneralBlockTransfer",
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "InitiateRequest",
    "InitiateResponse",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "MechanismName",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "SelectiveAccess",
    "ServiceErrorKind",
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
    "decode_apdu",
]

Apdu = (
    AARQ
    | AARE
    | RLRQ
    | RLRE
    | InitiateRequest
    | InitiateResponse
    | ConfirmedServiceError
    | ExceptionResponse
    | GetRequest
    | GetResponse
    | SetRequest
    | SetResponse
    | ActionRequest
    | ActionResponse
    | DataNotification
    | EventNotificationRequest
    | GeneralBlockTransfer
)

CIPHERED_TAGS: Final = frozenset(
    {
        0x21, 0x25, 0x26, 0x28, 0x2C, 0x2D, 0x2E, 0x36, 0x38,  # glo- (global key)
        0x41, 0x45, 0x46, 0x48, 0x4C, 0x4D, 0x4E, 0x56, 0x58,  # ded- (dedicated key)
        0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCF,  # glo- get/set/event/action
        0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD7,  # ded- get/set/event/action
        0xDB, 0xDC, 0xDD, 0xDF,  # general-glo-, general-ded-, general-ciphering, general-signing
    }
)  # fmt: skip
"""First bytes of protected APDUs: hand these to :mod:`meterlink.dlms.security` to unprotect."""

_SHORT_NAME: Final = frozenset({0x05, 0x06, 0x0C, 0x0D, 0x16, 0x18})

_DECODERS: Final[dict[int, Callable[[bytes], Apdu]]] = {
    0x60: AARQ.from_bytes,
    0x61: AARE.from_bytes,
    0x62: RLRQ.from_bytes,
    0x63: RLRE.from_bytes,
    0x01: InitiateRequest.from_bytes,
    0x08: InitiateResponse.from_bytes,
    0x0E: ConfirmedServiceError.from_bytes,
    0x0F: DataNotification.from_bytes,
    0xC0: decode_get_request,
    0xC1: decode_set_request,
    0xC2: EventNotificationRequest.from_bytes,
    0xC3: decode_action_request,
    0xC4: decode_get_response,
    0xC5: decode_set_response,
    0xC7: decode_action_response,
    0xD8: ExceptionResponse.from_bytes,
    0xE0: GeneralBlockTransfer.from_bytes,
}


def decode_apdu(data: bytes | bytearray | memoryview) -> Apdu:
    """Decode one complete, unciphered APDU; only :class:`MalformedDataError` for bad bytes."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data:
        raise MalformedDataError("empty APDU", data=data, offset=0)
    tag = data[0]
    decoder = _DECODERS.get(tag)
    if decoder is not None:
        return decoder(data)
    if tag in CIPHERED_TAGS:
        raise MalformedDataError(f"ciphered APDU (tag {tag:#04x}): unprotect it first", data=data, offset=0)
    if tag in _SHORT_NAME:
        raise MalformedDataError(
            f"short-name referencing APDU (tag {tag:#04x}) is not supported", data=data, offset=0
        )
    raise MalformedDataError(f"unknown APDU tag {tag:#04x}", data=data, offset=0)
