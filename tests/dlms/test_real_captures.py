"""Real DLMS/COSEM captures from public sources, decoded through every layer of meterlink.

Each ``tests/fixtures/dlms/*.toml`` holds the bytes of one capture exactly as its public source gives
them (see the README there), the keys when the source publishes them, and under ``[expect]`` what the
capture must decode to, checked by hand against the bytes and the source's own statements. The path is
the one a gateway takes: link framing (HDLC with HCS/FCS, wired M-Bus, TCP/UDP wrapper), segment and
block reassembly, unprotecting, the APDU, the A-XDR body, the COSEM date-time.

Wired M-Bus captures go through :mod:`meterlink.mbus` (framing and DLMS segmentation).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlink.dlms.apdu import AARE, AARQ, CIPHERED_TAGS, DataNotification, GeneralBlockTransfer, decode_apdu
from meterlink.dlms.apdu.get import GetRequestNormal, GetResponseNormal
from meterlink.dlms.apdu.initiate import InitiateResponse
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.security import CipheredApdu, parse_ciphered, unprotect
from meterlink.dlms.wrapper import WrapperFramer, WrapperPdu, decode_datagram
from meterlink.errors import DecryptionError, MalformedDataError, MeterlinkError
from meterlink.hdlc import (
    BadFrame,
    Frame,
    FrameKind,
    Framer,
    HdlcAddress,
    HdlcConnection,
    HdlcParameters,
    PushReceived,
    Role,
    parse_frame,
)
from meterlink.mbus import DlmsSegmenter, read_frame
from meterlink.obis import Obis

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dlms"
CAPTURE_FILES = sorted(FIXTURES.glob("*.toml"))
NAMES = [path.stem for path in CAPTURE_FILES]
LINKS = {"hdlc", "wrapper", "mbus", "apdu"}
LLC = (b"\xe6\xe6\x00", b"\xe6\xe7\x00")

KNOWN_LAYER_BUGS: dict[str, str] = {}
"""Fixture -> what a meterlink layer still gets wrong with it (the affected test is a strict xfail)."""


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Capture:
    name: str
    source: str
    meter: str
    country: str
    link: str
    data: bytes
    expect: dict[str, Any]
    key: bytes | None = None
    auth_key: bytes | None = None
    system_title: bytes | None = None
    llc: bool = False


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def _load(path: Path) -> Capture:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))

    def opt(name: str) -> bytes | None:
        return _hex(raw[name]) if name in raw else None

    return Capture(
        name=path.stem,
        source=raw["source"],
        meter=raw["meter"],
        country=raw["country"],
        link=raw["link"],
        data=_hex(raw["hex"]),
        expect=raw.get("expect", {}),
        key=opt("key"),
        auth_key=opt("auth_key"),
        system_title=opt("system_title"),
        llc=raw.get("llc", False),
    )


CAPTURES = {path.stem: _load(path) for path in CAPTURE_FILES}


def _capture_params(*, where: str | None = None, link: str | None = None, keyed: bool = False) -> list[Any]:
    chosen = [
        name
        for name in NAMES
        if (where is None or where in CAPTURES[name].expect)
        and (link is None or CAPTURES[name].link == link)
        and (not keyed or CAPTURES[name].key is not None)
    ]
    return [pytest.param(CAPTURES[name], id=name) for name in chosen]


# ------------------------------------------------------------------------------------------------
# the layers
# ------------------------------------------------------------------------------------------------
@dataclass
class Decoded:
    """What each layer made of one capture."""

    units: int = 0
    """HDLC frames, M-Bus long frames or wrapper PDUs."""
    frames: list[Frame] = field(default_factory=list)
    pdus: list[WrapperPdu] = field(default_factory=list)
    link_apdus: list[bytes] = field(default_factory=list)
    """APDUs as the link delivers them: segments joined, LLC header removed."""
    ciphered: list[CipheredApdu] = field(default_factory=list)
    plain: list[bytes | None] = field(default_factory=list)
    """Deciphered (or never ciphered) APDUs; None where no key is published."""
    gbt_blocks: int = 0
    apdus: list[Any] = field(default_factory=list)
    mbus_orphans: int = 0
    mbus_length_overflows: int = 0


def _strip_llc(data: bytes) -> bytes:
    return data[3:] if data[:3] in LLC else data


def _hdlc(data: bytes, out: Decoded) -> None:
    framer = Framer()
    framer.feed(data)
    pending = bytearray()
    for item in framer:
        if isinstance(item, BadFrame):
            raise item.error
        out.frames.append(item)
        if item.kind in (FrameKind.I, FrameKind.UI) and item.info:
            pending += item.info
            if not item.segmented:
                out.link_apdus.append(_strip_llc(bytes(pending)))
                pending.clear()
    out.units = len(out.frames)
    if framer.buffered > 1:  # a closing flag may stay behind
        raise MalformedDataError("capture ends inside a frame", data=data, offset=len(data) - framer.buffered)


def _mbus_apdus(data: bytes, out: Decoded) -> None:
    """EN 13757-2 long frames with DLMS segmentation in CI, through :mod:`meterlink.mbus` (the
    Sagemcom T210-D writes only the low byte of a 257-byte length; a capture may begin mid-push)."""
    segmenter = DlmsSegmenter()
    pos = 0
    while pos < len(data):
        frame, pos, overflow = read_frame(data, pos)
        out.mbus_length_overflows += overflow
        apdu = segmenter.add(frame)
        if apdu is not None:
            out.link_apdus.append(apdu)
        out.units += 1
    out.mbus_orphans = segmenter.orphans


def _wrapper(data: bytes, out: Decoded) -> None:
    framer = WrapperFramer()
    framer.feed(data)
    out.pdus = list(framer)
    if framer.buffered:
        raise MalformedDataError("capture ends inside a wrapper PDU", data=data, offset=len(data))
    out.units = len(out.pdus)
    out.link_apdus = [pdu.apdu for pdu in out.pdus]


def _unprotect(capture: Capture, apdu: bytes, out: Decoded) -> bytes | None:
    if not apdu or apdu[0] not in CIPHERED_TAGS:
        return apdu
    out.ciphered.append(parse_ciphered(apdu))
    if capture.key is None:
        return None
    verify = capture.auth_key is not None
    _, plain = unprotect(
        apdu, key=capture.key, auth_key=capture.auth_key, system_title=capture.system_title, verify=verify
    )
    return plain


def decode_capture(capture: Capture) -> Decoded:
    """Run a capture through the layers its link needs; only meterlink errors may come out."""
    out = Decoded()
    if capture.link == "hdlc":
        _hdlc(capture.data, out)
    elif capture.link == "mbus":
        _mbus_apdus(capture.data, out)
    elif capture.link == "wrapper":
        _wrapper(capture.data, out)
    else:
        data = capture.data
        if capture.llc:
            if data[:3] not in LLC:
                raise MalformedDataError("LLC header missing", data=data, offset=0)
            data = data[3:]
        out.link_apdus = [data]
    blocks: list[GeneralBlockTransfer] = []
    for raw in out.link_apdus:
        plain = _unprotect(capture, raw, out)
        if plain is not None and plain[:1] == b"\xe0":
            block = decode_apdu(plain)
            assert isinstance(block, GeneralBlockTransfer)
            blocks.append(block)
            if not block.last_block:
                continue
            plain = _join_blocks(blocks)
            out.gbt_blocks += len(blocks)
            blocks = []
            plain = _unprotect(capture, plain, out)
        out.plain.append(plain)
        out.apdus.append(None if plain is None else decode_apdu(plain))
    return out


def _join_blocks(blocks: Sequence[GeneralBlockTransfer]) -> bytes:
    numbers = [block.block_number for block in blocks]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        joined = b"".join(block.to_bytes() for block in blocks)
        message = f"general-block-transfer blocks out of order: {numbers}"
        raise MalformedDataError(message, data=joined, offset=0)
    return b"".join(block.block_data for block in blocks)


# ------------------------------------------------------------------------------------------------
# reading the decoded body
# ------------------------------------------------------------------------------------------------
def _is_obis(value: object) -> bool:
    return type(value) is bytes and len(value) == 6


def _dotted(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _is_capture_list(value: object) -> bool:
    """An IDIS push object list: array of {class-id, logical name, attribute, data index}."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(d, tuple) and len(d) == 4 and _is_obis(d[1]) and isinstance(d[2], int) for d in value
        )
    )


