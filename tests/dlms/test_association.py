"""The client and server association state machines driven against each other in memory.

Every mechanism and ciphering policy, GET/SET/ACTION in every form with blocks both ways, general
block transfer, pushes, release, and the refusals a meter gives. The "wire" is a loop that moves
whole APDUs; an optional tap may rewrite them on the way to test what a client does with bad ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from meterlink.dlms import axdr
from meterlink.dlms._state import CLIENT_TABLE, SERVER_TABLE, State
from meterlink.dlms.apdu import (
    AARE,
    AARQ,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionOutcome,
    ActionResult,
    AttributeWithSelection,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    ExceptionResponse,
    GeneralBlockTransfer,
    GetRequestNormal,
    GetResponseWithDatablock,
    InvokeIdAndPriority,
    MechanismName,
    SelectiveAccess,
    SetRequestWithFirstDatablock,
    decode_apdu,
)
from meterlink.dlms.apdu.initiate import Conformance, InitiateRequest
from meterlink.dlms.association import (
    NEED_DATA,
    ClientAssociation,
    SecuritySettings,
    ServerAssociation,
    Settings,
)
from meterlink.dlms.events import (
    ActionCompleted,
    Associated,
    AssociationRefused,
    Event,
    GetCompleted,
    PushReceived,
    Released,
    ServiceFailed,
    SetCompleted,
)
from meterlink.dlms.quirks import Quirks
from meterlink.dlms.security import Mechanism, SecurityPolicy, parse_ciphered, unprotect
from meterlink.errors import (
    AuthenticationError,
    LocalProtocolError,
    ReplayError,
    SecurityError,
    UnexpectedMessageError,
)
from meterlink.obis import Obis

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
METER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
SECRET = b"12345678"

ENERGY = CosemAttributeDescriptor(3, Obis.parse("1.0.1.8.0.255"), 2)
SCALER = CosemAttributeDescriptor(3, Obis.parse("1.0.1.8.0.255"), 3)
NAME = CosemAttributeDescriptor(1, Obis.parse("0.0.42.0.0.255"), 2)
BUFFER = CosemAttributeDescriptor(7, Obis.parse("1.0.99.1.0.255"), 2)
MISSING = CosemAttributeDescriptor(1, Obis.parse("0.0.96.99.0.255"), 2)
RESET = CosemMethodDescriptor(3, Obis.parse("1.0.1.8.0.255"), 1)
ECHO = CosemMethodDescriptor(1, Obis.parse("0.0.96.1.0.255"), 1)
"""A method that answers with its own parameters (to test long parameters and long answers)."""


def u32(n: int) -> bytes:
    return axdr.encode(axdr.DoubleLongUnsigned(n))


def octets(n: int) -> bytes:
    return axdr.encode(bytes(i % 251 for i in range(n)))


@dataclass
class Meter:
    """A small COSEM server application: a dict of attribute values and two methods."""

    values: dict[CosemAttributeDescriptor, bytes] = field(
        default_factory=lambda: {
            ENERGY: u32(123_456),
            SCALER: axdr.encode((axdr.Integer(-3), axdr.Enum(30))),
            NAME: axdr.encode(b"MLK0001"),
            BUFFER: octets(3000),
        }
    )
    calls: list[tuple[CosemMethodDescriptor, bytes | None]] = field(default_factory=list)
    selections: list[SelectiveAccess | None] = field(default_factory=list)

    def get(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None
    ) -> bytes | DataAccessResult:
        self.selections.append(access)
        return self.values.get(attribute, DataAccessResult.OBJECT_UNDEFINED)

    def set(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None, data: bytes
    ) -> DataAccessResult:
        if attribute not in self.values:
            return DataAccessResult.OBJECT_UNDEFINED
        self.values[attribute] = data
        return DataAccessResult.SUCCESS

    def action(self, method: CosemMethodDescriptor, parameters: bytes | None) -> ActionOutcome:
        self.calls.append((method, parameters))
        if method == RESET:
            self.values[ENERGY] = u32(0)
            return ActionOutcome(ActionResult.SUCCESS)
        if method == ECHO:
            return ActionOutcome(ActionResult.SUCCESS, return_data=parameters)
        return ActionOutcome(ActionResult.OBJECT_UNDEFINED)


Tap = Callable[[str, bytes], bytes | None]


@dataclass
class Pair:
    client: ClientAssociation
    server: ServerAssociation
    meter: Meter
    tap: Tap | None = None
    traffic: list[tuple[str, bytes]] = field(default_factory=list)

    def pump(self) -> list[Event]:
        """Move APDUs both ways until both sides are quiet; return the client's events."""
        for _ in range(10_000):
            moved = False
            for apdu in self.client.data_to_send():
                moved = True
                self.traffic.append(("c>s", apdu))
                out = self.tap("c>s", apdu) if self.tap else apdu
                if out is not None:
                    self.server.receive_apdu(out)
            for apdu in self.server.data_to_send():
                moved = True
                self.traffic.append(("s>c", apdu))
                out = self.tap("s>c", apdu) if self.tap else apdu
                if out is not None:
                    self.client.receive_apdu(out)
            if not moved:
                return self.client.events()
        raise AssertionError("the two sides kept talking")

    def associate(self) -> list[Event]:
        self.client.associate()
        return self.pump()

    def only(self, kind: type[Event]) -> Event:
        events = self.pump()
        assert len(events) == 1 and isinstance(events[0], kind), events
        return events[0]


