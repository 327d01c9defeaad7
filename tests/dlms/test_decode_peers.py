"""``meterlink.dlms.decode`` against Gurux's translator (``GXDLMSTranslator.pduToXml``).

For each APDU both trees are boiled down to their meaning - the PDU kind, invoke ids, class
ids, OBIS codes, attribute and method ids, results and every A-XDR value with its type - and the
two must agree. Where Gurux is wrong (it prints truncated data and ignores trailing bytes
instead of refusing them) a test says so and checks that we refuse.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from meterlink.dlms.decode import decode
from meterlink.errors import MalformedDataError
from meterlink.obis import Obis

gurux = pytest.importorskip("gurux_dlms")
from gurux_dlms.enums import TranslatorOutputType  # noqa: E402

_SIGNED = {"Int8": 1, "Int16": 2, "Int32": 4, "Int64": 8}
_TYPES = {
    "UInt8": "unsigned",
    "Int8": "integer",
    "UInt16": "long-unsigned",
    "Int16": "long",
    "UInt32": "double-long-unsigned",
    "Int32": "double-long",
    "UInt64": "long64-unsigned",
    "Int64": "long64",
    "Enum": "enum",
    "OctetString": "octet-string",
    "String": "visible-string",
    "Structure": "structure",
    "Array": "array",
}
"""Gurux's XML element for an A-XDR type -> ours."""

_PDUS = {
    "GetRequest": 0xC0,
    "SetRequest": 0xC1,
    "EventNotificationRequest": 0xC2,
    "ActionRequest": 0xC3,
    "GetResponse": 0xC4,
    "SetResponse": 0xC5,
    "ActionResponse": 0xC7,
    "DataNotification": 0x0F,
    "AssociationRequest": 0x60,
    "AssociationResponse": 0x61,
}


def _translate(data: bytes) -> ET.Element:
    translator = gurux.GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML)
    return ET.fromstring(translator.pduToXml(gurux.GXByteBuffer(data)))


def _gx_value(tag: str, text: str, element: ET.Element) -> Any:
    if tag in ("Structure", "Array"):
        return int(element.get("Qty", "0"), 16)
    if tag == "OctetString":
        return text.lower()
    if tag == "String":
        return text
    number = int(text, 16)
    width = _SIGNED.get(tag)
    if width is not None and number >= 1 << (8 * width - 1):
        number -= 1 << (8 * width)
    return number


def gurux_meaning(data: bytes) -> dict[str, Any]:
    root = _translate(data)
    out: dict[str, Any] = {"tag": _PDUS[root.tag], "invoke": [], "class": [], "obis": [], "id": []}
    out["values"] = []
    for element in root.iter():
        tag, text = element.tag, element.get("Value", "")
        if tag == "InvokeIdAndPriority":
            out["invoke"].append(int(text, 16) & 0x0F)
        elif tag == "LongInvokeIdAndPriority":
            out["invoke"].append(int(text, 16) & 0xFFFFFF)
        elif tag == "ClassId":
            out["class"].append(int(text, 16))
        elif tag == "InstanceId":
            out["obis"].append(Obis.from_bytes(bytes.fromhex(text)).dotted)
        elif tag in ("AttributeId", "MethodId"):
            out["id"].append(int(text, 16))
        elif tag in _TYPES:
            out["values"].append((_TYPES[tag], _gx_value(tag, text, element)))
    return out


def our_meaning(data: bytes) -> dict[str, Any]:
    tree = decode(data, kind="apdu")
    out: dict[str, Any] = {"tag": None, "invoke": [], "class": [], "obis": [], "id": [], "values": []}
    kinds = set(_TYPES.values())
    for node in tree.walk():
        if node.name == "tag" and out["tag"] is None:
            out["tag"] = node.value
        elif node.name in ("invoke-id-and-priority", "long-invoke-id-and-priority"):
            out["invoke"].append(node.value)
        elif node.name == "class-id":
            out["class"].append(node.value)
        elif node.name == "instance-id":
            out["obis"].append(node.value)
        elif node.name in ("attribute-id", "method-id"):
            out["id"].append(node.value)
        elif node.type in kinds:
            out["values"].append((node.type, node.value))
    return out


