"""DLMS/COSEM (IEC 62056-5-3, -6-2): A-XDR data, COSEM objects, APDUs, security, associations.

Everything in this package is sans-io: bytes in, values and events out. HDLC lives in
:mod:`meterlink.hdlc`; the wrapper framing for TCP and UDP in :mod:`meterlink.dlms.wrapper`.
"""

from meterlink.dlms.client import (
    ActionError,
    AssociationRefusedError,
    AsyncClient,
    Client,
    DataAccessError,
    ServiceError,
)

__all__ = [
    "ActionError",
    "AssociationRefusedError",
    "AsyncClient",
    "Client",
    "DataAccessError",
    "ServiceError",
]