def pair(
    mechanism: Mechanism = Mechanism.NONE,
    policy: SecurityPolicy = SecurityPolicy.NONE,
    *,
    client: dict[str, object] | None = None,
    server: dict[str, object] | None = None,
    client_security: dict[str, object] | None = None,
    server_security: dict[str, object] | None = None,
) -> Pair:
    keyed = policy is not SecurityPolicy.NONE or mechanism in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256)
    keys = {"key": EK, "auth_key": AK} if keyed else {}
    c_sec = SecuritySettings(policy=policy, system_title=CLIENT_TITLE if keyed else None, **keys)  # type: ignore[arg-type]
    s_sec = SecuritySettings(policy=policy, system_title=METER_TITLE if keyed else None, **keys)  # type: ignore[arg-type]
    c_sec = replace(c_sec, **(client_security or {}))  # type: ignore[arg-type]
    s_sec = replace(s_sec, **(server_security or {}))  # type: ignore[arg-type]
    secret = SECRET if mechanism not in (Mechanism.NONE, Mechanism.HLS_GMAC) else None
    c_settings = replace(Settings(mechanism=mechanism, secret=secret, security=c_sec), **(client or {}))  # type: ignore[arg-type]
    s_settings = replace(Settings(mechanism=mechanism, secret=secret, security=s_sec), **(server or {}))  # type: ignore[arg-type]
    meter = Meter()
    return Pair(ClientAssociation(c_settings), ServerAssociation(meter, s_settings), meter)


def states(p: Pair) -> tuple[State, State]:
    return p.client.state, p.server.state


MECHANISMS = [
    Mechanism.NONE,
    Mechanism.LLS,
    Mechanism.HLS_MD5,
    Mechanism.HLS_SHA1,
    Mechanism.HLS_SHA256,
    Mechanism.HLS_GMAC,
]
POLICIES = list(SecurityPolicy)


