"""The DLMS/COSEM application association, sans-io, for both roles.

:class:`ClientAssociation` opens an association (no authentication, LLS, or the 4-pass HLS
mechanisms), runs GET/SET/ACTION in every form with block transfer both ways and
general-block-transfer, ciphers with security suite 0 where the settings say so, and releases.
:class:`ServerAssociation` is the meter side of the same table (``_state.py``): it checks the
AARQ, runs HLS, splits long answers into blocks and asks a :class:`ServerApplication` for the
values.

Both take whole APDUs (``receive_apdu``) from the layer below (HDLC or the wrapper) and hand
whole APDUs to send out of ``data_to_send()``; what the caller must act on comes out of
``next_event()``. Nothing here touches a socket or a clock.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.dlms import axdr
from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.dlms._state import CLIENT_TABLE, LOCAL_INPUTS, SERVER_TABLE, Input, Row, State
from meterlink.dlms.apdu import (
    AARE,
    AARQ,
    CIPHERED_TAGS,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionOutcome,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithPblock,
    ActionResult,
    ApplicationContextName,
    AssociationResult,
    AttributeWithSelection,
    ConfirmedService,
    ConfirmedServiceError,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    GeneralBlockTransfer,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
    SelectiveAccess,
    ServiceErrorKind,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_apdu,
)
from meterlink.dlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
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
from meterlink.dlms.quirks import Quirks
from meterlink.dlms.security import (
    CipheredApdu,
    CipheredKind,
    HlsParameters,
    InvocationCounters,
    Mechanism,
    SecurityControl,
    SecurityPolicy,
    client_response,
    make_challenge,
    parse_ciphered,
    protect,
    server_response,
    unprotect,
    verify_client_response,
    verify_server_response,
)
from meterlink.errors import (
    AuthenticationError,
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    SecurityError,
    UnexpectedMessageError,
)

__all__ = [
    "CLIENT_CONFORMANCE",
    "NEED_DATA",
    "SERVER_CONFORMANCE",
    "ClientAssociation",
    "NeedData",
    "SecuritySettings",
    "ServerApplication",
    "ServerAssociation",
    "Settings",
]

ASSOCIATION_CLASS: Final = 15
REPLY_TO_HLS: Final = 1

_C = Conformance
CLIENT_CONFORMANCE: Final = (
    _C.GENERAL_PROTECTION
    | _C.GENERAL_BLOCK_TRANSFER
    | _C.ATTRIBUTE0_SUPPORTED_WITH_GET
    | _C.BLOCK_TRANSFER_WITH_GET_OR_READ
    | _C.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | _C.BLOCK_TRANSFER_WITH_ACTION
    | _C.MULTIPLE_REFERENCES
    | _C.DATA_NOTIFICATION
    | _C.GET
    | _C.SET
    | _C.SELECTIVE_ACCESS
    | _C.EVENT_NOTIFICATION
    | _C.ACTION
)
"""What our client proposes: every LN service it can run."""
SERVER_CONFORMANCE: Final = CLIENT_CONFORMANCE
"""What our emulated meter supports by default."""

_CIPHER_OVERHEAD: Final = 32
"""Envelope bytes around a ciphered APDU, generously: tag, length, [title], SC, IC, GCM tag."""
_BLOCK_HEADER: Final = 24
"""Bytes around the raw data of a block APDU (tag, choice, invoke id, descriptor, numbers, length)."""


_SECRET_BASED: Final = frozenset(
    {Mechanism.LLS, Mechanism.HLS, Mechanism.HLS_MD5, Mechanism.HLS_SHA1, Mechanism.HLS_SHA256}
)
_KNOWN_MECHANISMS: Final = frozenset(int(m) for m in Mechanism)


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Keys and policy of one association. ``system_title`` is *ours* (8 bytes)."""

    policy: SecurityPolicy = SecurityPolicy.NONE
    key: bytes | None = None
    """The global unicast encryption key (GUEK)."""
    auth_key: bytes | None = None
    broadcast_key: bytes | None = None
    dedicated_key: bytes | None = None
    """Client: propose dedicated ciphering with this key (sent inside the ciphered AARQ)."""
    system_title: bytes | None = None
    general_ciphering: bool = False
    """Use general-glo/-ded-ciphering envelopes instead of the service-specific glo-/ded- tags."""
    verify: bool = True
    """False: decipher without checking the GCM tag (explicit opt-in, when the AK is not known)."""

    @property
    def ciphered(self) -> bool:
        return self.policy is not SecurityPolicy.NONE

    def check(self, need_title: bool) -> None:
        for name in ("key", "auth_key", "broadcast_key", "dedicated_key"):
            value = getattr(self, name)
            if value is not None and len(value) != 16:
                raise LocalProtocolError(f"{name} must be 16 bytes (security suite 0), not {len(value)}")
        if self.system_title is not None and len(self.system_title) != 8:
            raise LocalProtocolError(f"system_title must be 8 bytes, not {len(self.system_title)}")
        if self.ciphered:
            if self.key is None:
                raise LocalProtocolError(f"policy {self.policy.name} needs the encryption key")
            if self.policy & SecurityPolicy.AUTHENTICATED and self.auth_key is None and self.verify:
                raise LocalProtocolError(f"policy {self.policy.name} needs the authentication key")
        if (self.ciphered or need_title) and self.system_title is None:
            raise LocalProtocolError("ciphering and HLS-GMAC/SHA-256 need our system_title")


@dataclass(frozen=True, slots=True)
class Settings:
    """One association's parameters, for either role."""

    mechanism: Mechanism = Mechanism.NONE
    secret: bytes | None = None
    """LLS password, or the HLS secret (MD5, SHA-1, SHA-256, manufacturer mechanism 2)."""
    security: SecuritySettings = field(default_factory=SecuritySettings)
    conformance: Conformance = CLIENT_CONFORMANCE
    """Client: proposed. Server: supported (negotiated = proposed & supported)."""
    max_receive_pdu_size: int = 0xFFFF
    quirks: Quirks = field(default_factory=Quirks)
    use_gbt: bool = False
    """Send long APDUs as general-block-transfer when both sides support it."""
    challenge: Callable[[int], bytes] = make_challenge
    """Source of HLS challenges (tests pass a fixed one to reproduce Green Book examples)."""

    def __post_init__(self) -> None:
        if not 12 <= self.max_receive_pdu_size <= 0xFFFF:
            raise LocalProtocolError("max_receive_pdu_size must be 12..65535")
        if self.mechanism in _SECRET_BASED and not self.secret:
            raise LocalProtocolError(f"mechanism {self.mechanism.name} needs a secret")
        if self.mechanism is Mechanism.HLS_GMAC and (self.security.key is None):
            raise LocalProtocolError("HLS-GMAC needs the encryption key (and usually the authentication key)")
        self.security.check(self.mechanism in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256))


