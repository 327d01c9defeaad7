"""The DLMS/COSEM client flow, written once as generators; :mod:`.client` runs them blocking or awaited.

A driver is a generator that runs the sans-io stack (:class:`~.association.ClientAssociation` over
an :class:`~.framing.HdlcFraming` or :class:`~.framing.WrapperFraming`) and yields the only two
things it needs from the world: :class:`Write` (these bytes, one datagram on UDP) and
:class:`Read` (whatever arrives before this monotonic deadline). The runner sends back what it
read. Every read has a deadline: the response timeout since the last sign of progress (an APDU in,
or the framing answering bytes with bytes of its own), or the HDLC layer's retransmission deadline
when that comes first. A silent meter therefore ends in :class:`~meterlink.errors.ResponseTimeout`,
never in a hang.

The engine also owns what sits above single requests: typed values (scaler_unit read once per
register and cached), profile reads, the object list, the clock, and the invocation-counter
bootstrap through the public client.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal, TypeVar

from meterlink.dlms import axdr
from meterlink.dlms.apdu import (
    ActionOutcome,
    ActionResult,
    AttributeWithSelection,
    ConfirmedServiceError,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    ExceptionResponse,
    SelectiveAccess,
)
from meterlink.dlms.association import ClientAssociation, NeedData, Settings
from meterlink.dlms.cosem import (
    CLOCK_TIME,
    CaptureObject,
    ClassId,
    CosemAttribute,
    CosemMethod,
    EntryDescriptor,
    ObjectListEntry,
    Profile,
    RangeDescriptor,
    ScalerUnit,
    interface_class,
    interpret,
    parse_buffer,
    parse_capture_objects,
    parse_object_list,
)
from meterlink.dlms.cosem_time import CosemDateTime, DataValueError
from meterlink.dlms.events import (
    ActionCompleted,
    Associated,
    AssociationRefused,
    Event,
    EventReported,
    GetCompleted,
    PushReceived,
    Released,
    ServiceFailed,
    SetCompleted,
)
from meterlink.dlms.framing import ApduIn, Framing, HdlcFraming, LinkDown, LinkUp, Role, WrapperFraming
from meterlink.errors import (
    LinkError,
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    MeterReportedError,
    ObisError,
    ResponseTimeout,
)
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.parameters import DEFAULT_PARAMETERS, HdlcParameters
from meterlink.obis import Obis

__all__ = [
    "ActionError",
    "AssociationRefusedError",
    "DataAccessError",
    "Engine",
    "LinkOptions",
    "Read",
    "ServiceError",
    "Write",
    "attribute_descriptor",
    "guess_class",
    "method_descriptor",
]

T = TypeVar("T")

ASSOCIATION_LN: Final = Obis(0, 0, 40, 0, 0, 255)
CLOCK: Final = Obis(0, 0, 1, 0, 0, 255)
FRAME_COUNTER: Final = Obis(0, 0, 43, 1, 0, 255)
OPEN_START: Final = _dt.datetime(2000, 1, 1)
"""The lower bound of a range read that only gives an end."""
OPEN_END: Final = _dt.datetime(2099, 12, 31, 23, 59, 59)
"""The upper bound of a range read that only gives a start."""
_GUEK: Final = "guek"
"""The association's counter label for the global unicast key (see ``association._GUEK``)."""


# ================================================================================================
# errors the meter reports
# ================================================================================================
class DataAccessError(MeterReportedError):
    """The meter answered a GET or SET of one attribute with a Data-Access-Result other than success."""

    def __init__(self, result: DataAccessResult, attribute: CosemAttributeDescriptor | None = None) -> None:
        where = (
            f" for {attribute.class_id}/{attribute.instance}/{attribute.attribute_id}"
            if attribute is not None
            else ""
        )
        name = getattr(result, "name", str(int(result)))
        super().__init__(name, code=int(result), meaning=f"data-access-result{where}")
        self.result = result
        self.attribute = attribute