# ================================================================================================
# association with every mechanism and policy
# ================================================================================================
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("mechanism", MECHANISMS, ids=lambda m: m.name)
def test_associate_read_write_call_release(mechanism: Mechanism, policy: SecurityPolicy) -> None:
    p = pair(mechanism, policy)
    events = p.associate()
    assert len(events) == 1 and isinstance(events[0], Associated), events
    assert p.client.state is State.ASSOCIATED and p.server.state is State.ASSOCIATED
    if policy is not SecurityPolicy.NONE or mechanism in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256):
        assert events[0].peer_system_title == METER_TITLE
    hls = mechanism >= Mechanism.HLS
    # AARQ, AARE, and for HLS the reply_to_HLS ACTION and its answer
    assert len(p.traffic) == (4 if hls else 2)
    if policy is not SecurityPolicy.NONE and hls:
        assert p.traffic[2][1][0] == 0xCB  # the HLS ACTION itself went glo-ciphered

    invoke = p.client.get(ENERGY)
    done = p.only(GetCompleted)
    assert done == GetCompleted(invoke, (u32(123_456),))
    if policy is not SecurityPolicy.NONE:
        assert p.traffic[-2][1][0] == 0xC8 and p.traffic[-1][1][0] == 0xCC

    p.client.set(ENERGY, u32(5))
    assert p.only(SetCompleted).results == (DataAccessResult.SUCCESS,)  # type: ignore[union-attr]
    assert p.meter.values[ENERGY] == u32(5)
    p.client.action(RESET, axdr.encode(axdr.Integer(0)))
    assert p.only(ActionCompleted).outcomes == (ActionOutcome(ActionResult.SUCCESS),)  # type: ignore[union-attr]
    assert p.meter.values[ENERGY] == u32(0)

    p.client.release()
    assert p.only(Released) == Released("RLRE: normal")
    assert states(p) == (State.IDLE, State.IDLE)