def obis_values(body: object) -> dict[str, object]:
    """OBIS code (``a.b.c.d.e.f``, ``/attr`` for attributes other than 2) -> the value sent with it.

    Understands the three push layouts of the captures: {OBIS, value[, scaler_unit]} structures, flat
    OBIS / value sequences, and IDIS pushes whose first element lists the capture objects.
    """
    found: dict[str, object] = {}
    if isinstance(body, (list, tuple)) and body and _is_capture_list(body[0]):
        for definition, value in zip(body[0], body, strict=False):
            attribute = int(definition[2])
            key = _dotted(definition[1]) + ("" if attribute == 2 else f"/{attribute}")
            found.setdefault(key, value)
        return found
    _walk(body, found)
    return found


def _walk(node: object, found: dict[str, object]) -> None:
    if not isinstance(node, (list, tuple)):
        return
    if isinstance(node, tuple) and 2 <= len(node) <= 3 and _is_obis(node[0]):
        found.setdefault(_dotted(node[0]), node[1])  # {OBIS, value[, scaler_unit]}: the value may be 6 bytes
        return
    i = 0
    while i < len(node):
        item = node[i]
        if _is_obis(item) and i + 1 < len(node) and not _is_obis(node[i + 1]):
            found.setdefault(_dotted(item), node[i + 1])
            i += 2
            continue
        _walk(item, found)
        i += 1


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, str) and expected.startswith("dt:"):
        if isinstance(actual, bytes) and len(actual) == 12:
            actual = CosemDateTime.from_bytes(actual)
        return isinstance(actual, CosemDateTime) and actual.to_datetime().isoformat() == expected[3:]
    if isinstance(expected, str):
        text = actual.decode("latin-1") if isinstance(actual, bytes) else actual
        return text == expected
    if isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool) and int(actual) == expected
    return actual == expected


