"""meterlink: read and serve utility meters over IEC 62056-21 and DLMS/COSEM."""

from __future__ import annotations

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