def test_gmac_policy_uses_counters_that_only_go_up() -> None:
    p = pair(Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    for _ in range(3):
        p.client.get(ENERGY)
        p.only(GetCompleted)
    ours = p.client.counters.to_dict()
    theirs = p.server.counters.to_dict()
    assert ours and theirs
    counters = [
        int.from_bytes(apdu[3:7], "big") for way, apdu in p.traffic if way == "c>s" and apdu[0] == 0xC8
    ]
    assert counters == sorted(set(counters)) and len(counters) == 3


def test_dedicated_key_switches_to_ded_envelopes() -> None:
    dedicated = bytes(range(16, 32))
    p = pair(
        Mechanism.HLS_GMAC,
        SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        client_security={"dedicated_key": dedicated},
    )
    assert isinstance(p.associate()[0], Associated)
    p.client.get(NAME)
    assert p.only(GetCompleted).results == (axdr.encode(b"MLK0001"),)  # type: ignore[union-attr]
    assert p.traffic[-2][1][0] == 0xD0 and p.traffic[-1][1][0] == 0xD4  # ded-get request/response


def test_general_glo_ciphering_envelopes() -> None:
    p = pair(
        Mechanism.NONE,
        SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        client_security={"general_ciphering": True},
        server_security={"general_ciphering": True},
    )
    p.associate()
    p.client.get(ENERGY)
    p.only(GetCompleted)
    assert p.traffic[-2][1][0] == 0xDB and p.traffic[-1][1][0] == 0xDB


# ================================================================================================
# blocks and lists
# ================================================================================================
def test_get_with_list_and_data_access_results() -> None:
    p = pair()
    p.associate()
    p.client.get_many([ENERGY, MISSING, AttributeWithSelection(NAME)])
    done = p.only(GetCompleted)
    assert done.results == (u32(123_456), DataAccessResult.OBJECT_UNDEFINED, axdr.encode(b"MLK0001"))  # type: ignore[union-attr]


def test_long_get_comes_in_blocks_and_is_joined() -> None:
    p = pair(client={"max_receive_pdu_size": 256})
    p.associate()
    access = SelectiveAccess(
        2,
        axdr.encode(
            (
                axdr.DoubleLongUnsigned(1),
                axdr.DoubleLongUnsigned(0),
                axdr.LongUnsigned(1),
                axdr.LongUnsigned(0),
            )
        ),
    )
    p.client.get(BUFFER, access)
    done = p.only(GetCompleted)
    assert done.results == (octets(3000),)  # type: ignore[union-attr]
    blocks = [decode_apdu(a) for way, a in p.traffic if way == "s>c" and a[0] == 0xC4 and a[1] == 0x02]
    assert len(blocks) > 10
    assert all(len(a) <= 256 for way, a in p.traffic if way == "s>c")
    assert [b.block_number for b in blocks] == list(range(1, len(blocks) + 1))  # type: ignore[union-attr]
    assert p.meter.selections[-1] == access


def test_long_get_with_list_in_blocks() -> None:
    p = pair(client={"max_receive_pdu_size": 128})
    p.associate()
    p.client.get_many([BUFFER, MISSING, ENERGY])
    done = p.only(GetCompleted)
    assert done.results == (octets(3000), DataAccessResult.OBJECT_UNDEFINED, u32(123_456))  # type: ignore[union-attr]


def test_long_get_ciphered_blocks_fit_the_client() -> None:
    p = pair(Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED, client={"max_receive_pdu_size": 200})
    p.associate()
    p.client.get(BUFFER)
    assert p.only(GetCompleted).results == (octets(3000),)  # type: ignore[union-attr]
    assert all(len(a) <= 200 for way, a in p.traffic if way == "s>c")


def test_long_set_goes_out_in_blocks() -> None:
    p = pair(server={"max_receive_pdu_size": 128})
    p.associate()
    p.client.set(BUFFER, octets(1000))
    assert p.only(SetCompleted).results == (DataAccessResult.SUCCESS,)  # type: ignore[union-attr]
    assert p.meter.values[BUFFER] == octets(1000)
    sent = [a for way, a in p.traffic if way == "c>s"][1:]  # after the AARQ
    assert len(sent) > 5 and all(len(a) <= 128 for a in sent)
    assert isinstance(decode_apdu(sent[0]), SetRequestWithFirstDatablock)


def test_long_set_with_list_in_blocks() -> None:
    p = pair(server={"max_receive_pdu_size": 100})
    p.associate()
    p.client.set_many([BUFFER, MISSING], [octets(500), u32(1)])
    assert p.only(SetCompleted).results == (DataAccessResult.SUCCESS, DataAccessResult.OBJECT_UNDEFINED)  # type: ignore[union-attr]
    assert p.meter.values[BUFFER] == octets(500)


def test_long_action_parameters_and_answer_in_pblocks() -> None:
    p = pair(client={"max_receive_pdu_size": 150}, server={"max_receive_pdu_size": 150})
    p.associate()
    p.client.action(ECHO, octets(900))
    done = p.only(ActionCompleted)
    assert done.outcomes == (ActionOutcome(ActionResult.SUCCESS, octets(900)),)  # type: ignore[union-attr]
    assert p.meter.calls[-1] == (ECHO, octets(900))
    assert all(len(a) <= 150 for _, a in p.traffic)


def test_action_with_list() -> None:
    p = pair()
    p.associate()
    p.client.action_many([RESET, ECHO], [axdr.encode(axdr.Integer(0)), u32(7)])
    done = p.only(ActionCompleted)
    assert done.outcomes == (ActionOutcome(ActionResult.SUCCESS), ActionOutcome(ActionResult.SUCCESS, u32(7)))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "policy", [SecurityPolicy.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED], ids=lambda p: p.name
)
def test_general_block_transfer_both_ways(policy: SecurityPolicy) -> None:
    p = pair(
        Mechanism.NONE,
        policy,
        client={"max_receive_pdu_size": 120, "use_gbt": True},
        server={"max_receive_pdu_size": 120, "use_gbt": True},
    )
    p.associate()
    p.client.get(BUFFER)
    assert p.only(GetCompleted).results == (octets(3000),)  # type: ignore[union-attr]
    p.client.set(BUFFER, octets(700))
    assert p.only(SetCompleted).results == (DataAccessResult.SUCCESS,)  # type: ignore[union-attr]
    assert p.meter.values[BUFFER] == octets(700)
    gbt = [decode_apdu(a) for _, a in p.traffic if a[0] == 0xE0]
    assert len(gbt) > 30
    assert all(isinstance(g, GeneralBlockTransfer) for g in gbt)
    assert all(len(a) <= 120 for _, a in p.traffic)


# ================================================================================================
# refusals and failures
# ================================================================================================
def test_wrong_lls_password_is_refused_with_the_diagnostic() -> None:
    p = pair(Mechanism.LLS, client={"secret": b"wrong"})
    events = p.associate()
    assert len(events) == 1 and isinstance(events[0], AssociationRefused)
    assert events[0].aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert p.client.state is State.IDLE and p.server.state is State.IDLE
    with pytest.raises(LocalProtocolError, match="no association"):
        p.client.get(ENERGY)


