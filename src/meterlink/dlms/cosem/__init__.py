"""The COSEM object model: units, descriptors, interface classes, profiles, selective access, object lists.

Everything here works on decoded A-XDR values (:mod:`meterlink.dlms.axdr`) or on the A-XDR bytes
of one attribute; nothing talks to a meter.
"""

from __future__ import annotations

from .classes import (
    AttributeSpec,
    InterfaceClass,
    MethodSpec,
    SortMethod,
    attribute_name,
    interface_class,
    interpret,
    known_classes,
    method_name,
)
from .descriptors import CaptureObject, ClassId, CosemAttribute, CosemMethod
from .object_list import (
    AccessMode,
    AccessMode3,
    MethodAccessMode,
    MethodAccessMode3,
    ObjectListEntry,
    encode_object_list,
    parse_object_list,
)
from .profile import Column, Profile, encode_capture_objects, parse_buffer, parse_capture_objects
from .quantity import Quantity
from .selective import CLOCK_TIME, EntryDescriptor, RangeDescriptor, parse_selective_access
from .units import ScalerUnit, Unit

__all__ = [
    "CLOCK_TIME",
    "AccessMode",
    "AccessMode3",
    "AttributeSpec",
    "CaptureObject",
    "ClassId",
    "Column",
    "CosemAttribute",
    "CosemMethod",
    "EntryDescriptor",
    "InterfaceClass",
    "MethodAccessMode",
    "MethodAccessMode3",
    "MethodSpec",
    "ObjectListEntry",
    "Profile",
    "Quantity",
    "RangeDescriptor",
    "ScalerUnit",
    "SortMethod",
    "Unit",
    "attribute_name",
    "encode_capture_objects",
    "encode_object_list",
    "interface_class",
    "interpret",
    "known_classes",
    "method_name",
    "parse_buffer",
    "parse_capture_objects",
    "parse_object_list",
    "parse_selective_access",
]
