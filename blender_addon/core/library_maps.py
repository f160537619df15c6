"""Mapping files of asset libraries (pure): ``category: {map: file}`` reads a CSV, JSON or YAML file
that maps asset names to categories.

* CSV (``.csv``): two columns ``name,category`` per row; a first row ``name,category`` (or
  ``path,category``) is a header and skipped; blank rows are skipped.
* JSON / YAML (``.json``, ``.yaml``, ``.yml``): a mapping ``name: category``.

A name is an asset's path relative to the library's folder (POSIX, with or without its extension) or
its file stem; for BOP model sets also ``obj_000001`` or the obj id. Files are read like configs:
regular files only, at most SYNTHBLEND_MAX_CONFIG_MB (16) MB.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from .errors import InputError
from .files import read_config_text

MAP_EXTS = (".csv", ".json", ".yaml", ".yml")


def read_mapping(path: Path, key: str) -> dict[str, str]:
    """``{name: value}`` of a mapping file; problems raise InputError(where = ``key``)."""
    path = Path(path)
    if path.suffix.lower() not in MAP_EXTS:
        raise InputError(key, f"a mapping file is {', '.join(MAP_EXTS)}, got {path}")
    try:
        text = read_config_text(path)
    except InputError as e:
        raise InputError(key, f"cannot read mapping file {path}: {e.what}") from None
    if path.suffix.lower() == ".csv":
        return _csv(text, path, key)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InputError(key, f"mapping file {path} is not valid YAML/JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(key, f"mapping file {path} must map asset names to categories")
    out = {}
    for k, v in data.items():
        if not isinstance(v, str) or not v or isinstance(k, (dict, list)) or k is None:
            raise InputError(key, f"mapping file {path}: {k!r} must map to a category name, got {v!r}")
        out[str(k)] = v
    return out


def _csv(text: str, path: Path, key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        row = [c.strip() for c in row]
        if not any(row):
            continue
        if n == 1 and len(row) == 2 and row[0].lower() in ("name", "path") and row[1].lower() == "category":
            continue
        if len(row) != 2 or not row[0] or not row[1]:
            raise InputError(key, f"mapping file {path}:{n}: expected 'name,category', got {','.join(row)!r}")
        if row[0] in out:
            raise InputError(key, f"mapping file {path}:{n}: {row[0]!r} is listed twice")
        out[row[0]] = row[1]
    if not out:
        raise InputError(key, f"mapping file {path} is empty")
    return out
