"""The per-meter quirks object: conforming defaults, a lossless plain-value form, loud errors."""

from __future__ import annotations

import json

import pytest

from meterlink.dlms.quirks import PRESETS, Quirks
from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis


def test_defaults_are_the_standard_and_serialise_to_nothing() -> None:
    q = Quirks()
    assert q.release_with_rlrq and q.high_priority and not q.empty_system_title
    assert q.association_object == Obis.parse("0.0.40.0.0.255")
    assert q.to_dict() == {}


def test_round_trip_through_json() -> None:
    q = Quirks(
        empty_system_title=True,
        release_with_rlrq=False,
        association_object=Obis.parse("0.0.40.0.3.255"),
        deviation_sign="local-minus-utc",
        hls_challenge_length=32,
    )
    text = json.dumps(q.to_dict())
    assert json.loads(text)["association_object"] == "0.0.40.0.3.255"
    assert Quirks.from_dict(json.loads(text)) == q


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"no_such_quirk": True}, "unknown quirk 'no_such_quirk'"),
        ({"empty_system_title": "yes"}, "true or false"),
        ({"hls_challenge_length": 7}, "8..64"),
        ({"hls_challenge_length": True}, "whole number"),
        ({"association_object": 5}, "OBIS"),
        ({"deviation_sign": "plus"}, "deviation_sign"),
    ],
)
def test_bad_values_are_refused_loudly(data: dict[str, object], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        Quirks.from_dict(data)


def test_presets_differ_from_the_standard_only_where_named() -> None:
    assert PRESETS["standard"] == Quirks()
    assert PRESETS["pietro-fiorentini"].to_dict() == {"empty_system_title": True}
    assert PRESETS["kaifa"].to_dict() == {"tagged_push_date_time": True}
    assert PRESETS["legacy-invoke-id"].replace(high_priority=True) == Quirks()
