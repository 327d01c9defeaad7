"""The seed-compatibility facade, run with the seed README's flow against the in-test meter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from dlms_cosem import cosem as seed_cosem
from dlms_cosem import enumerations as seed_enumerations
from dlms_cosem.parsers import ProfileGenericBufferParser as SeedParser
from dlms_cosem.utils import parse_as_dlms_data

from meterlink.dlms import axdr
from meterlink.dlms.compat import (
    BlockingTcpIO,
    CosemAttribute,
    CosemInterface,
    DlmsClient,
    HighLevelSecurityGmacAuthentication,
    NoSecurityAuthentication,
    Obis,
    ProfileGenericBufferParser,
    RangeDescriptor,
    TcpTransport,
)
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.errors import LocalProtocolError

from .meter import AK, EK, ENERGY, PROFILE, START, MeterServer, server_settings
from .test_client import within


def test_seed_readme_flow() -> None:
    with MeterServer("tcp-wrapper") as meter:

        def session() -> tuple[bytes, bytes, bytes]:
            tcp_io = BlockingTcpIO(host="127.0.0.1", port=meter.port)
            transport = TcpTransport(io=tcp_io, server_logical_address=1, client_logical_address=16)
            client = DlmsClient(transport=transport, authentication=NoSecurityAuthentication())
            with client.session() as dlms_client:
                counter = dlms_client.get(
                    CosemAttribute(
                        interface=CosemInterface.DATA, instance=Obis(0, 0, 0x2B, 1, 0), attribute=2
                    )
                )
                buffer = dlms_client.get(
                    CosemAttribute(interface=CosemInterface.PROFILE_GENERIC, instance=PROFILE, attribute=2),
                    access_descriptor=RangeDescriptor(
                        from_value=START, to_value=START + dt.timedelta(minutes=30)
                    ),
                )
                # the seed's own descriptor objects are accepted too
                energy = dlms_client.get(
                    seed_cosem.CosemAttribute(
                        interface=seed_enumerations.CosemInterface.REGISTER,
                        instance=seed_cosem.Obis(1, 0, 1, 8, 0),
                        attribute=2,
                    )
                )
            return counter, buffer, energy

        counter, buffer, energy = within(10, session)
    assert counter == axdr.encode(axdr.DoubleLongUnsigned(1000))
    assert parse_as_dlms_data(counter) == 1000  # cross-check: the seed reads our raw bytes the same
    assert parse_as_dlms_data(energy) == 123_456
    columns = [
        CosemAttribute(CosemInterface.CLOCK, Obis(0, 0, 1, 0, 0), 2),
        CosemAttribute(CosemInterface.REGISTER, ENERGY, 2),
    ]
    rows = ProfileGenericBufferParser(capture_objects=columns, capture_period=15).parse_bytes(buffer)
    assert [[c.value for c in row] for row in rows] == [
        [START, 1000],
        [START + dt.timedelta(minutes=15), 1010],
        [START + dt.timedelta(minutes=30), 1020],
    ]
    # the seed's parser on the same bytes agrees (it takes the period in minutes too)
    seed_columns = [
        seed_cosem.CosemAttribute(seed_enumerations.CosemInterface.CLOCK, seed_cosem.Obis(0, 0, 1, 0, 0), 2),
        seed_cosem.CosemAttribute(
            seed_enumerations.CosemInterface.REGISTER, seed_cosem.Obis(1, 0, 1, 8, 0), 2
        ),
    ]
    seed_rows = SeedParser(capture_objects=seed_columns, capture_period=15).parse_bytes(buffer)
    assert [row[1].value for row in seed_rows] == [1000, 1010, 1020]
    assert [row[0].value.replace(tzinfo=None) for row in seed_rows] == [r[0].value for r in rows]


def test_older_constructors_and_hls_gmac() -> None:
    clients = {1: server_settings(Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED)}
    with MeterServer("tcp-wrapper", clients=clients) as meter:

        def session() -> Any:
            client = DlmsClient.with_tcp_transport(
                "127.0.0.1",
                meter.port,
                server_logical_address=1,
                client_logical_address=1,
                authentication_method=Mechanism.HLS_GMAC,
                encryption_key=EK,
                authentication_key=AK,
                client_initial_invocation_counter=5,
            )
            assert client.client_invocation_counter == 5
            with client.session() as c:
                return c.get(CosemAttribute(CosemInterface.REGISTER, ENERGY, 3))

        assert parse_as_dlms_data(within(10, session)) == [-3, 30]  # the seed flattens structures

    transport = TcpTransport(io=BlockingTcpIO("h", 1))
    client = DlmsClient(
        transport=transport, authentication=HighLevelSecurityGmacAuthentication(), encryption_key=EK
    )
    assert client.client.settings.mechanism is Mechanism.HLS_GMAC
    with pytest.raises(LocalProtocolError):
        DlmsClient()
    with pytest.raises(LocalProtocolError):
        DlmsClient(transport=transport, security_suite=1)