def _stamp(dn: DataNotification) -> str:
    if dn.date_time is None:
        return "none"
    return CosemDateTime.from_bytes(dn.date_time).to_datetime().isoformat()


# ------------------------------------------------------------------------------------------------
# the fixtures themselves
# ------------------------------------------------------------------------------------------------
def test_the_collection_is_broad_enough() -> None:
    named = [c.meter for c in CAPTURES.values() if not c.meter.startswith(("not named", "DLMS UA"))]
    makers = {meter.split()[0] for meter in named}
    countries = {c.country for c in CAPTURES.values()} - {"unknown"}
    assert len(CAPTURES) >= 15
    assert len(makers) >= 6, makers
    assert len(countries) >= 4, countries
    assert {c.link for c in CAPTURES.values()} == LINKS


@pytest.mark.parametrize("capture", _capture_params())
def test_fixture_is_complete_and_listed(capture: Capture) -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert capture.link in LINKS
    assert capture.source and capture.meter and capture.country
    assert capture.data
    assert f"`{capture.name}.toml`" in readme
    assert capture.expect, "every capture says what it decodes to"
    for key in (capture.key, capture.auth_key):
        assert key is None or len(key) == 16
    assert capture.system_title is None or len(capture.system_title) == 8


# ------------------------------------------------------------------------------------------------
# link layer
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("capture", _capture_params(where="frames"))
def test_link_layer(capture: Capture) -> None:
    out = decode_capture(capture)
    expect = capture.expect
    assert out.units == expect["frames"]
    if capture.link == "hdlc":
        for frame in out.frames:
            # byte-exact: re-encoding recomputes HCS and FCS, so this also checks both as received
            assert frame.to_bytes(flags=False) in capture.data
            assert parse_frame(frame.to_bytes()) == frame
        assert [f.kind.value for f in out.frames] == expect["kinds"]
        assert [f.segmented for f in out.frames] == expect["segmented"]
        if "poll_final" in expect:
            assert [f.poll_final for f in out.frames] == expect["poll_final"]
    if capture.link == "mbus":
        assert out.mbus_orphans == expect.get("orphan_segments", 0)
        assert out.mbus_length_overflows == expect.get("length_overflow_frames", 0)
    if capture.link == "wrapper":
        source, destination = expect["wrapper_ports"]
        for pdu in out.pdus:
            assert (pdu.header.source, pdu.header.destination) == (source, destination)
            assert decode_datagram(pdu.to_bytes()) == pdu
        assert b"".join(pdu.to_bytes() for pdu in out.pdus) == capture.data


