"""The building blocks of the config schema (:mod:`synthblend.core.schema`): plain dataclasses.

* :class:`D` - a value that may be random (constant or distribution) of a given kind;
* :class:`V` - a plain constant (int, float, bool, str, path, list of outputs, resolution);
* :class:`Section` - a mapping of named fields;
* :class:`ListOf` - a list of sections (``scene.objects``);
* :class:`Custom` - a value with its own parser (``rotation``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class D:
    """A value that may be random. ``kind``: float | int | vec3 | str."""

    kind: str
    default: Any
    allowed: tuple | None = None
    min: float | None = None          # every possible value must be >= min
    min_exclusive: bool = False
    max: float | None = None
    doc: str = ""


@dataclass
class V:
    """A constant. ``type``: int | float | bool | str | path | outputs | resolution."""

    type: str
    default: Any
    allowed: tuple | None = None
    min: float | None = None
    min_exclusive: bool = False
    required: bool = False
    max: float | None = None
    doc: str = ""


@dataclass
class Custom:
    parse: Callable[[Any], Any]
    default: Any
    doc: str = ""


@dataclass
class Section:
    fields: dict
    optional: bool = False       # absent section -> None (e.g. scene.ground)
    doc: str = ""


@dataclass
class ListOf:
    item: Section
    default: list = field(default_factory=list)
    doc: str = ""