class ServerApplication(Protocol):
    """What a meter serves. Raw A-XDR in and out; the association does framing and blocks."""

    def get(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None
    ) -> bytes | DataAccessResult: ...

    def set(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None, data: bytes
    ) -> DataAccessResult: ...

    def action(self, method: CosemMethodDescriptor, parameters: bytes | None) -> ActionOutcome: ...


# ================================================================================================
# helpers
# ================================================================================================
_GUEK, _DEDICATED, _GBEK = "guek", "dedicated", "gbek"


def _octet_string(value: bytes) -> bytes:
    return b"\x09" + encode_length(len(value)) + value


def _read_octet_string(data: bytes, what: str) -> bytes:
    value = axdr.decode(data)
    if not isinstance(value, bytes):
        raise MalformedDataError(f"{what} must be an octet-string", data=data, offset=0)
    return value


def _encode_results(results: Sequence[bytes | DataAccessResult]) -> bytes:
    """SEQUENCE OF Get-Data-Result, the raw data of a blocked get-with-list answer."""
    out = bytearray(encode_length(len(results)))
    for item in results:
        if isinstance(item, bytes):
            out += b"\x00" + item
        else:
            out += bytes((1, int(item)))
    return bytes(out)


def _decode_results(raw: bytes) -> tuple[bytes | DataAccessResult, ...]:
    count, pos = decode_length(raw, 0)
    results: list[bytes | DataAccessResult] = []
    for _ in range(count):
        if pos >= len(raw):
            raise MalformedDataError("get-with-list blocks end before their results", data=raw, offset=pos)
        choice = raw[pos]
        if choice == 0:
            end = axdr.skip(raw, pos + 1)
            results.append(raw[pos + 1 : end])
            pos = end
        elif choice == 1 and pos + 1 < len(raw):
            results.append(DataAccessResult(raw[pos + 1]))
            pos += 2
        else:
            raise MalformedDataError("bad Get-Data-Result choice", data=raw, offset=pos)
    if pos != len(raw):
        raise MalformedDataError("bytes after the get-with-list results", data=raw, offset=pos)
    return tuple(results)


def _encode_values(values: Sequence[bytes]) -> bytes:
    return encode_length(len(values)) + b"".join(values)


def _decode_values(raw: bytes, count: int) -> tuple[bytes, ...]:
    n, pos = decode_length(raw, 0)
    if n != count:
        raise MalformedDataError(f"{n} values for {count} attributes", data=raw, offset=0)
    values = []
    for _ in range(n):
        end = axdr.skip(raw, pos)
        values.append(raw[pos:end])
        pos = end
    if pos != len(raw):
        raise MalformedDataError("bytes after the set-with-list values", data=raw, offset=pos)
    return tuple(values)


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


_REQUESTS: Final = (
    GetRequestNormal,
    GetRequestNext,
    GetRequestWithList,
    SetRequestNormal,
    SetRequestWithFirstDatablock,
    SetRequestWithDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    ActionRequestNormal,
    ActionRequestNextPblock,
    ActionRequestWithList,
    ActionRequestWithFirstPblock,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
)
_RESPONSES: Final = (
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    SetResponseNormal,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseWithList,
    ActionResponseNormal,
    ActionResponseWithPblock,
    ActionResponseWithList,
    ActionResponseNextPblock,
)


def _classify(apdu: Any) -> Input:
    if isinstance(apdu, _RESPONSES):
        return Input.RESPONSE
    if isinstance(apdu, _REQUESTS):
        return Input.REMOTE_REQUEST
    if isinstance(apdu, DataNotification | EventNotificationRequest):
        return Input.PUSH
    if isinstance(apdu, ExceptionResponse | ConfirmedServiceError):
        return Input.ERROR
    if isinstance(apdu, GeneralBlockTransfer):
        return Input.GBT
    if isinstance(apdu, AARQ):
        return Input.AARQ
    if isinstance(apdu, AARE):
        return Input.AARE
    if isinstance(apdu, RLRQ):
        return Input.RLRQ
    if isinstance(apdu, RLRE):
        return Input.RLRE
    raise MalformedDataError(f"{type(apdu).__name__} has no place in an LN association", data=apdu.to_bytes())