@pytest.mark.parametrize("capture", _capture_params(where="frmr_rejected_control"))
def test_frame_reject_reason(capture: Capture) -> None:
    frmr = next(f for f in decode_capture(capture).frames if f.kind is FrameKind.FRMR)
    assert frmr.frmr.rejected_control == capture.expect["frmr_rejected_control"]
    assert list(frmr.frmr.reasons) == capture.expect["frmr_reasons"]
    assert (frmr.frmr.send_state, frmr.frmr.receive_state) == (0, 0)
    # the rejected frame is the client's I frame just before it: N(S)=2 on a link the meter had reset
    rejected = next(f for f in decode_capture(capture).frames if f.kind is FrameKind.I)
    assert rejected.control == frmr.frmr.rejected_control
    assert (rejected.send_seq, rejected.receive_seq) == (2, 2)


@pytest.mark.parametrize("capture", _capture_params(where="ua_max_info"))
def test_ua_parameters(capture: Capture) -> None:
    ua = next(f for f in decode_capture(capture).frames if f.kind is FrameKind.UA)
    params = HdlcParameters.from_info(ua.info)
    size = capture.expect["ua_max_info"]
    assert (params.max_info_transmit, params.max_info_receive) == (size, size)
    assert (params.window_transmit, params.window_receive) == (1, 1)


@pytest.mark.parametrize("capture", _capture_params(where="source_address"))
def test_four_byte_server_address(capture: Capture) -> None:
    logical, physical = capture.expect["source_address"]
    meter_frames = [f for f in decode_capture(capture).frames if f.source.size == 4]
    assert meter_frames
    for frame in meter_frames:
        assert (frame.source.logical, frame.source.physical) == (logical, physical)


@pytest.mark.parametrize("capture", _capture_params(where="echo"))
def test_echo_of_our_own_frames_is_dropped(capture: Capture) -> None:
    frames = decode_capture(capture).frames
    framer = Framer()
    for frame in frames:
        framer.expect_echo(frame.to_bytes())
    framer.feed(capture.data)
    assert list(framer) == []
    assert framer.echoes_dropped == len(frames)


def test_kamstrup_echo_through_a_client_connection() -> None:
    """Our client, set up as in the issue, addresses the SNRM alike and does not choke on its echo.

    (Our SNRM states the default parameters where dlms-cosem sent none, so the bytes differ there.)
    """
    capture = CAPTURES["u9n_issue62_kamstrup_snrm_echo"]
    snrm = decode_capture(capture).frames[0]
    conn = HdlcConnection(Role.CLIENT, client_address=snrm.source.logical, server_address=snrm.destination)
    conn.connect(now=0.0)
    sent = conn.data_to_send()
    ours = parse_frame(sent)
    assert (ours.kind, ours.destination.encoded, ours.source.encoded) == (
        FrameKind.SNRM,
        snrm.destination.encoded,
        snrm.source.encoded,
    )
    assert HdlcParameters.from_info(ours.info) == HdlcParameters()
    conn.receive_data(sent, 0.01)  # the optical head returns it
    assert conn.events() == []
    conn.time_passed(conn.deadline or 0.0)  # and the meter stays silent: the SNRM is repeated
    assert conn.data_to_send() == sent


@pytest.mark.parametrize("capture", _capture_params(link="hdlc"))
def test_hdlc_framing_does_not_depend_on_how_bytes_arrive(capture: Capture) -> None:
    whole = decode_capture(capture).frames
    for size in (1, 5, 64):
        framer = Framer()
        got: list[Frame | BadFrame] = []
        for at in range(0, len(capture.data), size):
            framer.feed(capture.data[at : at + size])
            got.extend(framer)
        assert got == whole, f"chunks of {size}"


