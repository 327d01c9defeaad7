"""DLMS/COSEM security suite 0: AES-GCM-128 protection, ciphering envelopes, invocation counters,
HLS authentication mechanisms and key transfer (Green Book 9.2).

Sans-io and stateless apart from :class:`InvocationCounters`: keys, system titles and counters are
handed in by the association layer, which decides *when* to protect; this package only knows *how*.

Typical receive path::

    apdu, plain = unprotect(data, key=guek, auth_key=ak, system_title=server_title)
    counters.accept("guek", apdu.invocation_counter)   # only after the tag verified
"""

from __future__ import annotations

from ._control import KEY_LENGTHS, SecurityControl, SecurityPolicy, SecuritySuite
from ._counters import MAX_INVOCATION_COUNTER, InvocationCounters
from ._envelope import (
    GENERAL_CIPHERING,
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    CipheredApdu,
    CipheredKind,
    GeneralCipheringHeader,
    KeyInfo,
    KeyInfoChoice,
    ciphered_tag,
    parse_ciphered,
    protect,
    unprotect,
)
from ._gcm import TAG_LENGTH, decrypt, encrypt, gmac
from ._hls import (
    AesEcbProcessor,
    GmacProcessor,
    HashProcessor,
    HlsParameters,
    HlsProcessor,
    Mechanism,
    Sha256Processor,
    client_response,
    get_processor,
    gmac_counter,
    make_challenge,
    register_mechanism,
    server_response,
    unregister_mechanism,
    verify_client_response,
    verify_server_response,
)
from ._keywrap import KeyId, global_key_transfer, parse_global_key_transfer, unwrap_key, wrap_key

__all__ = [
    "GENERAL_CIPHERING",
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "KEY_LENGTHS",
    "MAX_INVOCATION_COUNTER",
    "TAG_LENGTH",
    "AesEcbProcessor",
    "CipheredApdu",
    "CipheredKind",
    "GeneralCipheringHeader",
    "GmacProcessor",
    "HashProcessor",
    "HlsParameters",
    "HlsProcessor",
    "InvocationCounters",
    "KeyId",
    "KeyInfo",
    "KeyInfoChoice",
    "Mechanism",
    "SecurityControl",
    "SecurityPolicy",
    "SecuritySuite",
    "Sha256Processor",
    "ciphered_tag",
    "client_response",
    "decrypt",
    "encrypt",
    "get_processor",
    "global_key_transfer",
    "gmac",
    "gmac_counter",
    "make_challenge",
    "parse_ciphered",
    "parse_global_key_transfer",
    "protect",
    "register_mechanism",
    "server_response",
    "unprotect",
    "unregister_mechanism",
    "unwrap_key",
    "verify_client_response",
    "verify_server_response",
    "wrap_key",
]