# ================================================================================================
# the part both roles share: state table, ciphering, general-block-transfer
# ================================================================================================
class _Association:
    _table: dict[tuple[State, Input], Row]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = State.IDLE
        self.counters = InvocationCounters()
        """Invocation counters per key and direction; persist ``counters.to_dict()`` across runs."""
        self.peer_system_title: bytes | None = None
        self.conformance = Conformance(0)
        """Negotiated conformance, once associated."""
        self.peer_max_pdu_size = 0xFFFF
        self.progress = 0
        """Counts every input but pushes: a driver restarts its response deadline when it moves, so a
        meter that keeps pushing cannot hold a request open forever."""
        self._ciphered = False
        """The association (not just the settings) runs ciphered."""
        self._dedicated: bytes | None = None
        self._out: list[bytes] = []
        self._events: collections.deque[Event] = collections.deque()
        self._gbt_rx = bytearray()
        self._gbt_rx_next = 1
        self._gbt_tx: list[bytes] = []
        self._gbt_tx_number = 0
        self._gbt_rx_window = 1

    # -- public plumbing --------------------------------------------------------------------
    def data_to_send(self) -> list[bytes]:
        """APDUs to hand to the link, in order (already ciphered where needed)."""
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def events(self) -> list[Event]:
        out = list(self._events)
        self._events.clear()
        return out

    def link_lost(self) -> None:
        """The link below went down: the association is gone with it."""
        self._input(Input.LINK_LOST, None)

    def receive_apdu(self, data: bytes) -> None:
        """One whole APDU from the link (HDLC information field or wrapper payload)."""
        data = bytes(data)
        if not data:
            raise MalformedDataError("an empty APDU", data=data, offset=0)
        ciphered: CipheredApdu | None = None
        plain = data
        if data[0] in CIPHERED_TAGS:
            ciphered, plain = self._unprotect(data)
        apdu = decode_apdu(plain)
        inp = _classify(apdu)
        if ciphered is None and self._ciphered and inp in (Input.RESPONSE, Input.REMOTE_REQUEST):
            raise SecurityError(
                f"unprotected {type(apdu).__name__} in a ciphered association", data=data, offset=0
            )
        self._current_envelope = ciphered
        self._input(inp, apdu, raw=data)

    # -- the table --------------------------------------------------------------------------
    def _input(self, inp: Input, apdu: Any, raw: bytes = b"") -> None:
        row = self._table.get((self.state, inp))
        if row is None:
            if inp in LOCAL_INPUTS:
                raise LocalProtocolError(f"cannot do {inp.value} while {self.state.value}")
            raise UnexpectedMessageError(f"{inp.value} while {self.state.value}", data=raw, offset=0)
        handler, allowed = row
        if inp is not Input.PUSH:
            self.progress += 1
        new: State = getattr(self, "_" + handler)(apdu)
        if new not in allowed:  # pragma: no cover - a bug in a handler, caught by the table tests
            raise AssertionError(f"{handler} went to {new} from {self.state}")
        self.state = new

    # -- ciphering --------------------------------------------------------------------------
    def _key_for(self, kind: CipheredKind) -> tuple[str, bytes]:
        sec = self.settings.security
        if kind in (CipheredKind.DED, CipheredKind.GENERAL_DED):
            if self._dedicated is None:
                raise LocalProtocolError("no dedicated key in this association")
            return _DEDICATED, self._dedicated
        if sec.key is None:
            raise LocalProtocolError("no encryption key configured")
        return _GUEK, sec.key

    def _protect(self, plain: bytes, *, kind: CipheredKind | None = None) -> bytes:
        sec = self.settings.security
        if kind is None:
            if self._dedicated is not None:
                kind = CipheredKind.GENERAL_DED if sec.general_ciphering else CipheredKind.DED
            else:
                kind = CipheredKind.GENERAL_GLO if sec.general_ciphering else CipheredKind.GLO
        name, key = self._key_for(kind)
        assert sec.system_title is not None  # checked by the settings
        return protect(
            plain,
            kind=kind,
            security_control=SecurityControl.for_policy(sec.policy),
            system_title=sec.system_title,
            invocation_counter=self.counters.next_to_send(name),
            key=key,
            auth_key=sec.auth_key,
            include_system_title=not self.settings.quirks.empty_system_title,
        )

    def _unprotect(self, data: bytes) -> tuple[CipheredApdu, bytes]:
        sec = self.settings.security
        if sec.key is None and self._dedicated is None:
            raise SecurityError("a ciphered APDU, but no key is configured", data=data, offset=0)
        envelope = parse_ciphered(data)
        sc = envelope.security_control
        if sec.verify and sec.policy & SecurityPolicy.AUTHENTICATED and not sc.authenticated:
            # an SC without the A bit carries no tag: accepting it would let anyone on the path
            # strip the tag and flip bits of the (CTR-mode) ciphertext
            raise SecurityError(
                f"SC 0x{sc.to_byte():02X} carries no authentication tag; policy {sec.policy.name} needs one",
                data=data,
                offset=len(data) - len(envelope.payload) - 5,
            )
        dedicated = envelope.kind in (CipheredKind.DED, CipheredKind.GENERAL_DED)
        key = self._dedicated if dedicated else sec.key
        if key is None:
            raise SecurityError("a dedicated-key APDU, but no dedicated key was agreed", data=data, offset=0)
        envelope, plain = unprotect(
            data,
            key=key,
            auth_key=sec.auth_key,
            system_title=self.peer_system_title,
            verify=sec.verify,
            broadcast_key=sec.broadcast_key,
        )
        name = _DEDICATED if dedicated else (_GBEK if envelope.security_control.broadcast_key else _GUEK)
        title = envelope.system_title or self.peer_system_title or b""
        self.counters.accept(f"{name}:{title.hex()}", envelope.invocation_counter)
        return envelope, plain

    def _send(self, plain: bytes, *, cipher: bool | None = None) -> None:
        """Queue one APDU: ciphered when the association is, cut into GBT blocks when too long."""
        data = self._protect(plain) if (self._ciphered if cipher is None else cipher) else plain
        limit = self.peer_max_pdu_size
        if len(data) > limit and self._gbt_allowed():
            size = max(16, limit - 12)
            self._gbt_tx = _chunks(data, size)
            self._gbt_tx_number = 0  # every transfer numbers its blocks from 1
            self._gbt_send_next()
            return
        self._out.append(data)

    def _gbt_allowed(self) -> bool:
        return self.settings.use_gbt and bool(self.conformance & Conformance.GENERAL_BLOCK_TRANSFER)

    def _gbt_send_next(self) -> None:
        block = self._gbt_tx.pop(0)
        self._gbt_tx_number += 1
        last = not self._gbt_tx
        self._out.append(
            GeneralBlockTransfer(
                block_number=self._gbt_tx_number,
                block_data=block,
                last_block=last,
                streaming=False,
                window=1,
                ack_number=self._gbt_rx_next - 1,
            ).to_bytes()
        )

    def _on_gbt(self, block: GeneralBlockTransfer) -> State:
        if not block.block_data and not block.last_block:
            # an acknowledgement of what we sent: carry on with the next block
            if self._gbt_tx:
                self._gbt_send_next()
            return self.state
        if block.block_number != self._gbt_rx_next:
            raise UnexpectedMessageError(
                f"general-block-transfer block {block.block_number}, expected {self._gbt_rx_next}",
                data=block.to_bytes(),
                offset=0,
            )
        if block.block_number == 1:
            self._gbt_tx_number = 0  # our acknowledgements of this transfer count from 1 too
        self._gbt_rx += block.block_data
        self._gbt_rx_next += 1
        if not block.last_block:
            if not block.streaming:
                self._gbt_tx_number += 1
                self._out.append(
                    GeneralBlockTransfer(
                        block_number=self._gbt_tx_number,
                        block_data=b"",
                        last_block=False,
                        window=1,
                        ack_number=block.block_number,
                    ).to_bytes()
                )
            return self.state
        whole = bytes(self._gbt_rx)
        self._gbt_rx.clear()
        self._gbt_rx_next = 1
        self.receive_apdu(whole)  # the joined APDU runs through the table like any other
        return self.state

    def _room(self, header: int) -> int:
        """Raw bytes that fit in one block APDU to the peer."""
        overhead = header + (_CIPHER_OVERHEAD if self._ciphered else 0)
        return max(16, self.peer_max_pdu_size - overhead)

    def _fits(self, plain: bytes) -> bool:
        return len(plain) + (_CIPHER_OVERHEAD if self._ciphered else 0) <= self.peer_max_pdu_size

    def _on_link_lost(self, _: object) -> State:
        self._reset()
        self._events.append(Released("link lost"))
        return State.IDLE

    def _reset(self) -> None:
        self._ciphered = False
        self._dedicated = None
        self._gbt_rx.clear()
        self._gbt_rx_next = 1
        self._gbt_tx = []
        self._gbt_tx_number = 0


# ================================================================================================
# client
# ================================================================================================
@dataclass(slots=True)
class _Pending:
    kind: str
    invoke: InvokeIdAndPriority
    count: int = 1
    received: bytearray = field(default_factory=bytearray)
    next_block: int = 1
    outgoing: list[bytes] = field(default_factory=list)
    """Blocks of our own request still to send (SET data blocks, ACTION pblocks)."""
    sent_block: int = 0
    items: tuple[AttributeWithSelection, ...] = ()
    methods: tuple[CosemMethodDescriptor, ...] = ()