class ActionError(MeterReportedError):
    """The meter answered an ACTION with an Action-Result other than success."""

    def __init__(self, result: ActionResult, method: CosemMethodDescriptor | None = None) -> None:
        where = f" for {method.class_id}/{method.instance}/method {method.method_id}" if method else ""
        name = getattr(result, "name", str(int(result)))
        super().__init__(name, code=int(result), meaning=f"action-result{where}")
        self.result = result
        self.method = method


class ServiceError(MeterReportedError):
    """The meter refused a whole request (exception-response or confirmed-service-error)."""

    def __init__(self, error: ExceptionResponse | ConfirmedServiceError) -> None:
        super().__init__(str(error), meaning=type(error).__name__)
        self.error = error


class AssociationRefusedError(MeterReportedError):
    """The meter refused the association (AARE rejected, or our HLS reply refused)."""

    def __init__(self, event: AssociationRefused) -> None:
        super().__init__(event.reason, meaning="association refused")
        self.event = event
        self.reason = event.reason


# ================================================================================================
# what a driver asks of a runner
# ================================================================================================
@dataclass(frozen=True, slots=True)
class Write:
    data: bytes


@dataclass(frozen=True, slots=True)
class Read:
    deadline: float
    """Monotonic time; the runner returns ``b""`` if nothing arrived by then."""


