"""HDLC (IEC 62056-46 / 62056-7-6): the data link DLMS/COSEM uses on serial lines, sans-io.

:mod:`.crc` (CRC-16/X.25), :mod:`.address` (1/2/4-byte addresses), :mod:`.frames` (one
``Frame`` type, encode/parse), :mod:`.parameters` (SNRM/UA negotiation), :mod:`.framer`
(incremental, length-delimited framing) and :mod:`.connection` (the link state machine for the
client and the server role, with its transition table in :mod:`._state`).
"""

from .address import HdlcAddress, decode_address
from .connection import (
    LLC_REQUEST,
    LLC_RESPONSE,
    NEED_DATA,
    ApduReceived,
    Connected,
    Disconnected,
    DisconnectReason,
    Event,
    FrameDiscarded,
    FrameRejected,
    HdlcConnection,
    NeedData,
    PushReceived,
    Role,
    State,
)
from .crc import fcs, fcs_bytes
from .framer import BadFrame, Framer
from .frames import Frame, FrameKind, FrmrInfo, parse_frame
from .parameters import DEFAULT_PARAMETERS, HdlcParameters, answer_snrm, negotiate

__all__ = [
    "DEFAULT_PARAMETERS",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "NEED_DATA",
    "ApduReceived",
    "BadFrame",
    "Connected",
    "DisconnectReason",
    "Disconnected",
    "Event",
    "Frame",
    "FrameDiscarded",
    "FrameKind",
    "FrameRejected",
    "Framer",
    "FrmrInfo",
    "HdlcAddress",
    "HdlcConnection",
    "HdlcParameters",
    "NeedData",
    "PushReceived",
    "Role",
    "State",
    "answer_snrm",
    "decode_address",
    "fcs",
    "fcs_bytes",
    "negotiate",
    "parse_frame",
]