CASES = {
    "get-request-normal": "c001c100030100010800ff0200",
    "get-request-with-list": "c003c10200030100010800ff020000080000010000ff0200",
    "get-response-normal": "c401c1000600000064",
    "get-response-negative-integer": "c401c1000fff",
    "get-response-structure": "c401c1000101020312000109060000010000ff0f02",
    "get-response-data-access-result": "c401c10104",
    "set-request-normal": "c101c100030000010800ff0200060000000a",
    "set-response-normal": "c501c100",
    "action-request-normal": "c301c10046000060030aff01010f00",
    "action-response-with-data": "c701c10001000903414243",
    "action-response-success": "c701c10000",
    "data-notification-with-date-time": "0f000000010c07e8030105080f1e00ff8880020209060000600100ff0600000005",
    "data-notification-without-date-time": "0f00000002000101" + "0a03414243",
    "event-notification": "c20000010000616200ff021107",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_meaning_agrees_with_gurux(name: str) -> None:
    data = bytes.fromhex(CASES[name])
    ours, theirs = our_meaning(data), gurux_meaning(data)
    assert ours == theirs
    assert ours["tag"] == data[0]


def test_a_data_access_result_agrees() -> None:
    data = bytes.fromhex(CASES["get-response-data-access-result"])
    error = _translate(data).find(".//DataAccessError")
    assert error is not None and error.get("Value") == "UndefinedObject"
    node = decode(data, kind="apdu").find("data-access-result")
    assert node is not None and node.value == 4  # object-undefined


AARQ = (
    "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
    "be10040e01000000065f1f0400001e1dffff"
)
AARE = "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000101d00800007"
AARE_REJECTED = "6129a109060760857405080101a203020101a305a103020101be10040e0800065f1f040000101d00800007"


def _conformance_names(text: str) -> set[str]:
    return {name.strip().replace("-", "") for name in text.split(":", 1)[-1].split(",")}


@pytest.mark.parametrize("hexdata", [AARQ, AARE, AARE_REJECTED])
def test_association_apdus_agree(hexdata: str) -> None:
    data = bytes.fromhex(hexdata)
    root = _translate(data)
    tree = decode(data, kind="apdu")
    assert _PDUS[root.tag] == data[0]
    context = root.find("ApplicationContextName")
    assert context is not None and context.get("Value") == "LN"
    node = tree.find("application-context-name")
    assert node is not None and str(node.value).endswith("01")  # ...08 01 01: LN, no ciphering
    gx_bits = {e.get("Name", "").lower() for e in root.iter("ConformanceBit")}
    conformance = tree.find("conformance")
    assert conformance is not None
    ours = {name.lower() for name in _conformance_names(conformance.text)}
    assert ours == gx_bits
    size = next(e for e in root.iter() if e.tag.endswith("MaxPduSize"))
    pdu = tree.find("client-max-receive-pdu-size") or tree.find("server-max-receive-pdu-size")
    assert pdu is not None and pdu.value == int(size.get("Value", ""), 16)
    if data[0] == 0x60:
        mechanism = root.find("MechanismName")
        assert mechanism is not None and mechanism.get("Value") == "Low"
        name = tree.find("mechanism-name")
        assert name is not None and str(name.value).endswith("01")  # LLS
        secret = root.find("CallingAuthentication")
        value = tree.find("calling-authentication-value")
        assert secret is not None and value is not None
        assert str(value.value).endswith(secret.get("Value", "").lower())
    else:
        result = root.find("AssociationResult")
        diagnostic = root.find("ResultSourceDiagnostic/ACSEServiceUser")
        ours_result = tree.find("result")
        assert result is not None and diagnostic is not None and ours_result is not None
        assert int(result.get("Value", ""), 16) == int(str(ours_result.value)[-2:], 16)
        ours_diag = tree.find("result-source-diagnostic")
        assert ours_diag is not None
        assert int(diagnostic.get("Value", ""), 16) == int(str(ours_diag.value)[-2:], 16)


# ------------------------------------------------------------------------------------------------
# where Gurux is wrong
# ------------------------------------------------------------------------------------------------
def test_gurux_prints_a_truncated_array_we_refuse_it() -> None:
    """An array that says 2 elements but holds 1: Gurux prints ``Qty="02"`` with one element."""
    data = bytes.fromhex("c401c1000102020312000109060000010000ff0f02")
    array = _translate(data).find(".//Array")
    assert array is not None and array.get("Qty") == "02" and len(list(array)) == 1  # Gurux: wrong
    with pytest.raises(MalformedDataError) as caught:
        decode(data, kind="apdu")
    assert caught.value.offset == len(data)


def test_gurux_ignores_trailing_bytes_we_refuse_them() -> None:
    """A GET request with two stray bytes after it: Gurux shows the request as if whole."""
    data = bytes.fromhex(CASES["get-request-normal"] + "beef")
    root = _translate(data)
    assert root.tag == "GetRequest" and root.find(".//InstanceId") is not None  # Gurux: no complaint
    with pytest.raises(MalformedDataError) as caught:
        decode(data, kind="apdu")
    assert caught.value.offset == len(data) - 2