@pytest.mark.parametrize("capture", _capture_params(link="wrapper"))
def test_wrapper_framing_does_not_depend_on_how_bytes_arrive(capture: Capture) -> None:
    whole = decode_capture(capture).pdus
    for size in (1, 9, 100):
        framer = WrapperFramer()
        got: list[WrapperPdu] = []
        for at in range(0, len(capture.data), size):
            framer.feed(capture.data[at : at + size])
            got.extend(framer)
        assert got == whole, f"chunks of {size}"


@pytest.mark.parametrize("capture", _capture_params(where="push"))
def test_push_through_hdlc_connection(capture: Capture, request: pytest.FixtureRequest) -> None:
    """A client listening on the push's own addresses gets the same APDUs as the frame-by-frame path."""
    if capture.name in KNOWN_LAYER_BUGS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_LAYER_BUGS[capture.name], strict=True))
    out = decode_capture(capture)
    first = out.frames[0]
    conn = HdlcConnection(
        Role.CLIENT,
        client_address=HdlcAddress.client(first.destination.logical),
        server_address=first.source,
    )
    conn.receive_data(capture.data, 0.0)
    pushed = [event.data for event in conn.events() if isinstance(event, PushReceived)]
    assert pushed == out.link_apdus


# ------------------------------------------------------------------------------------------------
# APDUs, ciphering, bodies
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("capture", _capture_params(where="apdus"))
def test_apdus(capture: Capture) -> None:
    out = decode_capture(capture)
    kinds = ["ciphered" if apdu is None else type(apdu).__name__ for apdu in out.apdus]
    assert kinds == capture.expect["apdus"]
    assert out.gbt_blocks == capture.expect.get("gbt_blocks", 0)
    if "first_plain" in capture.expect:
        assert out.plain[0] == bytes.fromhex(capture.expect["first_plain"])
    for plain, apdu in zip(out.plain, out.apdus, strict=True):
        if apdu is not None:
            assert apdu.to_bytes() == plain, "every APDU re-encodes to the bytes the meter sent"


@pytest.mark.parametrize("capture", _capture_params(where="ciphered_kind"))
def test_ciphering_envelope(capture: Capture) -> None:
    out = decode_capture(capture)
    expect = capture.expect
    assert [c.kind.value for c in out.ciphered] == [expect["ciphered_kind"]] * len(out.ciphered)
    assert [c.invocation_counter for c in out.ciphered] == expect["invocation_counters"]
    for envelope in out.ciphered:
        assert envelope.security_control.to_byte() == expect["security_control"]
        assert envelope.system_title is not None and envelope.system_title.hex() == expect["system_title"]
    counters = expect["invocation_counters"]
    assert counters == sorted(set(counters)), "a meter never reuses an invocation counter"


@pytest.mark.parametrize("capture", _capture_params(where="invoke_id"))
def test_notification_header_and_body(capture: Capture) -> None:
    out = decode_capture(capture)
    expect = capture.expect
    if expect["apdus"][0] != "DataNotification":
        return  # a session: see test_association_and_get
    dn = out.apdus[0]
    assert isinstance(dn, DataNotification)
    assert dn.invoke_id.value == expect["invoke_id"]
    assert _stamp(dn) == expect["date_time"]
    assert dn.tagged_date_time is expect.get("tagged_date_time", False)
    body = dn.value
    if "item_count" in expect:
        assert isinstance(body, (list, tuple)) and len(body) == expect["item_count"]
    values = obis_values(body)
    for obis, wanted in expect.get("values", {}).items():
        assert obis in values, f"{obis} not in the body"
        assert _same(values[obis], wanted), f"{obis}: {values[obis]!r} != {wanted!r}"
    for index, wanted in expect.get("items", {}).items():
        assert isinstance(body, (list, tuple))
        assert _same(body[int(index)], wanted), f"item {index}: {body[int(index)]!r} != {wanted!r}"
    ids = [a.invoke_id.value for a in out.apdus if isinstance(a, DataNotification)]
    assert ids == expect.get("invoke_ids", [expect["invoke_id"]] * len(out.apdus))