class ClientAssociation(_Association):
    """The client (head-end, HHU) side of one association."""

    _table = CLIENT_TABLE

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings or Settings())
        self._invoke = InvokeIdAndPriority.make(
            0, confirmed=True, high_priority=self.settings.quirks.high_priority
        )
        self._pending: _Pending | None = None
        self._client_challenge = b""
        self._server_challenge = b""
        self._current_envelope: CipheredApdu | None = None

    # -- what the caller does ---------------------------------------------------------------
    def associate(self) -> None:
        """Queue the AARQ."""
        self._input(Input.ASSOCIATE, None)

    def get(self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None) -> int:
        """Queue a GET; returns the invoke id its :class:`GetCompleted` will carry."""
        invoke = self._next_invoke()
        self._input(Input.REQUEST, ("get", GetRequestNormal(invoke, attribute, access)))
        return invoke.invoke_id

    def get_many(self, items: Sequence[CosemAttributeDescriptor | AttributeWithSelection]) -> int:
        """Queue a get-with-list (one request for several attributes)."""
        wrapped = tuple(
            i if isinstance(i, AttributeWithSelection) else AttributeWithSelection(i) for i in items
        )
        if not wrapped:
            raise LocalProtocolError("get_many needs at least one attribute")
        invoke = self._next_invoke()
        self._input(Input.REQUEST, ("get-list", GetRequestWithList(invoke, wrapped)))
        return invoke.invoke_id

    def set(
        self, attribute: CosemAttributeDescriptor, data: bytes, access: SelectiveAccess | None = None
    ) -> int:
        """Queue a SET of raw A-XDR ``data``; long data goes in blocks."""
        axdr.decode(data)  # refuse to send what is not one well-formed Data
        invoke = self._next_invoke()
        self._input(Input.REQUEST, ("set", SetRequestNormal(invoke, attribute, data, access)))
        return invoke.invoke_id

    def set_many(
        self, items: Sequence[CosemAttributeDescriptor | AttributeWithSelection], values: Sequence[bytes]
    ) -> int:
        wrapped = tuple(
            i if isinstance(i, AttributeWithSelection) else AttributeWithSelection(i) for i in items
        )
        if len(wrapped) != len(values) or not wrapped:
            raise LocalProtocolError("set_many needs one value per attribute")
        for value in values:
            axdr.decode(value)
        invoke = self._next_invoke()
        self._input(Input.REQUEST, ("set-list", SetRequestWithList(invoke, wrapped, tuple(values))))
        return invoke.invoke_id

    def action(self, method: CosemMethodDescriptor, parameters: bytes | None = None) -> int:
        if parameters is not None:
            axdr.decode(parameters)
        invoke = self._next_invoke()
        self._input(Input.REQUEST, ("action", ActionRequestNormal(invoke, method, parameters)))
        return invoke.invoke_id

    def action_many(self, methods: Sequence[CosemMethodDescriptor], parameters: Sequence[bytes]) -> int:
        if len(methods) != len(parameters) or not methods:
            raise LocalProtocolError("action_many needs one parameter per method")
        invoke = self._next_invoke()
        request = ActionRequestWithList(invoke, tuple(methods), tuple(parameters))
        self._input(Input.REQUEST, ("action-list", request))
        return invoke.invoke_id

    def release(self) -> None:
        """Queue the RLRQ (or, for meters that never answer one, end at once)."""
        self._input(Input.RELEASE, None)

    @property
    def busy(self) -> bool:
        return self.state is State.AWAIT_RESPONSE

    # -- handlers ---------------------------------------------------------------------------
    def _next_invoke(self) -> InvokeIdAndPriority:
        self._invoke = self._invoke.next()
        return self._invoke

    def _initiate_request(self) -> InitiateRequest:
        s = self.settings
        return InitiateRequest(
            proposed_conformance=s.conformance,
            client_max_receive_pdu_size=s.max_receive_pdu_size,
            dedicated_key=s.security.dedicated_key,
        )

    def _send_aarq(self, _: object) -> State:
        s, sec = self.settings, self.settings.security
        initiate = self._initiate_request().to_bytes()
        if sec.ciphered:
            initiate = self._protect(initiate, kind=CipheredKind.GLO)
        mechanism = s.mechanism
        secret: bytes | None = None
        if mechanism is Mechanism.LLS:
            secret = s.secret
        elif mechanism is not Mechanism.NONE:
            self._client_challenge = s.challenge(s.quirks.hls_challenge_length)
            secret = self._client_challenge
        title = sec.system_title if (sec.ciphered or mechanism >= Mechanism.HLS) else None
        aarq = AARQ.build(
            initiate,
            mechanism=MechanismName(int(mechanism)),
            secret=secret,
            system_title=title,
            ciphered=sec.ciphered,
        )
        self._out.append(aarq.to_bytes())
        return State.AWAIT_AARE

    def _on_aare(self, aare: AARE) -> State:
        s = self.settings
        self.peer_system_title = aare.responding_ap_title or self.peer_system_title
        if aare.result is not AssociationResult.ACCEPTED:
            error: ConfirmedServiceError | None = None
            try:
                info = self._aare_information(aare)
            except MeterlinkError:
                info = None
            if isinstance(info, ConfirmedServiceError):
                error = info
            self._events.append(
                AssociationRefused(aare, f"{aare.result.name}: {aare.diagnostic.name}", error)
            )
            return State.IDLE
        info = self._aare_information(aare)
        if isinstance(info, ConfirmedServiceError):
            self._events.append(AssociationRefused(aare, str(info), info))
            return State.IDLE
        if info is None:
            if not s.quirks.aare_without_user_information:
                raise UnexpectedMessageError(
                    "an accepting AARE without InitiateResponse (set quirks.aare_without_user_information "
                    "for meters that do this)",
                    data=aare.to_bytes(),
                    offset=0,
                )
            self.conformance = s.conformance
            self.peer_max_pdu_size = 0xFFFF
        else:
            self.conformance = info.negotiated_conformance & s.conformance
            self.peer_max_pdu_size = info.server_max_receive_pdu_size or 0xFFFF
        self._ciphered = s.security.ciphered
        self._dedicated = s.security.dedicated_key
        needs_hls = aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
        if s.mechanism >= Mechanism.HLS:
            if not needs_hls or aare.responding_authentication_value is None:
                raise UnexpectedMessageError(
                    "the meter accepted HLS without sending its challenge", data=aare.to_bytes(), offset=0
                )
            self._server_challenge = aare.responding_authentication_value
            self._send_hls_reply()
            return State.AWAIT_HLS_REPLY
        self._events.append(Associated(self.conformance, self.peer_max_pdu_size, self.peer_system_title))
        return State.ASSOCIATED

    def _aare_information(self, aare: AARE) -> InitiateResponse | ConfirmedServiceError | None:
        info = aare.user_information
        if info is None:
            return None
        if info and info[0] in CIPHERED_TAGS:
            _, info = self._unprotect(info)
            return AARE(user_information=info).decode_user_information()
        return aare.decode_user_information()

    def _hls_parameters(self) -> HlsParameters:
        s, sec = self.settings, self.settings.security
        return HlsParameters(
            client_challenge=self._client_challenge,
            server_challenge=self._server_challenge,
            secret=s.secret or b"",
            client_system_title=sec.system_title or b"",
            server_system_title=self.peer_system_title or b"",
            key=sec.key or b"",
            auth_key=sec.auth_key or b"",
        )

    def _send_hls_reply(self) -> None:
        s = self.settings
        counter = self.counters.peek_send(_GUEK) if s.mechanism is Mechanism.HLS_GMAC else 0
        if s.mechanism is Mechanism.HLS_GMAC:
            self.counters.next_to_send(_GUEK)
        reply = client_response(s.mechanism, self._hls_parameters(), counter)
        method = CosemMethodDescriptor(ASSOCIATION_CLASS, s.quirks.association_object, REPLY_TO_HLS)
        invoke = self._next_invoke()
        self._pending = _Pending("hls", invoke)
        self._send(ActionRequestNormal(invoke, method, _octet_string(reply)).to_bytes())

    def _on_hls_reply(self, response: Any) -> State:
        self._check_invoke(response)  # pass 4 answers our reply_to_HLS, not something else
        self._pending = None
        ok = isinstance(response, ActionResponseNormal) and response.outcome.result is ActionResult.SUCCESS
        data = response.outcome.return_data if isinstance(response, ActionResponseNormal) else None
        if not ok or data is None:
            self._events.append(
                AssociationRefused(AARE(), "the meter refused our reply to its HLS challenge")
            )
            self._reset()
            return State.IDLE
        try:
            verify_server_response(
                self.settings.mechanism, self._hls_parameters(), _read_octet_string(data, "HLS reply")
            )
        except (AuthenticationError, MalformedDataError):
            self._reset()
            self.state = State.IDLE
            raise
        self._events.append(Associated(self.conformance, self.peer_max_pdu_size, self.peer_system_title))
        return State.ASSOCIATED

    def _on_hls_error(self, error: ExceptionResponse | ConfirmedServiceError) -> State:
        self._events.append(AssociationRefused(AARE(), f"HLS reply refused: {error}"))
        self._reset()
        return State.IDLE

    def _on_refusal_error(self, error: ExceptionResponse | ConfirmedServiceError) -> State:
        refusal = error if isinstance(error, ConfirmedServiceError) else None
        self._events.append(AssociationRefused(AARE(), f"the meter answered the AARQ with {error}", refusal))
        return State.IDLE

    def _send_request(self, job: tuple[str, Any]) -> State:
        kind, request = job
        invoke = request.invoke_id
        pending = _Pending(kind, invoke)
        self._pending = pending
        plain = request.to_bytes()
        if self._fits(plain) or self._gbt_allowed():
            if kind == "get-list" or kind == "set-list":
                pending.count = len(request.items)
            elif kind == "action-list":
                pending.count = len(request.methods)
            self._send(plain)
            return State.AWAIT_RESPONSE
        # too long for one APDU: the service's own block transfer; the first block carries the
        # descriptors, so its header grows with the list
        first: Callable[[bool, bytes], Any]
        if kind == "set":
            raw, header = request.data, _BLOCK_HEADER + 16

            def first(last: bool, block: bytes) -> Any:
                return SetRequestWithFirstDatablock(invoke, request.attribute, last, 1, block, request.access)

        elif kind == "set-list":
            pending.count = len(request.items)
            raw, header = _encode_values(request.values), _BLOCK_HEADER + 16 * len(request.items)

            def first(last: bool, block: bytes) -> Any:
                return SetRequestWithListAndFirstDatablock(invoke, request.items, last, 1, block)

        elif kind == "action":
            raw, header = request.parameters or b"", _BLOCK_HEADER

            def first(last: bool, block: bytes) -> Any:
                return ActionRequestWithFirstPblock(invoke, request.method, last, 1, block)

        elif kind == "action-list":
            pending.count = len(request.methods)
            raw, header = _encode_values(request.parameters), _BLOCK_HEADER + 10 * len(request.methods)

            def first(last: bool, block: bytes) -> Any:
                return ActionRequestWithListAndFirstPblock(invoke, request.methods, last, 1, block)

        else:
            self._pending = None
            raise LocalProtocolError(
                f"the request ({len(plain)} bytes) is longer than the meter accepts "
                f"({self.peer_max_pdu_size}) and cannot be sent in blocks without general-block-transfer"
            )
        pending.outgoing = _chunks(raw, self._room(header))
        block = pending.outgoing.pop(0)
        pending.sent_block = 1
        self._send(first(not pending.outgoing, block).to_bytes())
        return State.AWAIT_RESPONSE

    def _check_invoke(self, response: Any) -> _Pending:
        pending = self._pending
        assert pending is not None
        if response.invoke_id.invoke_id != pending.invoke.invoke_id:
            raise UnexpectedMessageError(
                f"response for invoke id {response.invoke_id.invoke_id}, expected {pending.invoke.invoke_id}",
                data=response.to_bytes(),
                offset=0,
            )
        return pending

    def _done(self, event: Event) -> State:
        self._pending = None
        self._events.append(event)
        return State.ASSOCIATED

    def _on_response(self, response: Any) -> State:
        pending = self._check_invoke(response)
        invoke = pending.invoke
        number = invoke.invoke_id
        if isinstance(response, GetResponseNormal) and pending.kind == "get":
            result = response.data if response.data is not None else response.result
            assert result is not None
            return self._done(GetCompleted(number, (result,)))
        if isinstance(response, GetResponseWithList) and pending.kind == "get-list":
            return self._done(GetCompleted(number, response.results))
        if isinstance(response, GetResponseWithDatablock) and pending.kind in ("get", "get-list"):
            if response.result is not None:
                return self._done(GetCompleted(number, (response.result,) * pending.count))
            self._expect_block(response, pending)
            pending.received += response.raw_data or b""
            pending.next_block += 1
            if not response.last_block:
                self._send(GetRequestNext(invoke, response.block_number).to_bytes())
                return State.AWAIT_RESPONSE
            raw = bytes(pending.received)
            if pending.kind == "get":
                axdr.skip(raw, 0)  # the joined blocks must be one whole Data
                return self._done(GetCompleted(number, (raw,)))
            return self._done(GetCompleted(number, _decode_results(raw)))
        if isinstance(response, SetResponseNormal) and pending.kind == "set":
            return self._done(SetCompleted(number, (response.result,)))
        if isinstance(response, SetResponseWithList) and pending.kind == "set-list":
            return self._done(SetCompleted(number, response.results))
        if isinstance(response, SetResponseDatablock) and pending.kind in ("set", "set-list"):
            return self._next_own_block(response, pending, SetRequestWithDatablock)
        if isinstance(response, SetResponseLastDatablock) and pending.kind == "set":
            return self._done(SetCompleted(number, (response.result,)))
        if isinstance(response, SetResponseLastDatablockWithList) and pending.kind == "set-list":
            return self._done(SetCompleted(number, response.results))
        if isinstance(response, ActionResponseNormal) and pending.kind == "action":
            return self._done(ActionCompleted(number, (response.outcome,)))
        if isinstance(response, ActionResponseWithList) and pending.kind == "action-list":
            return self._done(ActionCompleted(number, response.outcomes))
        if isinstance(response, ActionResponseNextPblock) and pending.kind in ("action", "action-list"):
            return self._next_own_block(response, pending, ActionRequestWithPblock)
        if isinstance(response, ActionResponseWithPblock) and pending.kind in ("action", "action-list"):
            self._expect_block(response, pending)
            pending.received += response.raw_data
            pending.next_block += 1
            if not response.last_block:
                self._send(ActionRequestNextPblock(invoke, response.block_number).to_bytes())
                return State.AWAIT_RESPONSE
            raw = bytes(pending.received)
            axdr.skip(raw, 0)
            return self._done(ActionCompleted(number, (ActionOutcome(ActionResult.SUCCESS, raw),)))
        raise UnexpectedMessageError(
            f"{type(response).__name__} does not answer a {pending.kind} request",
            data=response.to_bytes(),
            offset=0,
        )

    def _next_own_block(
        self,
        ack: SetResponseDatablock | ActionResponseNextPblock,
        pending: _Pending,
        request: type[SetRequestWithDatablock] | type[ActionRequestWithPblock],
    ) -> State:
        """The meter took our block ``ack.block_number``: send the next one of the request."""
        if ack.block_number != pending.sent_block or not pending.outgoing:
            raise UnexpectedMessageError(
                f"{pending.kind} block {ack.block_number} acknowledged, sent {pending.sent_block}",
                data=ack.to_bytes(),
                offset=0,
            )
        block = pending.outgoing.pop(0)
        pending.sent_block += 1
        self._send(request(pending.invoke, not pending.outgoing, pending.sent_block, block).to_bytes())
        return State.AWAIT_RESPONSE

    @staticmethod
    def _expect_block(response: Any, pending: _Pending) -> None:
        if response.block_number != pending.next_block:
            raise UnexpectedMessageError(
                f"block {response.block_number}, expected {pending.next_block}",
                data=response.to_bytes(),
                offset=0,
            )

    def _on_service_error(self, error: ExceptionResponse | ConfirmedServiceError) -> State:
        pending = self._pending
        self._pending = None
        self._events.append(ServiceFailed(pending.invoke.invoke_id if pending else None, error))
        return State.ASSOCIATED

    def _on_unsolicited_error(self, error: ExceptionResponse | ConfirmedServiceError) -> State:
        self._events.append(ServiceFailed(None, error))
        return State.ASSOCIATED

    def _on_push(self, push: DataNotification | EventNotificationRequest) -> State:
        if isinstance(push, DataNotification):
            self._events.append(PushReceived(push, self._current_envelope))
        else:
            self._events.append(EventReported(push))
        return self.state

    def _send_rlrq(self, _: object) -> State:
        if not self.settings.quirks.release_with_rlrq:
            self._reset()
            self._events.append(Released("ended without RLRQ (quirk)"))
            return State.IDLE
        info = None
        if self._ciphered:
            # the AARQ's InitiateRequest again, but under a fresh invocation counter: resending the
            # AARQ's ciphered bytes would repeat a counter the meter has already accepted (a replay)
            info = self._protect(self._initiate_request().to_bytes(), kind=CipheredKind.GLO)
        self._out.append(RLRQ(reason=ReleaseRequestReason.NORMAL, user_information=info).to_bytes())
        return State.AWAIT_RLRE

    def _on_rlre(self, rlre: RLRE | ExceptionResponse | ConfirmedServiceError) -> State:
        self._reset()
        reason = rlre.reason.name.lower() if isinstance(rlre, RLRE) and rlre.reason is not None else str(rlre)
        self._events.append(Released(f"RLRE: {reason}"))
        return State.IDLE