@pytest.mark.parametrize("mechanism", [Mechanism.HLS_MD5, Mechanism.HLS_SHA256], ids=lambda m: m.name)
def test_wrong_hls_secret_fails_pass_three(mechanism: Mechanism) -> None:
    p = pair(mechanism, client={"secret": b"not it"})
    events = p.associate()
    assert len(events) == 1 and isinstance(events[0], AssociationRefused)
    assert "refused our reply" in events[0].reason
    assert p.server.state is State.IDLE and p.client.state is State.IDLE


def test_gmac_with_the_wrong_key_fails() -> None:
    p = pair(Mechanism.HLS_GMAC, client_security={"key": bytes(16)})
    events = p.associate()
    assert isinstance(events[0], AssociationRefused)


def test_client_checks_the_meters_hls_reply() -> None:
    def forge(way: str, apdu: bytes) -> bytes:
        if way == "s>c" and apdu[0] == 0xC7:  # the meter's answer to reply_to_HLS: flip its last byte
            return apdu[:-1] + bytes((apdu[-1] ^ 1,))
        return apdu

    p = pair(Mechanism.HLS_SHA1)
    p.tap = forge
    p.client.associate()
    with pytest.raises(AuthenticationError):
        p.pump()
    assert p.client.state is State.IDLE


def test_ciphered_meter_refuses_a_plain_client() -> None:
    p = pair(
        server_security={
            "policy": SecurityPolicy.AUTHENTICATED_ENCRYPTED,
            "key": EK,
            "auth_key": AK,
            "system_title": METER_TITLE,
        }
    )
    events = p.associate()
    assert isinstance(events[0], AssociationRefused)
    assert events[0].aare.diagnostic is AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


def test_mechanism_mismatch_is_refused() -> None:
    p = pair(Mechanism.NONE, server={"mechanism": Mechanism.LLS, "secret": SECRET})
    events = p.associate()
    assert isinstance(events[0], AssociationRefused)
    assert events[0].aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED


def test_unknown_mechanism_id_is_refused_not_a_crash() -> None:
    """2.16.756.5.8.2.9 names no mechanism: the meter refuses it with diagnostic 11 (no ValueError)."""
    server = ServerAssociation(Meter())
    aarq = AARQ.build(InitiateRequest(), mechanism=MechanismName(9), secret=SECRET)
    server.receive_apdu(aarq.to_bytes())
    aare = decode_apdu(server.data_to_send()[0])
    assert isinstance(aare, AARE) and not aare.accepted
    assert aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    assert server.state is State.IDLE


def test_replayed_response_is_rejected() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    p.client.get(ENERGY)
    p.only(GetCompleted)
    replay = p.traffic[-1][1]
    p.client.get(ENERGY)
    p.pump()
    with pytest.raises(ReplayError):
        p.client.receive_apdu(replay)


def test_tampered_ciphered_response_is_a_security_error() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.tap = lambda way, apdu: (
        apdu[:-1] + bytes((apdu[-1] ^ 0x80,)) if way == "s>c" and apdu[0] == 0xCC else apdu
    )
    p.associate()
    p.client.get(ENERGY)
    with pytest.raises(SecurityError):
        p.pump()


@pytest.mark.parametrize("side", ["client", "server"])
def test_tag_stripped_to_encryption_only_is_refused(side: str) -> None:
    """A man in the middle turns auth+enc (SC 0x30) into enc-only (0x20), drops the GCM tag and
    flips a ciphertext bit (CTR is malleable): under an authenticating policy that must not pass."""
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    tag, way = (0xCC, "s>c") if side == "client" else (0xC8, "c>s")

    def strip(direction: str, apdu: bytes) -> bytes:
        if direction != way or apdu[0] != tag:
            return apdu
        sc, counter, ciphertext = apdu[2], apdu[3:7], bytearray(apdu[7:-12])
        assert sc == 0x30
        ciphertext[-1] ^= 0x01
        body = b"\x20" + counter + bytes(ciphertext)
        return bytes((tag, len(body))) + body

    p.tap = strip
    p.client.get(ENERGY)
    with pytest.raises(SecurityError, match="no authentication tag"):
        p.pump()
    assert p.meter.values[ENERGY] == u32(123_456)


