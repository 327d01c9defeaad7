"""The one exception hierarchy of meterlink.

Every error meterlink raises on purpose derives from :class:`MeterlinkError`, so a caller can
catch "anything meterlink" in one clause. Below the root there are two directions, as in h11:

* :class:`LocalProtocolError` - *you* asked for something illegal (a bad argument, a message
  sent in the wrong state). Fix the calling code.
* :class:`RemoteProtocolError` - the *peer* (meter, head-end, converter) sent something
  illegal. It carries the offending bytes and the offset at which parsing gave up, and may
  suggest the reply a conforming station would send (for IEC 62056-21 usually NAK).

Timeouts also derive from the built-in :class:`TimeoutError`, and errors about values handed
in by the caller also derive from :class:`ValueError`, so code written against the standard
library keeps working.

Any other exception escaping a parser or a state machine of meterlink is a bug: please report it.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ChecksumError",
    "DecryptionError",
    "FrameTooLongError",
    "LinkError",
    "LocalProtocolError",
    "MalformedDataError",
    "MeterReportedError",
    "MeterlinkError",
    "ObisError",
    "RemoteProtocolError",
    "ReplayError",
    "ResponseTimeout",
    "SecurityError",
    "UnexpectedMessageError",
]

_EXCERPT = 24


def _excerpt(data: bytes, offset: int | None) -> str:
    """A short hex window around ``offset`` so a log line shows what went wrong."""
    if not data:
        return "<no data>"
    if offset is None:
        chunk = data[: _EXCERPT * 2]
        more = "..." if len(data) > len(chunk) else ""
        return f"{chunk.hex(' ')}{more}"
    start = max(0, offset - _EXCERPT)
    end = min(len(data), offset + _EXCERPT)
    before = data[start:offset].hex(" ")
    after = data[offset:end].hex(" ")
    lead = "..." if start > 0 else ""
    tail = "..." if end < len(data) else ""
    return f"{lead}{before} >>{after}{tail}".replace(" >>", " >> ", 1).strip()


class MeterlinkError(Exception):
    """Root of every exception meterlink raises deliberately."""


class LocalProtocolError(MeterlinkError):
    """The caller asked for something the protocol or the current state does not allow."""


class RemoteProtocolError(MeterlinkError):
    """The peer sent bytes that break the protocol.

    ``data`` holds the offending bytes (the whole frame or the buffer being parsed) and
    ``offset`` the position in ``data`` where the problem was found, when known. ``reply`` is
    the answer a conforming station would send, if the protocol defines one (for example the
    NAK byte for a frame with a wrong BCC).
    """

    def __init__(
        self,
        message: str,
        *,
        data: bytes = b"",
        offset: int | None = None,
        reply: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = bytes(data)
        self.offset = offset
        self.reply = reply

    def __str__(self) -> str:
        if not self.data:
            return self.message
        where = f" at offset {self.offset}" if self.offset is not None else ""
        return f"{self.message}{where}: {_excerpt(self.data, self.offset)}"


class MalformedDataError(RemoteProtocolError):
    """The bytes do not follow the message grammar (missing bracket, illegal character...)."""


class ChecksumError(RemoteProtocolError):
    """A block check character (BCC) or CRC did not match.

    ``expected`` is what the bytes add up to, ``received`` what the peer sent.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: int,
        received: int,
        data: bytes = b"",
        offset: int | None = None,
        reply: bytes | None = None,
    ) -> None:
        super().__init__(message, data=data, offset=offset, reply=reply)
        self.expected = expected
        self.received = received


class FrameTooLongError(RemoteProtocolError):
    """A message grew past the configured buffer bound without ending."""


class UnexpectedMessageError(RemoteProtocolError):
    """A well-formed message arrived in a state where the protocol does not allow it."""


class SecurityError(RemoteProtocolError):
    """Protected data that cannot be trusted: it failed a check of the DLMS security suite."""


class DecryptionError(SecurityError):
    """A ciphered APDU whose GCM tag does not verify, or that cannot be deciphered with the keys given."""


class ReplayError(SecurityError):
    """An invocation counter that is not above the last one accepted for that key and direction.

    ``received`` is the counter in the APDU, ``expected_above`` the last one accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        received: int,
        expected_above: int,
        data: bytes = b"",
        offset: int | None = None,
    ) -> None:
        super().__init__(message, data=data, offset=offset)
        self.received = received
        self.expected_above = expected_above


class AuthenticationError(SecurityError):
    """The peer failed high-level authentication (its reply to our challenge is wrong)."""


class MeterReportedError(MeterlinkError):
    """The meter understood the request and answered with its own error text.

    IEC 62056-21 meters send ``(ERxx)``-style error messages, Elster LIS-200 devices ``#nnnn``
    codes. ``text`` is the meter's text exactly as sent; ``code`` a parsed number when the
    text carries one.
    """

    def __init__(self, text: str, *, code: int | None = None, meaning: str | None = None) -> None:
        detail = f" ({meaning})" if meaning else ""
        super().__init__(f"meter reported error {text!r}{detail}")
        self.text = text
        self.code = code
        self.meaning = meaning


class ResponseTimeout(MeterlinkError, TimeoutError):
    """The peer did not answer (or finish answering) before the deadline."""


class LinkError(MeterlinkError):
    """The link itself failed: a port that cannot be opened, a socket the peer closed, an I/O error.

    Raised by :mod:`meterlink.transport` in place of ``OSError`` and ``serial.SerialException``
    (kept as ``__cause__``), so a caller needs only meterlink's exceptions.
    """


class ObisError(MeterlinkError, ValueError):
    """Text or bytes that are not a valid OBIS code."""