# ================================================================================================
# server (the meter)
# ================================================================================================
@dataclass(slots=True)
class _Incoming:
    """A request arriving in blocks (SET data blocks, ACTION pblocks)."""

    kind: str
    invoke: InvokeIdAndPriority
    received: bytearray
    next_block: int
    attribute: CosemAttributeDescriptor | None = None
    access: SelectiveAccess | None = None
    items: tuple[AttributeWithSelection, ...] = ()
    method: CosemMethodDescriptor | None = None
    methods: tuple[CosemMethodDescriptor, ...] = ()


@dataclass(slots=True)
class _Outgoing:
    """A long answer handed out block by block as the client asks for the next one."""

    kind: str
    invoke: InvokeIdAndPriority
    blocks: list[bytes]
    sent: int = 0


class ServerAssociation(_Association):
    """The meter side of one association (one client SAP)."""

    _table = SERVER_TABLE

    def __init__(self, application: ServerApplication, settings: Settings | None = None) -> None:
        s = settings or Settings(conformance=SERVER_CONFORMANCE)
        super().__init__(s)
        self.application = application
        self._incoming: _Incoming | None = None
        self._outgoing: _Outgoing | None = None
        self._client_challenge = b""
        self._server_challenge = b""
        self._current_envelope: CipheredApdu | None = None

    def push(self, body: bytes, *, date_time: bytes | None = None, invoke_id: int = 0) -> list[bytes]:
        """A DataNotification to send now, in any state: general-glo-ciphered when the settings
        cipher, cut into streamed GBT blocks when too long and allowed. Returns the APDUs: they
        go out as a push (HDLC UI frames, the wrapper's push destination), not as a response."""
        axdr.decode(body)
        notification = DataNotification(
            LongInvokeIdAndPriority.make(invoke_id),
            date_time,
            body,
            tagged_date_time=self.settings.quirks.tagged_push_date_time and date_time is not None,
        ).to_bytes()
        if self.settings.security.ciphered:
            notification = self._protect(notification, kind=CipheredKind.GENERAL_GLO)
        limit = self.peer_max_pdu_size
        if len(notification) <= limit or not self.settings.use_gbt:
            return [notification]
        chunks = _chunks(notification, max(16, limit - 12))
        return [  # pushes are not acknowledged: every block streams
            GeneralBlockTransfer(
                block_number=number,
                block_data=chunk,
                last_block=number == len(chunks),
                streaming=number < len(chunks),
            ).to_bytes()
            for number, chunk in enumerate(chunks, 1)
        ]

    def _protect(self, plain: bytes, *, kind: CipheredKind | None = None) -> bytes:
        """Answer in the envelope the request came in (a client speaking general-glo-ciphering
        gets general-glo-ciphering back), else as the settings say."""
        request = self._current_envelope
        if kind is None and request is not None and request.kind is not CipheredKind.GENERAL_CIPHERING:
            kind = request.kind
        return super()._protect(plain, kind=kind)

    # -- association ------------------------------------------------------------------------
    def _refuse(
        self, diagnostic: AcseServiceUserDiagnostic, result: AssociationResult, info: bytes | None
    ) -> State:
        self._out.append(
            AARE(
                result=result,
                diagnostic=diagnostic,
                application_context_name=ApplicationContextName.LN,
                user_information=info,
            ).to_bytes()
        )
        self._reset()
        return State.IDLE

    def _on_aarq(self, aarq: AARQ) -> State:
        s, sec = self.settings, self.settings.security
        self._reset()
        rejected = AssociationResult.REJECTED_PERMANENT
        D = AcseServiceUserDiagnostic  # noqa: N806
        wanted = ApplicationContextName.LN_CIPHERED if sec.ciphered else ApplicationContextName.LN
        if aarq.application_context_name != wanted:
            return self._refuse(D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, rejected, None)
        asked: Mechanism | None = None
        if aarq.mechanism_name is None:
            asked = Mechanism.NONE
        elif isinstance(aarq.mechanism_name, int) and aarq.mechanism_name in _KNOWN_MECHANISMS:
            asked = Mechanism(int(aarq.mechanism_name))  # an unknown id (UNKNOWN_9) is refused below
        if asked is None:
            return self._refuse(D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED, rejected, None)
        if asked is not s.mechanism:
            diagnostic = (
                D.AUTHENTICATION_MECHANISM_NAME_REQUIRED
                if asked is Mechanism.NONE
                else D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
            )
            return self._refuse(diagnostic, rejected, None)
        self.peer_system_title = aarq.calling_ap_title
        if (
            sec.ciphered or asked in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256)
        ) and not aarq.calling_ap_title:
            return self._refuse(D.CALLING_AP_TITLE_NOT_RECOGNIZED, rejected, None)
        if asked is Mechanism.LLS and aarq.calling_authentication_value != s.secret:
            return self._refuse(D.AUTHENTICATION_FAILURE, rejected, None)
        info = aarq.user_information
        try:
            if info and info[0] in CIPHERED_TAGS:
                if not sec.ciphered:
                    return self._refuse(D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, rejected, None)
                _, info = self._unprotect(info)
            elif sec.ciphered:
                return self._refuse(D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, rejected, None)
            request = AARQ(user_information=info).decode_user_information() if info else None
        except SecurityError:
            return self._refuse(D.AUTHENTICATION_FAILURE, rejected, None)
        if request is None:
            return self._refuse(D.NO_REASON_GIVEN, rejected, None)
        if request.proposed_dlms_version < 6:
            too_low = 1  # initiate error reason: dlms-version-too-low
            error = ConfirmedServiceError(
                ConfirmedService.INITIATE_ERROR, ServiceErrorKind.INITIATE, too_low
            ).to_bytes()
            return self._refuse(D.NO_REASON_GIVEN, rejected, error)
        self.conformance = request.proposed_conformance & s.conformance
        self.peer_max_pdu_size = request.client_max_receive_pdu_size or 0xFFFF
        self._dedicated = request.dedicated_key
        self._ciphered = sec.ciphered
        response = InitiateResponse(
            negotiated_conformance=self.conformance,
            server_max_receive_pdu_size=s.max_receive_pdu_size,
        ).to_bytes()
        if sec.ciphered:
            response = self._protect(response, kind=CipheredKind.GLO)
        hls = asked >= Mechanism.HLS
        if hls:
            self._client_challenge = aarq.calling_authentication_value or b""
            self._server_challenge = s.challenge(s.quirks.hls_challenge_length)
        self._out.append(
            AARE(
                result=AssociationResult.ACCEPTED,
                diagnostic=D.AUTHENTICATION_REQUIRED if hls else D.NULL,
                application_context_name=wanted,
                user_information=response,
                responding_ap_title=sec.system_title,
                responder_acse_requirements=hls,
                mechanism_name=MechanismName(int(asked)) if hls else None,
                responding_authentication_value=self._server_challenge if hls else None,
            ).to_bytes()
        )
        if hls:
            return State.AWAIT_HLS_CLIENT
        self._events.append(Associated(self.conformance, self.peer_max_pdu_size, self.peer_system_title))
        return State.ASSOCIATED

    def _on_second_aarq(self, aarq: AARQ) -> State:
        self._out.append(
            AARE(
                result=AssociationResult.REJECTED_TRANSIENT,
                diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN,
            ).to_bytes()
        )
        return State.ASSOCIATED

    def _hls_parameters(self) -> HlsParameters:
        s, sec = self.settings, self.settings.security
        return HlsParameters(
            client_challenge=self._client_challenge,
            server_challenge=self._server_challenge,
            secret=s.secret or b"",
            client_system_title=self.peer_system_title or b"",
            server_system_title=sec.system_title or b"",
            key=sec.key or b"",
            auth_key=sec.auth_key or b"",
        )

    def _on_hls_request(self, request: Any) -> State:
        s = self.settings
        method = getattr(request, "method", None)
        if not (
            isinstance(request, ActionRequestNormal)
            and method is not None
            and method.class_id == ASSOCIATION_CLASS
            and method.instance == s.quirks.association_object
            and method.method_id == REPLY_TO_HLS
            and request.parameters is not None
        ):
            self._answer(
                ExceptionResponse(
                    ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
                )
            )
            return State.AWAIT_HLS_CLIENT
        try:
            verify_client_response(
                s.mechanism, self._hls_parameters(), _read_octet_string(request.parameters, "HLS reply")
            )
        except (AuthenticationError, MalformedDataError):
            self._answer(ActionResponseNormal(request.invoke_id, ActionOutcome(ActionResult.OTHER_REASON)))
            self._reset()
            return State.IDLE
        counter = self.counters.next_to_send(_GUEK) if s.mechanism is Mechanism.HLS_GMAC else 0
        reply = server_response(s.mechanism, self._hls_parameters(), counter)
        self._answer(
            ActionResponseNormal(request.invoke_id, ActionOutcome(ActionResult.SUCCESS, _octet_string(reply)))
        )
        self._events.append(Associated(self.conformance, self.peer_max_pdu_size, self.peer_system_title))
        return State.ASSOCIATED

    def _refuse_unassociated(self, request: Any) -> State:
        self._out.append(
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
            ).to_bytes()
        )
        return State.IDLE

    def _on_rlrq(self, rlrq: RLRQ) -> State:
        info = None
        if self._ciphered:
            info = self._protect(
                InitiateResponse(self.conformance, self.settings.max_receive_pdu_size).to_bytes(),
                kind=CipheredKind.GLO,
            )
        self._out.append(RLRE(reason=ReleaseResponseReason.NORMAL, user_information=info).to_bytes())
        was = self.state
        self._reset()
        if was is not State.IDLE:
            self._events.append(Released("RLRQ"))
        return State.IDLE

    # -- serving ----------------------------------------------------------------------------
    def _answer(self, response: Any) -> None:
        """Send one response, splitting it into blocks when it does not fit the client."""
        plain = response.to_bytes()
        if self._fits(plain) or self._gbt_allowed() or isinstance(response, ExceptionResponse):
            self._send(plain)
            return
        invoke = response.invoke_id
        C = Conformance  # noqa: N806
        if (
            isinstance(response, GetResponseNormal | GetResponseWithList)
            and self.conformance & C.BLOCK_TRANSFER_WITH_GET_OR_READ
        ):
            raw = (
                response.data
                if isinstance(response, GetResponseNormal)
                else _encode_results(response.results)
            )
            assert raw is not None
            kind = "get"
        elif isinstance(response, ActionResponseNormal) and self.conformance & C.BLOCK_TRANSFER_WITH_ACTION:
            raw = response.outcome.return_data or b""
            kind = "action"
        else:
            self._send(
                ExceptionResponse(
                    ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG
                ).to_bytes()
            )
            return
        self._outgoing = _Outgoing(kind, invoke, _chunks(raw, self._room(_BLOCK_HEADER)))
        self._send_next_block()

    def _send_next_block(self) -> None:
        out = self._outgoing
        assert out is not None
        block = out.blocks.pop(0)
        out.sent += 1
        last = not out.blocks
        if out.kind == "get":
            self._send(GetResponseWithDatablock(out.invoke, last, out.sent, block).to_bytes())
        else:
            self._send(ActionResponseWithPblock(out.invoke, last, out.sent, block).to_bytes())
        if last:
            self._outgoing = None

    def _serve(self, request: Any) -> State:
        app = self.application
        invoke = request.invoke_id
        if isinstance(request, GetRequestNormal):
            self._answer(self._get_response(invoke, app.get(request.attribute, request.access)))
        elif isinstance(request, GetRequestWithList):
            results = tuple(app.get(item.attribute, item.access) for item in request.items)
            self._answer(GetResponseWithList(invoke, results))
        elif isinstance(request, GetRequestNext | ActionRequestNextPblock):
            out = self._outgoing
            if out is None or request.block_number != out.sent:
                self._outgoing = None
                if isinstance(request, GetRequestNext):
                    expected = (
                        DataAccessResult.NO_LONG_GET_IN_PROGRESS
                        if out is None
                        else DataAccessResult.DATA_BLOCK_NUMBER_INVALID
                    )
                    number = min(request.block_number + 1, 0xFFFFFFFF)  # the peer chose the number
                    self._send(GetResponseWithDatablock(invoke, True, number, result=expected).to_bytes())
                else:
                    self._send(
                        ActionResponseNormal(
                            invoke, ActionOutcome(ActionResult.LONG_ACTION_ABORTED)
                        ).to_bytes()
                    )
            else:
                self._send_next_block()
        elif isinstance(request, SetRequestNormal):
            self._answer(SetResponseNormal(invoke, app.set(request.attribute, request.access, request.data)))
        elif isinstance(request, SetRequestWithList):
            set_results = tuple(
                app.set(item.attribute, item.access, value)
                for item, value in zip(request.items, request.values, strict=True)
            )
            self._answer(SetResponseWithList(invoke, set_results))
        elif isinstance(request, SetRequestWithFirstDatablock | SetRequestWithListAndFirstDatablock):
            items = request.items if isinstance(request, SetRequestWithListAndFirstDatablock) else ()
            self._incoming = _Incoming(
                "set",
                invoke,
                bytearray(),
                1,
                attribute=getattr(request, "attribute", None),
                access=getattr(request, "access", None),
                items=items,
            )
            self._set_block(request)
        elif isinstance(request, SetRequestWithDatablock):
            self._set_block(request)
        elif isinstance(request, ActionRequestNormal):
            self._answer(ActionResponseNormal(invoke, app.action(request.method, request.parameters)))
        elif isinstance(request, ActionRequestWithList):
            outcomes = tuple(
                app.action(method, parameters)
                for method, parameters in zip(request.methods, request.parameters, strict=True)
            )
            self._answer(ActionResponseWithList(invoke, outcomes))
        elif isinstance(request, ActionRequestWithFirstPblock | ActionRequestWithListAndFirstPblock):
            methods = request.methods if isinstance(request, ActionRequestWithListAndFirstPblock) else ()
            self._incoming = _Incoming(
                "action", invoke, bytearray(), 1, method=getattr(request, "method", None), methods=methods
            )
            self._action_block(request)
        elif isinstance(request, ActionRequestWithPblock):
            self._action_block(request)
        return State.ASSOCIATED

    @staticmethod
    def _get_response(invoke: InvokeIdAndPriority, result: bytes | DataAccessResult) -> GetResponseNormal:
        if isinstance(result, bytes):
            return GetResponseNormal(invoke, data=result)
        return GetResponseNormal(invoke, result=result)

    def _take_block(self, request: Any, kind: str) -> _Incoming | None:
        incoming = self._incoming
        if incoming is None or incoming.kind != kind or request.block_number != incoming.next_block:
            self._incoming = None
            return None
        incoming.received += request.raw_data
        incoming.next_block += 1
        return incoming

    def _set_block(self, request: Any) -> None:
        incoming = self._take_block(request, "set")
        invoke = request.invoke_id
        if incoming is None:
            self._send(SetResponseNormal(invoke, DataAccessResult.NO_LONG_SET_IN_PROGRESS).to_bytes())
            return
        if not request.last_block:
            self._send(SetResponseDatablock(invoke, request.block_number).to_bytes())
            return
        self._incoming = None
        raw = bytes(incoming.received)
        app = self.application
        try:
            if incoming.items:
                values = _decode_values(raw, len(incoming.items))
                results = tuple(
                    app.set(item.attribute, item.access, value)
                    for item, value in zip(incoming.items, values, strict=True)
                )
                self._send(SetResponseLastDatablockWithList(invoke, results, request.block_number).to_bytes())
                return
            axdr.skip(raw, 0)
        except MalformedDataError:
            self._send(
                SetResponseLastDatablock(
                    invoke, DataAccessResult.TYPE_UNMATCHED, request.block_number
                ).to_bytes()
            )
            return
        assert incoming.attribute is not None
        result = app.set(incoming.attribute, incoming.access, raw)
        self._send(SetResponseLastDatablock(invoke, result, request.block_number).to_bytes())

    def _action_block(self, request: Any) -> None:
        incoming = self._take_block(request, "action")
        invoke = request.invoke_id
        if incoming is None:
            self._send(
                ActionResponseNormal(
                    invoke, ActionOutcome(ActionResult.NO_LONG_ACTION_IN_PROGRESS)
                ).to_bytes()
            )
            return
        if not request.last_block:
            self._send(ActionResponseNextPblock(invoke, request.block_number).to_bytes())
            return
        self._incoming = None
        raw = bytes(incoming.received)
        app = self.application
        try:
            if incoming.methods:
                values = _decode_values(raw, len(incoming.methods))
                outcomes = tuple(app.action(m, v) for m, v in zip(incoming.methods, values, strict=True))
                self._answer(ActionResponseWithList(invoke, outcomes))
                return
            if raw:
                axdr.skip(raw, 0)
        except MalformedDataError:
            self._send(ActionResponseNormal(invoke, ActionOutcome(ActionResult.TYPE_UNMATCHED)).to_bytes())
            return
        assert incoming.method is not None
        self._answer(ActionResponseNormal(invoke, app.action(incoming.method, raw or None)))

    def _reset(self) -> None:
        super()._reset()
        self._incoming = None
        self._outgoing = None