def test_encryption_only_policy_still_takes_encryption_only_apdus() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.ENCRYPTED)
    p.associate()
    p.client.get(ENERGY)
    assert p.only(GetCompleted).results == (u32(123_456),)  # type: ignore[union-attr]
    assert p.traffic[-1][1][2] == 0x20


def test_plain_response_in_a_ciphered_association_is_refused() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    p.client.get(ENERGY)
    p.client.data_to_send()
    plain = bytes.fromhex("C401C1000600000001")
    with pytest.raises(SecurityError, match="unprotected"):
        p.client.receive_apdu(plain)


def test_exception_response_fails_the_pending_request_unciphered_even_in_a_ciphered_association() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    p.client.get(ENERGY)
    p.client.data_to_send()
    p.client.receive_apdu(bytes.fromhex("D80102"))  # u9n #33: meters send these unprotected
    events = p.client.events()
    assert len(events) == 1 and isinstance(events[0], ServiceFailed)
    assert isinstance(events[0].error, ExceptionResponse)
    assert p.client.state is State.ASSOCIATED


def test_response_with_the_wrong_invoke_id_is_unexpected() -> None:
    p = pair()
    p.associate()
    p.client.get(ENERGY)
    p.client.data_to_send()
    with pytest.raises(UnexpectedMessageError, match="invoke id"):
        p.client.receive_apdu(bytes.fromhex("C401C7000600000001"))


def test_out_of_order_get_block_is_unexpected() -> None:
    p = pair()
    p.associate()
    p.client.get(BUFFER)
    sent = p.client.data_to_send()
    request = decode_apdu(sent[0])
    assert isinstance(request, GetRequestNormal)
    invoke = request.invoke_id
    with pytest.raises(UnexpectedMessageError, match="block 2, expected 1"):
        p.client.receive_apdu(GetResponseWithDatablock(invoke, False, 2, b"\x00").to_bytes())


def test_meter_refuses_requests_outside_an_association() -> None:
    server = ServerAssociation(Meter())
    server.receive_apdu(GetRequestNormal(InvokeIdAndPriority(), ENERGY).to_bytes())
    (answer,) = server.data_to_send()
    assert isinstance(decode_apdu(answer), ExceptionResponse)


def test_meter_refuses_a_second_aarq_while_associated() -> None:
    p = pair()
    p.associate()
    second = ClientAssociation()
    second.associate()
    p.server.receive_apdu(second.data_to_send()[0])
    aare = decode_apdu(p.server.data_to_send()[0])
    assert isinstance(aare, AARE) and not aare.accepted
    assert p.server.state is State.ASSOCIATED


def test_get_block_number_out_of_step_on_the_meter() -> None:
    p = pair(client={"max_receive_pdu_size": 256})
    p.associate()
    p.client.get(BUFFER)
    p.server.receive_apdu(p.client.data_to_send()[0])
    p.server.data_to_send()
    p.server.receive_apdu(bytes.fromhex("C002C100000009"))  # get-request-next for block 9
    answer = decode_apdu(p.server.data_to_send()[0])
    assert isinstance(answer, GetResponseWithDatablock)
    assert answer.result is DataAccessResult.DATA_BLOCK_NUMBER_INVALID


def test_get_request_next_for_the_last_block_number_is_answered() -> None:
    """A peer's block number 0xFFFFFFFF must not make the meter build an invalid response."""
    p = pair()
    p.associate()
    p.server.receive_apdu(bytes.fromhex("C002C1FFFFFFFF"))  # no long get in progress
    answer = decode_apdu(p.server.data_to_send()[0])
    assert isinstance(answer, GetResponseWithDatablock)
    assert answer.result is DataAccessResult.NO_LONG_GET_IN_PROGRESS and answer.block_number == 0xFFFFFFFF
    assert p.server.state is State.ASSOCIATED


def test_usage_errors() -> None:
    client = ClientAssociation()
    with pytest.raises(LocalProtocolError):
        client.get(ENERGY)
    with pytest.raises(LocalProtocolError):
        client.release()
    client.associate()
    with pytest.raises(LocalProtocolError):
        client.associate()
    with pytest.raises(LocalProtocolError, match="needs a secret"):
        Settings(mechanism=Mechanism.LLS)
    with pytest.raises(LocalProtocolError, match="system_title"):
        Settings(security=SecuritySettings(policy=SecurityPolicy.ENCRYPTED, key=EK))
    with pytest.raises(LocalProtocolError, match="16 bytes"):
        SecuritySettings(key=b"short").check(False)


