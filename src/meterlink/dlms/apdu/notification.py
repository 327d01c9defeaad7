"""Unsolicited APDUs from the meter: data-notification (0x0F, push) and event-notification (0xC2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterlink.dlms import axdr
from meterlink.errors import LocalProtocolError

from ._common import check_bytes, octet_string, start
from .xdlms import CosemAttributeDescriptor, LongInvokeIdAndPriority

__all__ = ["DataNotification", "EventNotificationRequest"]


@dataclass(frozen=True, slots=True)
class DataNotification:
    """``0F long-iip date-time body``: what push setups and HAN ports send.

    ``date_time`` is the content of the OCTET STRING (normally 12 bytes, ``None`` when the
    meter sends ``00``; Gurux also meets 4- and 5-byte time/date, kept as they come). It is
    a length, not an OPTIONAL flag (u9n reads ``0C`` as a flag). Kaifa meters put an A-XDR
    octet-string tag in front (``09 0C ...``); ``tagged_date_time`` records that so the
    notification re-encodes unchanged. ``body`` is the raw A-XDR notification-body Data.
    """

    TAG: ClassVar[int] = 0x0F

    invoke_id: LongInvokeIdAndPriority
    date_time: bytes | None
    body: bytes
    tagged_date_time: bool = False

    def __post_init__(self) -> None:
        if self.date_time is not None:
            check_bytes("date-time", self.date_time)
        check_bytes("notification body", self.body)
        if self.tagged_date_time and self.date_time is None:
            raise LocalProtocolError("a tagged date-time needs a date-time")

    @property
    def value(self) -> axdr.DataValue:
        """The body decoded by :func:`meterlink.dlms.axdr.decode`."""
        return axdr.decode(self.body)

    def to_bytes(self) -> bytes:
        stamp = octet_string(self.date_time or b"")
        if self.tagged_date_time:
            stamp = b"\x09" + stamp
        return b"\x0f" + self.invoke_id.to_bytes() + stamp + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> DataNotification:
        reader = start(data, 0x0F, None, "data-notification")
        iip = LongInvokeIdAndPriority(reader.u32("long-invoke-id-and-priority"))
        tagged = False
        # Kaifa: 09 0C <12 bytes>. An untagged 9-byte date-time starting 0C does not exist.
        if (
            reader.pos + 1 < len(reader.data)
            and reader.data[reader.pos] == 0x09
            and reader.data[reader.pos + 1] == 0x0C
        ):
            tagged = True
            reader.pos += 1
        stamp = reader.octet_string("date-time")
        # The body is the last field: everything left. It is checked when decoded (``.value``),
        # not walked twice here - pushes are decoded by the million at a head-end.
        body = bytes(reader.data[reader.pos :])
        if not body:
            reader.fail("notification-body missing", reader.pos)
        return cls(iip, stamp or None, body, tagged)


@dataclass(frozen=True, slots=True)
class EventNotificationRequest:
    """``C2 (00 | 01 <12-byte time>) descriptor <Data>``: a meter reports an attribute change.

    ``time`` is the content of the OPTIONAL OCTET STRING (``01 0C`` + 12 bytes when present).
    """

    TAG: ClassVar[int] = 0xC2

    attribute: CosemAttributeDescriptor
    data: bytes
    time: bytes | None = None

    def __post_init__(self) -> None:
        check_bytes("attribute value", self.data)
        if self.time is not None:
            check_bytes("time", self.time)

    @property
    def value(self) -> axdr.DataValue:
        return axdr.decode(self.data)

    def to_bytes(self) -> bytes:
        stamp = b"\x00" if self.time is None else b"\x01" + octet_string(self.time)
        return b"\xc2" + stamp + self.attribute.to_bytes() + self.data

    @classmethod
    def from_bytes(cls, data: bytes) -> EventNotificationRequest:
        reader = start(data, 0xC2, None, "event-notification-request")
        at = reader.pos
        flag = reader.u8("time flag")
        stamp = None
        if flag == 1:
            stamp = reader.octet_string("time")
        elif flag != 0:
            reader.fail(f"time flag must be 0 or 1, got {flag}", at)
        attribute = CosemAttributeDescriptor.read(reader)
        value = reader.data_value("attribute-value")
        reader.end("event-notification-request")
        return cls(attribute, value, stamp)
