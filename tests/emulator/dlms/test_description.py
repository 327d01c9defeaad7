"""The DLMS meter description: what it builds, and errors that name the file and the key."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.emulator.dlms import default_dlms_description, load_dlms_description, parse_dlms_description
from meterlink.errors import LocalProtocolError, MeterlinkError
from meterlink.obis import Obis

from ..helpers import EXAMPLES
from .helpers import EK, METER, describe


def test_the_test_meter_and_the_example_and_the_default() -> None:
    d = describe()
    (device,) = d.logical_devices
    assert (device.address, d.physical_address, device.system_title.hex()) == (1, 17, "4d4c4b0000bc614e")
    management = device.association(1)
    assert management is not None
    assert (management.mechanism, management.policy, management.key) == (
        Mechanism.HLS_GMAC,
        SecurityPolicy.AUTHENTICATED_ENCRYPTED,
        EK,
    )
    assert d.mode_e.identification.mode_e_capable
    assert d.clock.deviation == -60
    example = load_dlms_description(EXAMPLES / "dlms-meter.toml")
    assert {o.obis for o in example.logical_devices[0].objects} >= {Obis.parse("1.0.99.1.0.255")}
    assert default_dlms_description().logical_devices[0].association(16) is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[clock]", "[clock]\ncolour = 1"), r"test.toml: clock.colour: unknown key"),
        (('obis = "1.0.1.7.0.255"', 'obis = "1.0.1.7.0"'), r"objects\[2\].obis: "),
        (('obis = "1.0.1.7.0.255"', 'obis = "1.0.x.7.0.255"'), r"objects\[2\].obis"),
        (('class = "data"', 'class = "gizmo"'), r"objects\[0\].class: unknown class 'gizmo'"),
        (('"1.0.1.7.0.255"]', '"1.0.1.9.0.255"]'), r"objects\[3\].capture\[2\]: no object 1.0.1.9.0.255"),
        ((f'key = "{EK.hex()}"', 'key = "0011"'), r"associations\[1\].key: expected 16 bytes"),
        (('mechanism = "lls"', 'mechanism = "lls3"'), r"associations\[2\].mechanism: unknown mechanism"),
        (('secret = "12345678"', ""), r"associations\[2\].mechanism: mechanism LLS needs a secret"),
        (("client = 32", "client = 1"), r"associations\[2\].client: client SAP 1 has two associations"),
        (('value = "SN12345678"', "value = 5"), r"objects\[0\].value: expected a string"),
        (("value = 1500", "value = 70000"), r"objects\[2\].value: 70000 does not fit long-unsigned"),
        (('unit = "W"\n', 'unit = "parsecs"\n'), r"objects\[2\].unit"),
        (("depth = 96", "depth = 0"), r"objects\[3\].depth: must be at least 1"),
        (("deviation = -60", "deviation = 999"), r"clock.deviation"),
        (("2TEST", "TEST"), r"mode_e.identification: .*lacks"),
        (("read = [1, 3]", 'read = ["x"]'), r'rights."1.0.1.8.0.255".read'),
    ],
)
def test_errors_name_the_file_and_the_key(change: tuple[str, str], message: str) -> None:
    old, new = change
    text = METER.replace("{push}", "")
    assert old in text
    with pytest.raises(LocalProtocolError, match=message):
        parse_dlms_description(text.replace(old, new, 1), source="test.toml")


def test_more_errors() -> None:
    with pytest.raises(LocalProtocolError, match="not valid TOML"):
        parse_dlms_description("[meter")
    with pytest.raises(LocalProtocolError, match="built by the emulator"):
        parse_dlms_description('[[objects]]\nclass = "data"\nobis = "0.0.40.0.0.255"\nvalue = "x"')
    with pytest.raises(LocalProtocolError, match="configured twice"):
        parse_dlms_description('[[objects]]\nclass = "data"\nobis = "0.0.96.1.0.255"\n' * 2)
    with pytest.raises(LocalProtocolError, match=r"associations\[0\].objects: no object"):
        parse_dlms_description('[[associations]]\nobjects = ["1.0.1.8.0.255"]')
    with pytest.raises(LocalProtocolError, match="destination"):
        parse_dlms_description('[[objects]]\nclass = "push-setup"\ndestination = "http://x"')
    with pytest.raises(LocalProtocolError, match="cannot read"):
        load_dlms_description("/nonexistent/meter.toml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_text_only_meterlink_errors(text: str) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_dlms_description(text)


_VALUES = st.one_of(
    st.integers(-5, 300), st.text(max_size=8), st.booleans(), st.lists(st.integers(0, 3), max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["class", "obis", "value", "type", "unit", "scaler", "capture", "depth", "objects", "x"]
        ),
        _VALUES,
        max_size=6,
    ),
    st.dictionaries(
        st.sampled_from(["client", "mechanism", "secret", "policy", "read", "key"]), _VALUES, max_size=4
    ),
)
def test_fuzz_structured_only_meterlink_errors(obj: dict[str, object], assoc: dict[str, object]) -> None:
    def toml(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, list):
            return "[" + ", ".join(toml(v) for v in value) + "]"
        return str(value)

    lines = ["[[objects]]", *(f"{k} = {toml(v)}" for k, v in obj.items())]
    lines += ["[[associations]]", *(f"{k} = {toml(v)}" for k, v in assoc.items())]
    with contextlib.suppress(MeterlinkError):
        parse_dlms_description("\n".join(lines))
