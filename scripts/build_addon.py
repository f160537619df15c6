"""Build the installable Blender add-on zips.

    python scripts/build_addon.py --out DIST [--platforms linux-x64,windows-x64,macos-arm64]
                                             [--python 3.11,3.13] [--wheel-cache .whl] [--offline]

writes

* ``DIST/synthblend-<version>.zip``: a Blender 4.2+ extension (Edit > Preferences > Get Extensions >
  Install from Disk): ``blender_manifest.toml`` at the root, the package, and its Python dependencies
  as wheels in ``wheels/`` listed in the manifest, as the extension format prescribes. numpy ships with
  Blender; PyYAML and Pillow are built per platform and Python (3.11: Blender 4.2-5.0; 3.13: 5.1+),
  trimesh is pure Python.
* ``DIST/synthblend-<version>-legacy.zip``: a classic add-on for Blender 3.4-4.1 (Edit > Preferences >
  Add-ons > Install), top folder ``synthblend/`` with ``bl_info``, trimesh carried in
  ``synthblend/_vendor/``. Its one dependency step: numpy, PyYAML and Pillow for Blender's Python
  (Debian/Ubuntu's blender: ``apt-get install python3-numpy python3-yaml python3-pil``; official
  builds bundle numpy: ``<blender python> -m pip install pyyaml pillow``).

Wheels are fetched with ``pip download`` into a wheel cache (default ``.whl/`` in the repository) and
taken from there on later builds; ``--offline`` uses the cache only. Both zips are deterministic: the
same sources and wheels give the same bytes.
"""
from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "blender_addon"
# Exact versions: the ones the test suite runs with (override with --wheel NAME==VERSION).
WHEELS = {"PyYAML": "6.0.3", "pillow": "13.0.0", "trimesh": "5.2.0"}
PURE = {"trimesh"}                       # py3-none-any: also vendored into the legacy zip
PLATFORM_TAGS = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "windows-x64": ["win_amd64"],
    "windows-arm64": ["win_arm64"],
    "macos-x64": ["macosx_10_13_x86_64", "macosx_10_10_x86_64"],
    "macos-arm64": ["macosx_11_0_arm64"],
}
EXCLUDE_DIRS = {"__pycache__", "_vendor"}
EPOCH = (1980, 1, 1, 0, 0, 0)


class BuildError(Exception):
    pass


def version() -> str:
    m = re.search(r'^__version__\s*=\s*"([^"]+)"', (PKG / "__init__.py").read_text(), re.M)
    if not m:
        raise BuildError("blender_addon/__init__.py has no __version__")
    return m.group(1)


def package_files() -> list[tuple[Path, str]]:
    """(file, path relative to the package) for every file the add-on needs."""
    out = []
    for p in sorted(PKG.rglob("*")):
        rel = p.relative_to(PKG)
        if p.is_dir() or any(part in EXCLUDE_DIRS for part in rel.parts) or p.suffix in (".pyc", ".pyo"):
            continue
        out.append((p, rel.as_posix()))
    return out


def _pip_download(spec: str, dest: Path, offline: bool, platforms=None, python=None) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
           "--only-binary=:all:", "--dest", str(dest), "--find-links", str(dest)]
    if offline:
        cmd.append("--no-index")
    if python:
        cmd += ["--python-version", python, "--implementation", "cp"]
    for tag in platforms or []:
        cmd += ["--platform", tag]
    cmd.append(spec)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"pip could not get {spec} for {python or 'any python'} {platforms or ''}: "
                         f"{(r.stderr.strip().splitlines() or ['?'])[-1]}"
                         + (" (offline: put the wheel into the wheel cache)" if offline else ""))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _find(cache: Path, name: str, ver: str, py: str | None, tags) -> Path:
    for w in sorted(cache.glob("*.whl")):
        parts = w.name[:-4].split("-")
        if _norm(parts[0]) != _norm(name) or parts[1] != ver:
            continue
        pytag, _abi, plat = parts[-3:]
        if py is None:
            if plat == "any":
                return w
            continue
        if f"cp{py.replace('.', '')}" not in pytag.split(".") and "abi3" not in _abi:
            continue
        if any(t in plat.split(".") for t in tags):
            return w
    raise BuildError(f"no wheel of {name}=={ver} for python {py} {tags} in {cache}")


def collect_wheels(cache: Path, platforms: list[str], pythons: list[str], offline: bool,
                   pins: dict) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for name, ver in pins.items():
        spec = f"{name}=={ver}"
        if name in PURE:
            try:
                w = _find(cache, name, ver, None, None)
            except BuildError:
                _pip_download(spec, cache, offline)
                w = _find(cache, name, ver, None, None)
            out.append(w)
            continue
        for plat in platforms:
            tags = PLATFORM_TAGS[plat]
            for py in pythons:
                try:
                    w = _find(cache, name, ver, py, tags)
                except BuildError:
                    _pip_download(spec, cache, offline, tags, py)
                    w = _find(cache, name, ver, py, tags)
                if w not in out:
                    out.append(w)
    return out


