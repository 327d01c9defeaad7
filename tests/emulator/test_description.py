"""Meter descriptions: the example files, derived modes, number formats, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterlink.emulator import Access, Faults, MeterModel, Protocol, builtin_description, load_description
from meterlink.emulator.description import builtin_text, format_number, parse_description
from meterlink.errors import LocalProtocolError
from meterlink.iec62056_21.messages import ProtocolMode

from .helpers import EXAMPLES, describe

M = ProtocolMode


def test_builtin_meter_is_the_emh_example() -> None:
    assert builtin_text() == (EXAMPLES / "emh-lzqj.toml").read_text(encoding="utf-8")
    d = builtin_description()
    assert d.identification.text == "EMH5\\@D4LZQJ-XC"
    assert d.modes == {M.C}
    assert d.security.p1 == "00000000"
    assert [p.address for p in d.profiles] == ["P.01"]
    assert d.faults == Faults()


def test_lis200_example() -> None:
    d = load_description(EXAMPLES / "elster-ek280.toml")
    assert d.protocol is Protocol.LIS200
    assert d.identification.mode_e_capable
    assert d.modes == {M.C}  # restricted: no mode E although '\2'
    assert d.reaction_time == 0.02
    assert d.locks.supplier == "11111111"
    assert d.registers["6:210_1.0"].read is Access.LEVEL1
    assert d.archives[0].number == 3
    assert d.error_text("read_not_authorised") == "#0018"
    assert d.error_text("wrong_password") == "#0017"


@pytest.mark.parametrize(
    ("identification", "extra", "modes"),
    [
        ("/KAM MC", "", {M.A}),
        ("/SIEC2WR5", "", {M.B}),
        ("/EMH5\\@D4LZQJ-XC", "", {M.C}),
        ("/ISK5\\2MT382", "", {M.C, M.E}),
        ("/EBZ5DD3", "[push]\ninterval = 1.0", {M.C, M.D}),
    ],
)
def test_modes_follow_from_the_identification(
    identification: str, extra: str, modes: set[ProtocolMode]
) -> None:
    assert describe(identification, extra).modes == modes


def test_modes_can_be_restricted() -> None:
    assert describe("/ISK5\\2MT382", meter='modes = ["C"]').modes == {M.C}
    assert describe("/EBZ5DD3", "[push]\ninterval = 1.0", meter='modes = ["D"]').modes == {M.D}
    assert describe(meter='modes = ["A", "C"]').modes == {M.C}  # A: the fallback of every C meter


def test_default_reaction_time_follows_the_manufacturer_case() -> None:
    assert describe("/ISk5MT174").reaction_time == 0.02
    assert describe("/ISK5MT174").reaction_time == 0.2


def test_after_readout_timeout_reaches_the_meter_settings() -> None:
    assert MeterModel(describe()).settings().after_readout_timeout == 1.5
    quick = describe(meter="after_readout_timeout = 0.1")
    assert quick.after_readout_timeout == 0.1
    assert MeterModel(quick).settings().after_readout_timeout == 0.1


def test_numbers_keep_the_printed_width() -> None:
    d = describe()
    assert d.registers["1.8.0"].digits == 6
    assert d.registers["1.8.0"].decimals == 3
    assert d.registers["0.0.0"].text == "12345678"  # no decimal point: text
    assert format_number(1234.5, 6, 3) == "001234.500"
    assert format_number(7.6, 3, 0) == "008"
    assert format_number(-1.25, 2, 2) == "-01.25"


def test_layout_defaults_to_the_open_registers() -> None:
    d = parse_description(
        """