Op = Write | Read
Driver = Generator[Op, bytes, T]


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How the framing under the association is built."""

    transport: Literal["wrapper", "hdlc"] = "wrapper"
    client: int = 16
    server: int = 1
    physical: int | None = None
    datagrams: bool = False
    hdlc_parameters: HdlcParameters = DEFAULT_PARAMETERS
    frame_timeout: float = 1.0
    """HDLC: wait for a frame's answer before repeating it."""
    retries: int = 2
    echo: bool = True

    def __post_init__(self) -> None:
        if self.transport not in ("wrapper", "hdlc"):
            raise LocalProtocolError(f"transport must be 'wrapper' or 'hdlc', not {self.transport!r}")
        if self.transport == "hdlc" and self.datagrams:
            raise LocalProtocolError("HDLC does not run over UDP datagrams here: use the wrapper")
        for name, top in (("client", 0x7F if self.transport == "hdlc" else 0xFFFF), ("server", 0x3FFF)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise LocalProtocolError(f"{name} address must be an int 0..{top}, got {value!r}")

    def framing(self, client: int | None = None) -> Framing:
        sap = self.client if client is None else client
        if self.transport == "hdlc":
            return HdlcFraming(
                Role.CLIENT,
                client_address=sap,
                server_address=HdlcAddress(self.server, self.physical),
                parameters=self.hdlc_parameters,
                response_timeout=self.frame_timeout,
                retries=self.retries,
                echo=self.echo,
            )
        return WrapperFraming(Role.CLIENT, local_port=sap, remote_port=self.server, datagrams=self.datagrams)


# ================================================================================================
# addressing helpers
# ================================================================================================
def _obis(value: object) -> Obis:
    if isinstance(value, Obis):
        obis = value
    elif isinstance(value, str):
        try:
            obis = Obis.parse(value.strip())
        except ObisError as exc:
            raise LocalProtocolError(str(exc)) from None
    elif isinstance(value, bytes | bytearray) and len(value) == 6:
        obis = Obis.from_bytes(bytes(value))
    else:
        raise LocalProtocolError(f"expected an OBIS code, got {value!r}")
    if not obis.is_complete:
        raise LocalProtocolError(f"DLMS needs all six OBIS groups (A-B:C.D.E.F), got {obis}")
    return obis


_BY_C: Final[dict[int, ClassId]] = {
    1: ClassId.CLOCK,
    40: ClassId.ASSOCIATION_LN,
}
"""Abstract objects (A = 0) by their C group."""


def guess_class(obis: Obis) -> int:
    """The interface class an OBIS code usually names, for callers that do not say.

    Abstract objects by their C group (clock, association, frame counters, profiles), and for
    media objects (A > 0) outside the abstract C groups a Register; Data otherwise. Meters differ:
    pass ``class_id`` (or read the object list first) when it matters.
    """
    a, c = obis.a or 0, obis.c
    if c in (98, 99):
        return ClassId.PROFILE_GENERIC
    if a > 0:
        return ClassId.DATA if c in (0, 96, 97) else ClassId.REGISTER
    if c == 43 and obis.d == 0:
        return ClassId.SECURITY_SETUP
    if c == 25 and obis.d == 9:
        return ClassId.PUSH_SETUP
    return _BY_C.get(c or 0, ClassId.DATA)


Target = Obis | str | CosemAttribute | CosemAttributeDescriptor | CaptureObject


def attribute_descriptor(
    target: Target, attribute: int | None, class_id: int | None, classes: dict[Obis, int] | None = None
) -> CosemAttributeDescriptor:
    """One attribute from an OBIS code (text or :class:`Obis`) or any descriptor type meterlink has."""
    if isinstance(target, CosemAttributeDescriptor):
        return target
    if isinstance(target, CosemAttribute):
        return CosemAttributeDescriptor(int(target.interface), target.instance, target.attribute)
    if isinstance(target, CaptureObject):
        return CosemAttributeDescriptor(int(target.class_id), target.logical_name, target.attribute)
    obis = _obis(target)
    if class_id is None:
        class_id = (classes or {}).get(obis) or guess_class(obis)
    return CosemAttributeDescriptor(int(class_id), obis, 2 if attribute is None else attribute)


def method_descriptor(
    target: Obis | str | CosemMethod | CosemMethodDescriptor,
    method: int | None,
    class_id: int | None,
    classes: dict[Obis, int] | None = None,
) -> CosemMethodDescriptor:
    if isinstance(target, CosemMethodDescriptor):
        return target
    if isinstance(target, CosemMethod):
        return CosemMethodDescriptor(int(target.interface), target.instance, target.method)
    if method is None:
        raise LocalProtocolError("which method? pass its number")
    obis = _obis(target)
    if class_id is None:
        class_id = (classes or {}).get(obis) or guess_class(obis)
    return CosemMethodDescriptor(int(class_id), obis, method)


# ================================================================================================
# typed values out
# ================================================================================================
_INT_TYPES: Final[dict[str, type[axdr.TypedInt]]] = {
    "integer": axdr.Integer,
    "long": axdr.Long,
    "double-long": axdr.DoubleLong,
    "long64": axdr.Long64,
    "unsigned": axdr.Unsigned,
    "long-unsigned": axdr.LongUnsigned,
    "double-long-unsigned": axdr.DoubleLongUnsigned,
    "long64-unsigned": axdr.Long64Unsigned,
    "enum": axdr.Enum,
}
_INT_BY_TAG: Final[dict[int, type[axdr.TypedInt]]] = {int(cls.tag): cls for cls in _INT_TYPES.values()}
_OCTET_STRING: Final = 0x09
_SCALED: Final[dict[int, tuple[int, frozenset[int]]]] = {
    ClassId.REGISTER: (3, frozenset({2})),
    ClassId.EXTENDED_REGISTER: (3, frozenset({2})),
    ClassId.DEMAND_REGISTER: (4, frozenset({2, 3})),
}
"""class -> (scaler_unit attribute, attributes it scales)."""


def _head(type_text: str) -> str:
    return type_text.split("{", 1)[0].split("(", 1)[0].split(" ", 1)[0]


def _type_of(class_id: int, attribute: int | None, method: int | None) -> tuple[int | None, str]:
    """The A-XDR tag (None = any) and Blue Book type text of an attribute or method argument."""
    try:
        ic = interface_class(class_id)
    except LocalProtocolError:
        return None, "any"
    if method is not None:
        mspec = ic.method(method)
        if mspec is None:
            return None, "any"
        head = _head(mspec.argument)
        cls = _INT_TYPES.get(head)
        return (int(cls.tag) if cls else (_OCTET_STRING if head == "octet-string" else None)), mspec.argument
    spec = ic.attribute(attribute or 0)
    if spec is None:
        return None, "any"
    return spec.tag, spec.type


def encode_value(
    value: object, class_id: int, *, attribute: int | None = None, method: int | None = None
) -> bytes:
    """A-XDR bytes of a typed value; plain ints and datetimes take their type from the class table."""
    tag, text = _type_of(class_id, attribute, method)
    where = f"class {class_id} " + (f"method {method}" if method is not None else f"attribute {attribute}")
    if isinstance(value, _dt.datetime):
        cdt = CosemDateTime.from_datetime(value, clock_status=0)
        value = cdt.to_bytes() if tag in (None, _OCTET_STRING) else cdt
    elif isinstance(value, CosemDateTime) and tag == _OCTET_STRING:
        value = value.to_bytes()
    elif isinstance(value, int) and not isinstance(value, bool | axdr.TypedInt):
        cls = _INT_BY_TAG.get(tag) if tag is not None else None
        if cls is None:
            raise DataValueError(
                f"a plain int ({value}) has no A-XDR type and {where} is {text!r}: pass a typed value "
                f"such as axdr.DoubleLongUnsigned({value})"
            )
        try:
            value = cls(value)
        except (ValueError, OverflowError, LocalProtocolError) as exc:
            raise DataValueError(f"{value} does not fit {where} ({text}): {exc}") from None
    return axdr.encode(value)  # type: ignore[arg-type]  # axdr refuses what it cannot encode


# ================================================================================================
# the engine
# ================================================================================================
class Engine:
    """Session state and every client operation as a driver; it never does I/O itself."""

    def __init__(self, settings: Settings, link: LinkOptions, *, timeout: float = 5.0) -> None:
        if not timeout > 0:
            raise LocalProtocolError("timeout must be positive")
        self.settings = settings
        self.link = link
        self.timeout = timeout
        self.clock: Callable[[], float] = time.monotonic
        self.assoc = ClientAssociation(settings)
        self.framing: Framing | None = None
        self.associated = False
        self.link_up = False
        self.pushes: deque[PushReceived | EventReported] = deque(maxlen=1000)
        """Pushes and event notifications that arrived while waiting for something else."""
        self.leftover = b""
        """Bytes that came with the link (mode E: what followed the handshake)."""
        self.busy = False
        self._dead = False
        """The peer stopped answering: closing sends its goodbyes without waiting."""
        self._scalers: dict[tuple[int, Obis], ScalerUnit | None] = {}
        self.classes: dict[Obis, int] = {}
        """Class id of each object in the object list, once read."""

    # -- plumbing ---------------------------------------------------------------------------------
    def claim(self) -> None:
        if self.busy:
            raise LocalProtocolError("another operation is running on this client")
        self.busy = True

    def _framing(self) -> Framing:
        if self.framing is None:
            raise LocalProtocolError("the client is not connected")
        return self.framing

    def _flush(self) -> Driver[bool]:
        framing = self._framing()
        now = self.clock()
        for apdu in self.assoc.data_to_send():
            framing.send_apdu(apdu, now)
        wrote = False
        for chunk in framing.data_to_send():
            wrote = True
            yield Write(chunk)
        return wrote

    def _assoc_event(self) -> Event | None:
        while True:
            event = self.assoc.next_event()
            if isinstance(event, PushReceived | EventReported):
                self.pushes.append(event)
                continue
            return None if isinstance(event, NeedData) else event

    def _lost(self) -> None:
        self.link_up = False
        self.associated = False
        with contextlib.suppress(LocalProtocolError):
            self.assoc.link_lost()
        self._assoc_event()  # the "link lost" release, if any
        while self._assoc_event() is not None:
            pass

    def _wait(self, *, link: bool) -> Driver[Event | LinkUp | LinkDown]:
        """Run the stack until the framing reports up/down (``link``) or the association an event."""
        framing = self._framing()
        deadline = self.clock() + self.timeout
        heard = False
        try:
            while True:
                if (yield from self._flush()) and heard:
                    deadline = self.clock() + self.timeout  # the layer answered what came: progress
                heard = False
                if not link and (event := self._assoc_event()) is not None:
                    return event
                item = framing.next_event()
                if isinstance(item, ApduIn):
                    before = self.assoc.progress
                    self.assoc.receive_apdu(item.data)
                    if self.assoc.progress != before:  # pushes do not count: they cannot hold a request
                        deadline = self.clock() + self.timeout
                    continue
                if isinstance(item, LinkDown):
                    self._lost()
                    if link:
                        return item
                    raise LinkError(f"the link went down: {item.reason}")
                if isinstance(item, LinkUp):
                    self.link_up = True
                    if link:
                        return item
                    continue
                if (yield from self._flush()) and heard:  # what the layer says to what came
                    deadline = self.clock() + self.timeout
                heard = False
                frame_deadline = framing.deadline
                until = deadline if frame_deadline is None else min(deadline, frame_deadline)
                data = yield Read(until)
                now = self.clock()
                if data:
                    framing.receive_data(data, now)
                    heard = True
                elif frame_deadline is not None and now >= frame_deadline:
                    framing.time_passed(now)  # repeats a frame, or raises ResponseTimeout
                elif now >= deadline:
                    raise ResponseTimeout(f"no answer from the meter within {self.timeout} s")
        except ResponseTimeout:
            self._dead = True
            raise

    def wait_push(self, timeout: float) -> Driver[PushReceived | EventReported | None]:
        """The oldest push already queued, else the next one arriving within ``timeout`` s (None: none).

        Runs the stack idle: the framing answers what the link layer needs (HDLC RR, segments of a
        long UI push), the association deciphers and joins GBT blocks; nothing is sent upward.
        """
        if not timeout >= 0:
            raise LocalProtocolError("timeout must be zero or positive")
        if not self.pushes:
            framing = self._framing()
            end = self.clock() + timeout
            while not self.pushes:
                yield from self._flush()
                item = framing.next_event()
                if isinstance(item, ApduIn):
                    self.assoc.receive_apdu(item.data)
                    if isinstance(self._assoc_event(), Released):
                        self.associated = False
                        raise LinkError("the association ended while waiting for pushes")
                    continue
                if isinstance(item, LinkDown):
                    self._lost()
                    raise LinkError(f"the link went down: {item.reason}")
                if isinstance(item, LinkUp):
                    self.link_up = True
                    continue
                now = self.clock()
                if now >= end:
                    break
                frame_deadline = framing.deadline
                data = yield Read(end if frame_deadline is None else min(end, frame_deadline))
                now = self.clock()
                if data:
                    framing.receive_data(data, now)
                elif frame_deadline is not None and now >= frame_deadline:
                    framing.time_passed(now)
        return self.pushes.popleft() if self.pushes else None

    # -- sessions ---------------------------------------------------------------------------------
    def _open_link(self, client: int | None = None) -> Driver[None]:
        self.framing = self.link.framing(client)
        self.framing.open(self.clock())
        item = yield from self._wait(link=True)
        if isinstance(item, LinkDown):
            raise LinkError(f"the meter refused the link: {item.reason}")
        if self.leftover:
            leftover, self.leftover = self.leftover, b""
            self.framing.receive_data(leftover, self.clock())

    def _associate(self) -> Driver[Associated]:
        self.assoc.associate()
        event = yield from self._wait(link=False)
        if isinstance(event, AssociationRefused):
            raise AssociationRefusedError(event)
        if not isinstance(event, Associated):
            raise MalformedDataError(f"the association answered {type(event).__name__} to our AARQ")
        self.associated = True
        return event

    def connect(self) -> Driver[Associated]:
        """Link up (SNRM/UA over HDLC), then AARQ/AARE and HLS where configured."""
        if self.associated:
            raise LocalProtocolError("already associated")
        self._dead = False
        yield from self._open_link()
        try:
            return (yield from self._associate())
        except MeterlinkError:
            yield from self._close_link()
            raise

    def _release(self) -> Driver[None]:
        if not self.associated:
            return
        self.associated = False
        if self.assoc.busy:  # a request never answered: the association cannot release normally
            self._lost()
            return
        self.assoc.release()
        while True:
            event = yield from self._wait(link=False)
            if isinstance(event, Released):
                return

    def _close_link(self) -> Driver[None]:
        framing = self.framing
        if framing is None:
            return
        try:
            framing.close(self.clock())
            if self._dead:
                for chunk in framing.data_to_send():
                    yield Write(chunk)  # say goodbye; a dead peer will not answer it
                return
            if isinstance(framing, WrapperFraming) or self.link_up:
                yield from self._wait(link=True)
        finally:
            self.link_up = False
            self.framing = None

    def disconnect(self) -> Driver[None]:
        """RLRQ/RLRE (unless the meter is dead or the quirk says no), then DISC over HDLC.

        Both steps are tried even when the first fails; the first error is raised afterwards.
        """
        error: MeterlinkError | None = None
        try:
            if not self._dead:
                yield from self._release()
            else:
                self._lost()
        except MeterlinkError as exc:
            error = exc
            self._lost()
        try:
            yield from self._close_link()
        except MeterlinkError as exc:
            error = error or exc
        if error is not None and not isinstance(error, ResponseTimeout | LinkError):
            raise error

    # -- requests ---------------------------------------------------------------------------------
    def _require(self) -> None:
        if not self.associated:
            raise LocalProtocolError("not associated: open the client first (use it in a with block)")

    def _request(self, start: Callable[[], int]) -> Driver[Event]:
        self._require()
        start()
        event = yield from self._wait(link=False)
        if isinstance(event, LinkUp | LinkDown):  # pragma: no cover - _wait(link=False) never returns these
            raise AssertionError(event)
        if isinstance(event, ServiceFailed):
            raise ServiceError(event.error)
        if isinstance(event, Released):
            self.associated = False
            raise LinkError(f"the association ended: {event.reason}")
        return event

    def get_results(
        self, items: Sequence[CosemAttributeDescriptor | AttributeWithSelection]
    ) -> Driver[tuple[bytes | DataAccessResult, ...]]:
        """Raw A-XDR per attribute (or the meter's Data-Access-Result): GET, or with-list for several."""
        if len(items) == 1:
            only = items[0]
            if isinstance(only, AttributeWithSelection):
                event = yield from self._request(lambda: self.assoc.get(only.attribute, only.access))
            else:
                event = yield from self._request(lambda: self.assoc.get(only))
        else:
            event = yield from self._request(lambda: self.assoc.get_many(items))
        if not isinstance(event, GetCompleted) or len(event.results) != len(items):
            raise MalformedDataError(f"the meter answered a GET with {event!r}"[:200])
        return event.results

    def get_raw(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None
    ) -> Driver[bytes]:
        (result,) = yield from self.get_results([AttributeWithSelection(attribute, access)])
        if not isinstance(result, bytes):
            raise DataAccessError(result, attribute)
        return result

    def set_results(
        self, items: Sequence[CosemAttributeDescriptor | AttributeWithSelection], values: Sequence[bytes]
    ) -> Driver[tuple[DataAccessResult, ...]]:
        if len(items) == 1:
            item = items[0]
            if isinstance(item, AttributeWithSelection):
                attr, access = item.attribute, item.access
            else:
                attr, access = item, None
            event = yield from self._request(lambda: self.assoc.set(attr, values[0], access))
        else:
            event = yield from self._request(lambda: self.assoc.set_many(items, values))
        if not isinstance(event, SetCompleted) or len(event.results) != len(items):
            raise MalformedDataError(f"the meter answered a SET with {event!r}"[:200])
        return event.results

    def set_raw(
        self, attribute: CosemAttributeDescriptor, data: bytes, access: SelectiveAccess | None = None
    ) -> Driver[None]:
        (result,) = yield from self.set_results([AttributeWithSelection(attribute, access)], [data])
        if result != DataAccessResult.SUCCESS:
            raise DataAccessError(result, attribute)

    def action_raw(
        self, method: CosemMethodDescriptor, parameters: bytes | None = None
    ) -> Driver[bytes | None]:
        event = yield from self._request(lambda: self.assoc.action(method, parameters))
        if not isinstance(event, ActionCompleted) or len(event.outcomes) != 1:
            raise MalformedDataError(f"the meter answered an ACTION with {event!r}"[:200])
        outcome: ActionOutcome = event.outcomes[0]
        if outcome.result != ActionResult.SUCCESS:
            raise ActionError(outcome.result, method)
        if outcome.return_result is not None and outcome.return_result != DataAccessResult.SUCCESS:
            raise DataAccessError(outcome.return_result)
        return outcome.return_data

    # -- typed values -----------------------------------------------------------------------------
    def _scaler(self, attribute: CosemAttributeDescriptor) -> Driver[ScalerUnit | None]:
        scaled = _SCALED.get(attribute.class_id)
        if scaled is None or attribute.attribute_id not in scaled[1]:
            return None
        key = (attribute.class_id, attribute.instance)
        if key not in self._scalers:
            where = CosemAttributeDescriptor(attribute.class_id, attribute.instance, scaled[0])
            (result,) = yield from self.get_results([where])
            scaler: ScalerUnit | None = None
            if isinstance(result, bytes):
                try:
                    scaler = ScalerUnit.from_value(axdr.decode(result))
                except MeterlinkError:
                    scaler = None  # a meter with a broken scaler: values stay unscaled
            self._scalers[key] = scaler
        return self._scalers[key]

    def _typed(self, attribute: CosemAttributeDescriptor, raw: bytes, scaler: ScalerUnit | None) -> object:
        value = axdr.decode(raw)
        try:
            return interpret(attribute.class_id, attribute.attribute_id, value, scaler_unit=scaler)
        except MalformedDataError as exc:
            raise MalformedDataError(exc.message, data=raw, offset=0) from None

    def get_value(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None
    ) -> Driver[object]:
        scaler = yield from self._scaler(attribute)
        raw = yield from self.get_raw(attribute, access)
        return self._typed(attribute, raw, scaler)

    def get_values(self, attributes: Sequence[CosemAttributeDescriptor]) -> Driver[list[object]]:
        """Several attributes in one with-list request; a failed attribute is its DataAccessError."""
        for attribute in attributes:
            yield from self._scaler(attribute)
        results = yield from self.get_results(list(attributes))
        out: list[object] = []
        for attribute, result in zip(attributes, results, strict=True):
            if isinstance(result, bytes):
                scaler = self._scalers.get((attribute.class_id, attribute.instance))
                out.append(self._typed(attribute, result, scaler))
            else:
                out.append(DataAccessError(result, attribute))
        return out

    def read_object_list(self) -> Driver[list[ObjectListEntry]]:
        raw = yield from self.get_raw(CosemAttributeDescriptor(ClassId.ASSOCIATION_LN, ASSOCIATION_LN, 2))
        entries = parse_object_list(raw)
        self.classes.update({e.logical_name: int(e.class_id) for e in entries})
        return entries

    def read_clock(self) -> Driver[_dt.datetime | CosemDateTime | None]:
        raw = yield from self.get_raw(CosemAttributeDescriptor(ClassId.CLOCK, CLOCK, 2))
        value = axdr.decode(raw)
        if isinstance(value, bytes) and len(value) == 12:
            value = CosemDateTime.from_bytes(value)
        if not isinstance(value, CosemDateTime):
            raise MalformedDataError("the clock time is not a date-time", data=raw, offset=0)
        try:
            return value.to_datetime(deviation_sign=self.settings.quirks.deviation_sign)
        except DataValueError:
            return value  # wildcards: not one point in time

    def set_clock(self, when: _dt.datetime | CosemDateTime) -> Driver[None]:
        if isinstance(when, _dt.datetime):
            when = CosemDateTime.from_datetime(
                when, clock_status=0, deviation_sign=self.settings.quirks.deviation_sign
            )
        clock = CosemAttributeDescriptor(ClassId.CLOCK, CLOCK, 2)
        yield from self.set_raw(clock, axdr.encode(when.to_bytes()))

    def read_profile(
        self,
        profile: Obis,
        access: RangeDescriptor | EntryDescriptor | None,
        start: _dt.datetime | CosemDateTime | None = None,
        end: _dt.datetime | CosemDateTime | None = None,
        *,
        scale: bool = True,
    ) -> Driver[Profile]:
        """Columns (3) and capture period (4) first, then the buffer (2), parsed with timestamps."""
        cls = ClassId.PROFILE_GENERIC
        raw_objects = yield from self.get_raw(CosemAttributeDescriptor(cls, profile, 3))
        objects = parse_capture_objects(raw_objects)
        raw_period = yield from self.get_raw(CosemAttributeDescriptor(cls, profile, 4))
        period = axdr.decode(raw_period)
        if isinstance(period, bool) or not isinstance(period, int) or period < 0:
            raise MalformedDataError("capture_period is not a number of seconds", data=raw_period, offset=0)
        if access is None and (start is not None or end is not None):
            clock = next((o for o in objects if o.class_id == ClassId.CLOCK and o.attribute == 2), CLOCK_TIME)
            access = RangeDescriptor(
                start if start is not None else OPEN_START,
                end if end is not None else OPEN_END,
                restricting_object=replace(clock, data_index=0),
            )
        selective = None
        if access is not None:
            selective = SelectiveAccess(*access.to_selective_access())
        scalers: dict[int, ScalerUnit] = {}
        if scale:
            for index, column in enumerate(objects):
                descriptor = CosemAttributeDescriptor(
                    int(column.class_id), column.logical_name, column.attribute
                )
                if column.data_index == 0 and int(column.class_id) in _SCALED:
                    try:
                        scaler = yield from self._scaler(descriptor)
                    except (ServiceError, DataAccessError):
                        scaler = None
                    if scaler is not None:
                        scalers[index] = scaler
        raw = yield from self.get_raw(CosemAttributeDescriptor(cls, profile, 2), selective)
        return parse_buffer(
            raw,
            objects,
            capture_period=int(period),
            scalers=scalers,
            deviation_sign=self.settings.quirks.deviation_sign,
        )

    # -- invocation counter -----------------------------------------------------------------------
    def bootstrap_invocation_counter(self, public_client: int, frame_counter: Obis) -> Driver[int]:
        """Public association on the same link, read the frame counter, release; ours sends value + 1.

        Our own association (and link) is closed first if it is open, and opened again after.
        """
        was_open = self.associated
        if was_open:
            yield from self.disconnect()
        own, self.assoc = self.assoc, ClientAssociation(Settings(quirks=self.settings.quirks))
        try:
            yield from self._open_link(public_client)
            stopped = False
            try:
                yield from self._associate()
                raw = yield from self.get_raw(CosemAttributeDescriptor(ClassId.DATA, frame_counter, 2))
            except GeneratorExit:
                # the runner stopped us (its link failed): a goodbye would yield, which close() forbids
                stopped = True
                self._lost()
                raise
            finally:
                if not stopped:
                    yield from self.disconnect()
        finally:
            self.assoc = own
        value = axdr.decode(raw)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 0xFFFFFFFF:
            raise MalformedDataError("the frame counter is not a 32-bit unsigned number", data=raw, offset=0)
        counters = self.assoc.counters
        counters.set_next_to_send(_GUEK, max(int(value) + 1, counters.peek_send(_GUEK)))
        if was_open:
            yield from self.connect()
        return int(value)


def run_sync(driver: Driver[T], perform: Callable[[Op], bytes]) -> T:
    """Drive to the end with a blocking ``perform``; the runners of both fronts look like this."""
    try:
        op = next(driver)
        while True:
            op = driver.send(perform(op))
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        driver.close()