def manifest_text(src: Path, ver: str, wheels: list[Path], platforms: list[str]) -> str:
    text = src.read_text()
    data = tomllib.loads(text)
    if data.get("version") != ver:
        raise BuildError(f"{src}: version {data.get('version')!r} differs from __version__ {ver!r}")
    if "wheels" in data or "platforms" in data:
        raise BuildError(f"{src}: wheels and platforms are written by the build; remove them")
    head, sep, tail = text.partition("\n[")
    extra = "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n"
    extra += "wheels = [\n" + "".join(f'  "./wheels/{w.name}",\n' for w in wheels) + "]\n"
    return head.rstrip("\n") + "\n" + extra + (sep + tail if sep else "")


def _write_zip(path: Path, entries: list[tuple[str, bytes]]) -> None:
    """A deterministic zip: sorted names, fixed timestamps and permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def _wheel_files(wheel: Path) -> list[tuple[str, bytes]]:
    """The importable files of a pure wheel (its .dist-info kept for importlib.metadata)."""
    out = []
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.is_dir() or "/__pycache__/" in info.filename:
                continue
            out.append((info.filename, z.read(info)))
    return out


def build(out: Path, platforms: list[str], pythons: list[str], cache: Path, offline: bool,
          pins: dict | None = None) -> tuple[Path, Path]:
    pins = dict(pins or WHEELS)
    ver = version()
    files = package_files()
    wheels = collect_wheels(cache, platforms, pythons, offline, pins)
    out.mkdir(parents=True, exist_ok=True)

    ext = [(rel, p.read_bytes()) for p, rel in files if rel != "blender_manifest.toml"]
    ext.append(("blender_manifest.toml",
                manifest_text(PKG / "blender_manifest.toml", ver, wheels, platforms).encode()))
    ext += [(f"wheels/{w.name}", w.read_bytes()) for w in wheels]
    ext_zip = out / f"synthblend-{ver}.zip"
    _write_zip(ext_zip, ext)

    legacy = [(f"synthblend/{rel}", p.read_bytes()) for p, rel in files if rel != "blender_manifest.toml"]
    for w in wheels:
        if _norm(w.name.split("-")[0]) in {_norm(n) for n in PURE}:
            legacy += [(f"synthblend/_vendor/{name}", data) for name, data in _wheel_files(w)]
    legacy.append(("synthblend/_vendor/README.txt", (
        "Pure-Python dependencies of synthblend (the legacy add-on adds this folder to sys.path).\n"
        "numpy, PyYAML and Pillow must come from Blender's Python (the one dependency step):\n"
        "  Debian/Ubuntu blender: sudo apt-get install python3-numpy python3-yaml python3-pil\n"
        "  official Blender builds (numpy included): <blender python> -m pip install pyyaml pillow\n"
    ).encode()))
    legacy_zip = out / f"synthblend-{ver}-legacy.zip"
    _write_zip(legacy_zip, legacy)
    return ext_zip, legacy_zip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder (DIST)")
    ap.add_argument("--platforms", default="linux-x64",
                    help=f"comma-separated extension platforms ({', '.join(PLATFORM_TAGS)}; 'all')")
    ap.add_argument("--python", default="3.11,3.13",
                    help="Python versions of Blender to bundle wheels for (4.2-5.0: 3.11; 5.1+: 3.13)")
    ap.add_argument("--wheel-cache", type=Path, default=ROOT / ".whl")
    ap.add_argument("--offline", action="store_true", help="take wheels from the cache only")
    ap.add_argument("--wheel", action="append", default=[], metavar="NAME==VERSION",
                    help="override a bundled wheel's version")
    a = ap.parse_args(argv)
    platforms = list(PLATFORM_TAGS) if a.platforms == "all" else [p for p in a.platforms.split(",") if p]
    try:
        unknown = [p for p in platforms if p not in PLATFORM_TAGS]
        if unknown:
            raise BuildError(f"--platforms: unknown {unknown[0]!r}; known: {', '.join(PLATFORM_TAGS)}")
        pins = dict(WHEELS)
        for spec in a.wheel:
            name, _, ver = spec.partition("==")
            if not ver:
                raise BuildError(f"--wheel: expected NAME==VERSION, got {spec!r}")
            pins = {k: v for k, v in pins.items() if _norm(k) != _norm(name)}
            pins[name] = ver
        ext_zip, legacy_zip = build(a.out, platforms, [p for p in a.python.split(",") if p],
                                    a.wheel_cache, a.offline, pins)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for z in (ext_zip, legacy_zip):
        print(f"wrote {z} ({z.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