# ================================================================================================
# pushes, release, quirks
# ================================================================================================
@pytest.mark.parametrize(
    "policy", [SecurityPolicy.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED], ids=lambda p: p.name
)
def test_pushes_arrive_in_any_state(policy: SecurityPolicy) -> None:
    p = pair(Mechanism.NONE, policy)
    if policy is not SecurityPolicy.NONE:
        p.client.peer_system_title = METER_TITLE  # a push listener knows the meter's title from its config
    body = axdr.encode((u32(1) and axdr.DoubleLongUnsigned(1), b"\x01\x00\x01\x08\x00\xff"))
    when = bytes.fromhex("07E80301FF0C0000FF800000")
    for apdu in p.server.push(body, date_time=when):
        p.client.receive_apdu(apdu)
        p.traffic.append(("s>c", apdu))
    events = p.pump()
    assert len(events) == 1 and isinstance(events[0], PushReceived)
    assert events[0].notification.body == body and events[0].notification.date_time == when
    assert (events[0].ciphered is not None) is (policy is not SecurityPolicy.NONE)
    if policy is not SecurityPolicy.NONE:
        assert p.traffic[-1][1][0] == 0xDB
    p.associate()
    p.client.get(ENERGY)
    (request,) = p.client.data_to_send()
    for apdu in p.server.push(body):  # while the client awaits its response: still a push
        p.client.receive_apdu(apdu)
    p.server.receive_apdu(request)
    events = p.client.events() + p.pump()
    assert {type(e) for e in events} == {PushReceived, GetCompleted}


def test_long_push_goes_out_as_streamed_gbt_blocks() -> None:
    p = pair(server={"use_gbt": True})
    p.server.peer_max_pdu_size = 64
    body = octets(400)
    pushed = p.server.push(body)
    for apdu in pushed:
        p.client.receive_apdu(apdu)
    events = p.client.events()
    assert len(events) == 1 and isinstance(events[0], PushReceived) and events[0].notification.body == body
    assert p.client.data_to_send() == []  # streamed blocks are not acknowledged
    blocks = [decode_apdu(a) for a in pushed]
    assert len(blocks) > 5 and all(isinstance(b, GeneralBlockTransfer) for b in blocks)


def test_release_without_rlrq_for_meters_that_never_answer_one() -> None:
    p = pair(client={"quirks": Quirks(release_with_rlrq=False)})
    p.associate()
    p.client.release()
    assert p.client.data_to_send() == []
    assert p.client.events() == [Released("ended without RLRQ (quirk)")]
    assert p.client.state is State.IDLE


def test_ciphered_release_repeats_the_ciphered_initiate() -> None:
    p = pair(Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED)
    p.associate()
    p.client.release()
    rlrq = RLRQ.from_bytes(p.client.data_to_send()[0])
    aarq = AARQ.from_bytes(next(apdu for way, apdu in p.traffic if way == "c>s" and apdu[0] == 0x60))
    assert rlrq.user_information is not None and aarq.user_information is not None
    again, first = parse_ciphered(rlrq.user_information), parse_ciphered(aarq.user_information)
    assert again.tag == first.tag == 0x21  # glo-initiateRequest, as in the AARQ
    # ... under a fresh invocation counter: repeating the AARQ's bytes would be a replay
    assert again.invocation_counter > first.invocation_counter
    _, plain = unprotect(rlrq.user_information, key=EK, auth_key=AK, system_title=CLIENT_TITLE)
    _, plain_aarq = unprotect(aarq.user_information, key=EK, auth_key=AK, system_title=CLIENT_TITLE)
    assert plain == plain_aarq  # the same InitiateRequest inside
    p.server.receive_apdu(rlrq.to_bytes())
    assert states(p) == (State.AWAIT_RLRE, State.IDLE)


