"""meterlink.dlms.decode: every real capture annotated, offsets that point at the bytes, keys, detection."""

from __future__ import annotations

import contextlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlink.dlms.decode import KINDS, Node, decode, detect
from meterlink.dlms.security import CipheredKind, SecurityControl, protect
from meterlink.errors import DecryptionError, LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.iec62056_21.messages import CommandMessage, DataMessage, RequestMessage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dlms"


def _load(path: Path) -> dict[str, Any]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["data"] = bytes.fromhex("".join(raw["hex"].split()))
    return raw


CAPTURES = {path.stem: _load(path) for path in sorted(FIXTURES.glob("*.toml"))}


def _keys(capture: dict[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name in ("key", "auth_key", "system_title"):
        if name in capture:
            keys[name] = bytes.fromhex(capture[name])
    if "key" in keys and "auth_key" not in keys:
        keys["verify"] = False
    return keys


def _in_input(node: Node, data: bytes, inside: bool = True) -> list[Node]:
    """Nodes whose offsets count from the start of the input (no reassembled/deciphered space above)."""
    out = [node] if inside and node.offset is not None else []
    for child in node.children:
        out.extend(_in_input(child, data, inside and node.space is None))
    return out


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_capture_decodes_with_offsets_pointing_at_its_bytes(name: str) -> None:
    capture = CAPTURES[name]
    data = capture["data"]
    tree = decode(data, **_keys(capture))
    assert tree.name == {"apdu": "llc"}.get(capture["link"], capture["link"])
    checked = _in_input(tree, data)
    assert len(checked) > 5
    for node in checked:
        assert node.offset is not None
        assert data[node.offset : node.offset + len(node.raw)] == node.raw, (node.name, node.offset)
    for node in tree.walk():  # inside other buffers: children sit inside their parent's bytes
        if node.space is not None:
            for child in _in_input(node, node.raw):
                if child is not node and child.offset is not None:
                    assert node.raw[child.offset : child.offset + len(child.raw)] == child.raw
    document = json.loads(json.dumps(tree.to_dict()))
    keys = {"name", "type", "offset", "length", "hex", "text", "value", "space", "children"}
    assert all(set(n) == keys for n in _dicts(document))


def _dicts(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = [document]
    for child in document["children"]:
        out.extend(_dicts(child))
    return out


PUSHES = [name for name in sorted(CAPTURES) if "invoke_id" in CAPTURES[name]["expect"]]


@pytest.mark.parametrize("name", PUSHES)
def test_key_fields_of_a_push_appear_in_text_and_json(name: str) -> None:
    capture = CAPTURES[name]
    expect = capture["expect"]
    tree = decode(capture["data"], **_keys(capture))
    text = tree.to_text()
    document = json.dumps(tree.to_dict())
    if expect["apdus"][0] == "DataNotification":
        assert f"invoke id {expect['invoke_id'] & 0xFFFFFF}," in text  # the fixture keeps all 32 bits
        assert "data-notification" in text
        if expect["date_time"] != "none":
            assert f"date-time: {expect['date_time']}" in text
    for obis in expect.get("values", {}):
        dotted = obis.split("/")[0]
        assert f"OBIS {dotted}" in text, obis
        assert f"OBIS {dotted}" in document
    for value in expect.get("values", {}).values():
        if isinstance(value, int):
            assert f" {value}" in text


def test_kaifa_tagged_date_time_and_llc_are_named() -> None:
    tree = decode(CAPTURES["amshan_test_kaifa_list3"]["data"])
    assert tree.find("LLC") is not None and tree.find("LLC").text == "server -> client"  # type: ignore[union-attr]
    assert tree.find("date-time type") is not None


def test_hdlc_fields_of_the_kmethy_session() -> None:
    tree = decode(CAPTURES["jdlms_fcscalctest_kmethy_faq"]["data"])
    frames = [n for n in tree.children if n.type == "frame"]
    assert len(frames) == 26
    first = frames[0]
    assert [c.name for c in first.children] == ["format", "destination", "source", "control", "FCS"]
    assert first.children[1].text == "logical 1, physical 17 (4 bytes)"
    assert first.children[3].text == "SNRM, P/F set"
    ua = frames[1].find("information")
    assert ua is not None and "max info transmit 128" in ua.text
    text = tree.to_text()
    assert "attribute descriptor: 8 clock 0.0.1.0.0.255 attribute 2 time" in text
    assert "application-context-name: 1 LN referencing" in text
    assert "result: 0 accepted" in text
    assert "vaa-name: 0x0007 (LN referencing)" in text


def test_segmented_hdlc_apdu_is_reassembled() -> None:
    tree = decode(CAPTURES["tasmota_issue8790_iskra_am550"]["data"])
    joined = [n for n in tree.children if n.name == "APDU"]
    assert len(joined) == 1 and joined[0].space == "reassembled APDU"
    assert "HDLC frames 1-3" in joined[0].text and "data-notification" in joined[0].text


def test_gbt_blocks_are_joined_into_the_idis_push() -> None:
    tree = decode(CAPTURES["esphome_pr16942_lg_e450_cyprus"]["data"])
    joined = tree.children[-1]
    assert joined.text.startswith("joined from general-block-transfer blocks 1-3")
    assert "'LGZ1020782546371'" in joined.to_text()
    assert "double-long-unsigned 7136726" in joined.to_text()


def test_ciphered_without_key_shows_the_envelope_only() -> None:
    tree = decode(CAPTURES["amshan_test_wiredmb_sagemcom"]["data"])
    text = tree.to_text()
    assert text.count("not deciphered: no key given") == 3
    assert "security control: suite 0, not authenticated, encrypted, unicast key" in text
    assert "invocation counter: 6934864" in text
    assert "orphan" in text
    assert "the meter wrote only the low byte of 257" in text


UDP = CAPTURES["u9n_test_udp_message_glo_push"]
KEY = bytes.fromhex(UDP["key"])
AK = bytes.fromhex(UDP["auth_key"])


def test_ciphered_with_and_without_authentication_key() -> None:
    first = UDP["data"][: 8 + int.from_bytes(UDP["data"][6:8], "big")]
    verified = decode(first, key=KEY, auth_key=AK)
    assert "tag verified" in verified.to_text()
    plain = verified.find("deciphered APDU")
    assert plain is not None and plain.raw.hex() == UDP["expect"]["first_plain"]
    unverified = decode(first, key=KEY, verify=False)
    assert "tag not checked" in unverified.to_text()
    assert unverified.find("deciphered APDU").raw == plain.raw  # type: ignore[union-attr]
    with pytest.raises(LocalProtocolError, match="authentication key"):
        decode(first, key=KEY)
    with pytest.raises(DecryptionError):
        decode(first, key=KEY, auth_key=bytes(16))


def test_service_specific_envelope_takes_the_given_system_title() -> None:
    title = bytes.fromhex("4b464d1020304050")
    apdu = protect(
        bytes.fromhex("c401c1000600000005"),
        kind=CipheredKind.GLO,
        security_control=SecurityControl.from_byte(0x30),
        system_title=title,
        invocation_counter=7,
        key=KEY,
        auth_key=AK,
    )
    with pytest.raises(LocalProtocolError, match="system title"):
        decode(apdu, key=KEY, auth_key=AK)
    tree = decode(apdu, key=KEY, auth_key=AK, system_title=title)
    assert "glo-get-response" in tree.text
    assert "double-long-unsigned 5" in tree.to_text()


def test_iec_62056_21_messages() -> None:
    request = decode(RequestMessage().to_bytes())
    assert (request.name, request.text) == ("iec62056-21", "request message")
    ident = decode(b"/LGZ5\\2ZMD3104400.B32\r\n")
    assert ident.text == "identification message" and ident.find("mode E") is not None
    message = DataMessage(b"1.8.0(001234.5*kWh)\r\n!\r\n").to_bytes()
    tree = decode(message)
    assert tree.text == "data message"
    data_set = tree.find("data set")
    assert data_set is not None and data_set.text == "1.8.0 (OBIS 1.8.0) = 001234.5 kWh"
    assert message[data_set.offset : data_set.offset + len(data_set.raw)] == data_set.raw  # type: ignore[operator]
    assert decode(CommandMessage.read("1.8.0").to_bytes()).text == "command message R1"
    assert decode(b"\x15").text.startswith("NAK")
    assert decode(b"\x06050\r\n").find("baud character").value == 9600  # type: ignore[union-attr]


def test_detection_order_and_ambiguities() -> None:
    assert detect(b"\x7e\xa0\x07") == ["hdlc"]
    structure = bytes.fromhex("02020f0016 1e".replace(" ", ""))
    assert detect(structure)[-1] == "axdr"
    assert decode(structure).name == "axdr"  # 02 .. without ETX/BCC is not IEC, not an APDU
    framed = DataMessage(b"X(1)\r\n!\r\n").to_bytes()
    assert decode(framed).name == "iec62056-21"
    wrong_bcc = framed[:-1] + bytes((framed[-1] ^ 0x55,))
    with pytest.raises(MeterlinkError):
        decode(wrong_bcc)
    assert decode(bytes.fromhex("0f0a")).name == "axdr"  # integer 10: no data-notification fits
    assert decode(bytes.fromhex("0f0000000100 0600000001".replace(" ", ""))).name == "apdu"
    one_frame_without_flags = CAPTURES["u9n_issue68_kaifa_ma304h4d"]["data"].strip(b"\x7e")
    assert decode(one_frame_without_flags).name == "hdlc"
    assert decode(structure, kind="axdr").name == "axdr"
    with pytest.raises(LocalProtocolError):
        decode(structure, kind="nope")
    assert set(KINDS) >= {"hdlc", "mbus", "wrapper", "apdu", "axdr", "iec62056-21"}


def test_errors_name_the_offset_in_the_input() -> None:
    data = bytearray(CAPTURES["esphome_pr16942_lg_e450_cyprus"]["data"])
    data[140] ^= 0x01  # inside frame 2's header: its HCS no longer matches
    with pytest.raises(MeterlinkError) as info:
        decode(bytes(data))
    assert getattr(info.value, "offset", None) is not None
    assert "frame 2" in str(info.value)
    with pytest.raises(MalformedDataError):
        decode(b"")
    with pytest.raises(MalformedDataError):
        decode(b"\x99\x00")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_meterlink_errors(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        decode(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CAPTURES)), st.data())
def test_damaged_captures_raise_only_meterlink_errors(name: str, draw: st.DataObject) -> None:
    capture = CAPTURES[name]
    data = bytearray(capture["data"])
    for _ in range(draw.draw(st.integers(1, 3))):
        at = draw.draw(st.integers(0, len(data) - 1)) if data else 0
        if data and draw.draw(st.booleans()):
            data[at] = draw.draw(st.integers(0, 255))
        else:
            del data[at:]
    with contextlib.suppress(MeterlinkError):
        decode(bytes(data), **_keys(capture)).to_text()