@pytest.mark.parametrize("capture", _capture_params(where="aare_result"))
def test_association_and_get(capture: Capture) -> None:
    apdus = decode_capture(capture).apdus
    expect = capture.expect
    aare = next(a for a in apdus if isinstance(a, AARE))
    assert aare.result == expect["aare_result"]
    assert aare.responding_ap_title is not None
    assert aare.responding_ap_title.hex() == expect["responding_ap_title"]
    assert (aare.outer_length_octets > 0) is expect["aare_long_form"]
    assert aare.user_information is not None
    initiate = InitiateResponse.from_bytes(aare.user_information)
    assert initiate.server_max_receive_pdu_size == expect["server_max_pdu"]
    request = next(a for a in apdus if isinstance(a, GetRequestNormal))
    assert request.attribute.instance == Obis.parse(expect["get_obis"])
    response = next(a for a in apdus if isinstance(a, GetResponseNormal))
    assert response.invoke_id == request.invoke_id
    assert response.value == expect["get_value"]


@pytest.mark.parametrize("capture", _capture_params(where="aarq_mechanism"))
def test_association_request(capture: Capture) -> None:
    aarq = next(a for a in decode_capture(capture).apdus if isinstance(a, AARQ))
    expect = capture.expect
    assert aarq.mechanism_name == expect["aarq_mechanism"]
    assert aarq.calling_authentication_value == expect["aarq_password"].encode()
    assert aarq.calling_ap_title is not None and aarq.calling_ap_title.hex() == expect["aarq_calling_title"]


def test_kmethy_clock_session() -> None:
    capture = CAPTURES["jdlms_fcscalctest_kmethy_faq"]
    apdus = decode_capture(capture).apdus
    invoke_ids = {a.invoke_id.value for a in apdus if hasattr(a, "invoke_id")}
    assert invoke_ids == {capture.expect["invoke_id"]}
    requests = [a for a in apdus if isinstance(a, GetRequestNormal)]
    assert {r.attribute.instance for r in requests} == {Obis.parse("0.0.1.0.0.255")}
    assert [r.attribute.attribute_id for r in requests] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    stamps = [a.value for a in apdus if isinstance(a, GetResponseNormal) and isinstance(a.value, bytes)]
    stamp = CosemDateTime.from_bytes(next(value for value in stamps if len(value) == 12))
    assert stamp.to_datetime().replace(tzinfo=None).isoformat() == capture.expect["clock_time"]
    assert stamp.deviation == 120  # the FAQ still uses local-minus-UTC


@pytest.mark.parametrize("capture", _capture_params(where="ciphered_kind", keyed=True))
def test_decrypt_without_authentication_key(capture: Capture) -> None:
    """With only the EK published (or the AK unknown), the payload still deciphers."""
    assert capture.key is not None
    out = decode_capture(capture)
    raw = [apdu for apdu in out.link_apdus if apdu[0] in CIPHERED_TAGS]
    for apdu, plain in zip(raw, out.plain, strict=True):
        title = capture.system_title
        _, again = unprotect(apdu, key=capture.key, auth_key=None, system_title=title, verify=False)
        assert again == plain
        sc = parse_ciphered(apdu).security_control
        if sc.authenticated:
            wrong = bytes(16)
            with pytest.raises(DecryptionError):
                unprotect(apdu, key=capture.key, auth_key=wrong, system_title=title)
            damaged = apdu[:-1] + bytes((apdu[-1] ^ 1,))
            with pytest.raises(DecryptionError):
                unprotect(damaged, key=capture.key, auth_key=capture.auth_key, system_title=title)


# ------------------------------------------------------------------------------------------------
# peers: where they agree, and where they are wrong
# ------------------------------------------------------------------------------------------------
def test_dlms_cosem_deciphers_the_udp_pushes_like_we_do() -> None:
    from dlms_cosem.protocol.xdlms import GeneralGlobalCipher
    from dlms_cosem.security import SecurityControlField, decrypt

    capture = CAPTURES["u9n_test_udp_message_glo_push"]
    out = decode_capture(capture)
    assert capture.key is not None and capture.auth_key is not None
    for apdu, plain in zip(out.link_apdus, out.plain, strict=True):
        ggc = GeneralGlobalCipher.from_bytes(apdu)
        theirs = decrypt(
            security_control=SecurityControlField.from_bytes(ggc.security_control.to_bytes()),
            system_title=ggc.system_title,
            invocation_counter=ggc.invocation_counter,
            key=capture.key,
            auth_key=capture.auth_key,
            cipher_text=ggc.ciphered_text,
        )
        assert theirs == plain