def test_aare_without_user_information_needs_the_quirk() -> None:
    aare = AARE(user_information=None).to_bytes()
    client = ClientAssociation()
    client.associate()
    client.data_to_send()
    with pytest.raises(UnexpectedMessageError, match="aare_without_user_information"):
        client.receive_apdu(aare)
    lenient = ClientAssociation(Settings(quirks=Quirks(aare_without_user_information=True)))
    lenient.associate()
    lenient.receive_apdu(aare)
    assert isinstance(lenient.next_event(), Associated)
    assert lenient.next_event() is NEED_DATA


def test_link_lost_ends_both_sides() -> None:
    p = pair()
    p.associate()
    p.client.link_lost()
    p.server.link_lost()
    assert p.client.events() == [Released("link lost")]
    assert p.client.state is State.IDLE and p.server.state is State.IDLE


def test_legacy_invoke_id_style() -> None:
    p = pair(client={"quirks": Quirks(high_priority=False)})
    p.associate()
    p.client.get(ENERGY)
    p.only(GetCompleted)
    assert p.traffic[-2][1][2] & 0xC0 == 0x40  # confirmed, no priority bit: 0x41...


def test_other_association_object_for_hls() -> None:
    other = Obis.parse("0.0.40.0.3.255")
    quirks = Quirks(association_object=other)
    p = pair(Mechanism.HLS_MD5, client={"quirks": quirks}, server={"quirks": quirks})
    assert isinstance(p.associate()[0], Associated)
    action = decode_apdu(p.traffic[2][1])
    assert action.method.instance == other  # type: ignore[union-attr]


def test_every_table_row_names_a_handler() -> None:
    for table, cls in ((CLIENT_TABLE, ClientAssociation), (SERVER_TABLE, ServerAssociation)):
        for handler, _ in table.values():
            assert callable(getattr(cls, "_" + handler, None)), handler


def test_green_book_ciphered_aarq_byte_for_byte() -> None:
    """The Green Book's ciphered AARQ (LLS, glo-initiateRequest with a dedicated key, IC 01234567),
    as also kept in the dlms-cosem test suite, comes out of our client exactly."""
    security = SecuritySettings(
        SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        key=EK,
        auth_key=AK,
        system_title=METER_TITLE,  # the Green Book example uses 4D4D4D0000BC614E for the client
        dedicated_key=bytes.fromhex("00112233445566778899AABBCCDDEEFF"),
    )
    settings = Settings(
        mechanism=Mechanism.LLS,
        secret=b"12345678",
        security=security,
        conformance=Conformance.from_ber(bytes.fromhex("5F1F0400007E1F")),
        max_receive_pdu_size=1200,
    )
    client = ClientAssociation(settings)
    client.counters.set_next_to_send("guek", 0x01234567)
    client.associate()
    assert client.data_to_send() == [
        bytes.fromhex(
            "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A8008313233343536"
            "3738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB20"
            "4D39EE6FDB8E356855"
        )
    ]


def test_meter_answers_in_the_envelope_the_request_came_in() -> None:
    """A client using general-glo-ciphering gets general-glo-ciphering back even from a meter set
    for service-specific envelopes (dlms-cosem only speaks the general one)."""
    p = pair(
        Mechanism.NONE, SecurityPolicy.AUTHENTICATED_ENCRYPTED, client_security={"general_ciphering": True}
    )
    p.associate()
    p.client.get(ENERGY)
    assert p.only(GetCompleted).results == (u32(123_456),)  # type: ignore[union-attr]
    assert p.traffic[-2][1][0] == 0xDB and p.traffic[-1][1][0] == 0xDB


def test_hls_pass_four_with_another_invoke_id_is_unexpected() -> None:
    def renumber(way: str, apdu: bytes) -> bytes:
        if way == "s>c" and apdu[0] == 0xC7:  # the meter's answer to reply_to_HLS
            return apdu[:2] + bytes((apdu[2] ^ 0x01,)) + apdu[3:]
        return apdu

    p = pair(Mechanism.HLS_SHA1)
    p.tap = renumber
    p.client.associate()
    with pytest.raises(UnexpectedMessageError, match="invoke id"):
        p.pump()
