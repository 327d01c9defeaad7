"""P2 "secure algorithm" hooks: how an emulated meter checks a P2 password against its P0 operand.

Real algorithms are manufacturer secrets (Elster, DZG...); the emulator only needs something a
client's ``password_function`` can be tested against. A description names one with
``[security] p2_algorithm``; register more with :func:`register_password_algorithm`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from meterlink.errors import LocalProtocolError

__all__ = ["PASSWORD_ALGORITHMS", "PasswordAlgorithm", "register_password_algorithm", "xor_password"]

PasswordAlgorithm = Callable[[str, str], str]
"""``(secret, operand) -> the P2 text the meter expects``."""


def plain_password(secret: str, operand: str) -> str:
    """The secret itself: P2 used as a second plain password."""
    return secret


def xor_password(secret: str, operand: str) -> str:
    """Each character of the secret XOR the operand (repeated), as upper-case hex.

    A toy scheme, deterministic and easy to reproduce in a test's ``password_function``.
    """
    if not operand:
        return secret.encode("ascii").hex().upper()
    key = operand.encode("ascii")
    mixed = bytes(ch ^ key[i % len(key)] for i, ch in enumerate(secret.encode("ascii")))
    return mixed.hex().upper()


PASSWORD_ALGORITHMS: Final[dict[str, PasswordAlgorithm]] = {
    "plain": plain_password,
    "xor": xor_password,
}


def register_password_algorithm(name: str, algorithm: PasswordAlgorithm) -> None:
    """Make ``algorithm`` available to descriptions as ``p2_algorithm = "<name>"``."""
    if not name or not name.isprintable():
        raise LocalProtocolError(f"password algorithm name {name!r} must be printable text")
    PASSWORD_ALGORITHMS[name] = algorithm