[meter]
identification = "/ABC5X"
[registers]
"1.8.0" = 1.5
[registers."1.6.0"]
value = 2
read = "p1"
"""
    )
    assert [item.register for item in d.layout] == ["1.8.0"]
    assert d.registers["1.8.0"].value == 1.5


BAD_FILES = [
    ("[meter\nidentification = 1", "not valid TOML"),
    ("[registers]\n'1.8.0' = 1", "meter: missing [meter] table"),
    ("[meter]\naddress = '1'", "meter.identification: missing"),
    ("[meter]\nidentification = '/EM'", "meter.identification: "),
    ("[meter]\nidentification = '/EMH5X'\nidentifcation = 'typo'", "meter.identifcation: unknown key"),
    (
        "[meter]\nidentification = '/EMH5X'\nprotocol = 'dlms'",
        "meter.protocol: expected iec62056-21 or lis200",
    ),
    ("[meter]\nidentification = '/EMH5X'\naddress = 'a/b'", "meter.address: "),
    ("[meter]\nidentification = '/EMH5X'\nreaction_time = 'fast'", "meter.reaction_time: expected a number"),
    ("[meter]\nidentification = '/EMH5X'\nreaction_time = -1", "meter.reaction_time: must be at least 0"),
    ("[meter]\nidentification = '/EMH5X'\nmodes = ['E']", "meter.modes: E not offered"),
    ("[meter]\nidentification = '/EMH5X'\nmodes = ['Q']", "meter.modes: unknown mode"),
    ("[meter]\nidentification = '/ISK5\\2X'\nmodes = ['E']", "meter.modes: mode C follows from Z"),
    (
        "[meter]\nidentification = '/EMH5X'\n[registers.'1.8.0']\nvalue = 1\nunit = 7",
        'registers."1.8.0".unit: expected a string',
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[registers.'1.8.0']\nvalue = 1\nread = 'root'",
        'registers."1.8.0".read: unknown access',
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[registers.'1.8.0']\nvalue = 'x'\nrate_per_hour = 1",
        'registers."1.8.0".rate_per_hour: only a numeric register',
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[registers.'1.8.0']\nvalue = 1\ndaily_shape = [1, 2]",
        'registers."1.8.0".daily_shape: expected 24',
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[registers]\n'1.8.0' = 'a*b'",
        "registers.\"1.8.0\": 'a*b' contains",
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[readout]\nlayout = ['9.9.9']",
        "readout.layout[0]: register '9.9.9'",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[readout]\nlayout = [{text = 'a!'}]", "readout.layout[0].text"),
    ("[meter]\nidentification = '/EMH5X'\n[push]\nlayout = []", "push.interval: missing"),
    (
        "[meter]\nidentification = '/EMH5X'\n[[profiles]]\nperiod = 7\nchannels = [{code = '1.5'}]",
        "profiles[0].period: 7 min does not divide a day",
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[[profiles]]\nchannels = [{code = '1.5', register = 'x'}]",
        "profiles[0].channels[0].register: register 'x' is not defined",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[[profiles]]\naddress = 'X.1'", "profiles[0].address"),
    (
        "[meter]\nidentification = '/EMH5X'\n[[profiles]]\nchannels = [{code = '1.5'}]\n"
        "status = [{at = 2024-01-01T00:00:00+01:00, value = 1}]",
        "profiles[0].status[0].at: meters keep naive wall-clock time",
    ),
    (
        "[meter]\nidentification = '/EMH5X'\n[security]\np2_algorithm = 'rsa'",
        "security.p2_algorithm: unknown",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[locks]\nsupplier = '1'", "locks: locks belong to LIS-200"),
    (
        "[meter]\nidentification = '/Els6X'\nprotocol = 'lis200'\n[security]\np1 = '1'",
        "security: LIS-200 meters use [locks]",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[[archives]]\nnumber = 3", "archives: archives belong to LIS-200"),
    (
        "[meter]\nidentification = '/Els6X'\nprotocol = 'lis200'\n[[archives]]\nnumber = 3\n"
        "columns = [{kind = 'volume'}]",
        "archives[0].columns[0].kind: expected gnum",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[errors]\nunknown = 'ER01'", "errors.unknown: unknown situation"),
    ("[meter]\nidentification = '/EMH5X'\n[errors]\nsyntax = 'ER(1)'", "errors.syntax: "),
    ("[meter]\nidentification = '/EMH5X'\n[faults]\ndrop_probability = 2.0", "faults.drop_probability"),
    (
        "[meter]\nidentification = '/EMH5X'\n[faults]\nnak_storm = 'many'",
        "faults.nak_storm: expected an integer",
    ),
    ("[meter]\nidentification = '/EMH5X'\n[faults]\nlouder = true", "faults.louder: unknown key"),
    (
        "[meter]\nidentification = '/EMH5X'\n[clock]\norigin = 'today'",
        "clock.origin: expected a TOML date-time",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        parse_description(text, source="bad.toml")
    assert str(info.value).startswith("bad.toml: ")
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LocalProtocolError, match="cannot read meter description"):
        load_description(tmp_path / "nope.toml")
    (tmp_path / "latin.toml").write_bytes(b"[meter]\nname = '\xe9'\n")
    with pytest.raises(LocalProtocolError, match="not UTF-8"):
        load_description(tmp_path / "latin.toml")