def test_dlms_cosem_cannot_read_the_kamstrup_long_form_aare() -> None:
    """u9n/dlms-cosem#115: AARE lengths are read in short form only; 61 82 00 35 breaks it."""
    from dlms_cosem.protocol.acse import ApplicationAssociationResponse

    capture = CAPTURES["u9n_issue116_kamstrup_omnia_public"]
    aare = decode_capture(capture).plain[1]
    assert aare is not None and aare[:4] == bytes.fromhex("61820035")
    with pytest.raises(Exception):  # noqa: B017 - whatever the peer happens to raise
        ApplicationAssociationResponse.from_bytes(aare)


def test_dlms_cosem_cannot_read_the_kaifa_push_frames() -> None:
    """u9n/dlms-cosem#68 (open): with a 2-byte source address it misplaces the control field and HCS."""
    from dlms_cosem.hdlc import frames

    capture = CAPTURES["u9n_issue68_kaifa_ma304h4d"]
    assert decode_capture(capture).frames[0].source.size == 2  # we read it
    with pytest.raises(Exception):  # noqa: B017
        frames.InformationFrame.from_bytes(capture.data)
    with pytest.raises(Exception):  # noqa: B017
        frames.UnnumberedInformationFrame.from_bytes(capture.data)


def test_dlms_cosem_cannot_read_the_kaifa_tagged_date_time() -> None:
    """dlms-cosem reads the notification date-time without the Kaifa ``09`` tag and fails on the month."""
    from dlms_cosem.protocol.xdlms import DataNotification as TheirNotification

    capture = CAPTURES["amshan_test_kaifa_list3"]
    ours = decode_capture(capture).apdus[0]
    assert isinstance(ours, DataNotification) and ours.tagged_date_time
    with pytest.raises(ValueError):
        TheirNotification.from_bytes(capture.data[3:])


def test_gurux_checks_the_frames_we_accept() -> None:
    """Gurux computes the same HDLC CRC over every captured frame (incl. 4-byte and 2-byte addresses)."""
    from gurux_dlms._GXFCS16 import _GXFCS16

    for capture in CAPTURES.values():
        if capture.link != "hdlc":
            continue
        for frame in decode_capture(capture).frames:
            body = frame.to_bytes(flags=False)
            theirs = _GXFCS16.countFCS16(body, 0, len(body) - 2)
            assert theirs == int.from_bytes(body[-2:], "big"), capture.name  # Gurux keeps it byte-swapped


# ------------------------------------------------------------------------------------------------
# fuzzing with real bytes
# ------------------------------------------------------------------------------------------------
@st.composite
def _damaged_capture(draw: st.DrawFn) -> Capture:
    capture = CAPTURES[draw(st.sampled_from(NAMES))]
    data = bytearray(capture.data)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[at : at + draw(st.integers(1, 16))]
    return Capture(**{**capture.__dict__, "data": bytes(data)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_damaged_capture())
def test_damaged_captures_raise_only_meterlink_errors(capture: Capture) -> None:
    try:
        out = decode_capture(capture)
        for apdu in out.apdus:
            if isinstance(apdu, DataNotification):
                obis_values(apdu.value)
                if apdu.date_time is not None and len(apdu.date_time) == 12:
                    CosemDateTime.from_bytes(apdu.date_time)
    except MeterlinkError:
        pass


PLAIN_APDUS = [plain for c in CAPTURES.values() for plain in decode_capture(c).plain if plain is not None]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PLAIN_APDUS), st.data())
def test_damaged_real_apdus_raise_only_meterlink_errors(plain: bytes, data: st.DataObject) -> None:
    """Past the link checks: the APDU and A-XDR decoders get real structures with a few bytes wrong."""
    damaged = bytearray(plain)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(damaged) - 1)) if damaged else 0
        if damaged and data.draw(st.booleans()):
            damaged[at] = data.draw(st.integers(0, 255))
        else:
            del damaged[at:]
    try:
        apdu = decode_apdu(bytes(damaged))
        value = getattr(apdu, "value", None)
        if isinstance(apdu, DataNotification):
            obis_values(value)
    except MeterlinkError:
        pass
