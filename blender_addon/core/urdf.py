"""URDF models (pure: yourdfpy + trimesh + numpy, no bpy): the visual geometry of every link with its
origin, scale and material, posed by joint values.

Frames: a link's pose is the transform from the link frame to the model's *base frame* (the root
link's frame), 4x4, meters, from yourdfpy's forward kinematics. A visual's triangles are given in its
link's frame (visual ``origin`` and mesh ``scale`` applied). ``obj2world`` of a URDF object maps the
base frame to the world (per link: ``base2world @ link pose``).

Joint values in the config: degrees for revolute and continuous joints, meters for prismatic ones
(yourdfpy and URDF limits are radians/meters; converted here). A joint not given is 0 clipped into
its limits. Colours: a visual's URDF ``material`` colour (its own or the robot's material of that
name) as sRGB, else the mesh's own diffuse colour, else grey; a mesh with a texture image and UVs
keeps them (``uv``, ``image``).
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError

MOVABLE = ("revolute", "continuous", "prismatic")
GREY = (0.6, 0.6, 0.6, 1.0)


@dataclass
class Part:
    """One visual of a link: triangles in the link frame, its colour and optional texture."""

    link: str
    vertices: np.ndarray           # Nx3 float64, link frame, m
    faces: np.ndarray              # Mx3 int64
    rgba: tuple                    # sRGB, 0..1
    uv: np.ndarray | None = None   # Nx2 per vertex (with ``image``)
    image: object = None           # PIL image of the texture
    source: str = ""               # mesh file or "box" / "cylinder" / "sphere"


@dataclass
class Joint:
    name: str
    type: str                      # revolute | continuous | prismatic
    lower: float                   # config units: degrees or meters
    upper: float


@dataclass
class Merged:
    """Parts merged into one mesh: ``part`` is each face's index into ``parts``."""

    vertices: np.ndarray
    faces: np.ndarray
    part: np.ndarray
    parts: list = field(default_factory=list)
    uv: np.ndarray | None = None   # Nx2 for every vertex (zeros where a part has none)


def _quiet_yourdfpy():
    logging.getLogger("yourdfpy").setLevel(logging.CRITICAL)
    logging.getLogger("yourdfpy.urdf").setLevel(logging.CRITICAL)


def _parse(path: Path):
    import yourdfpy

    _quiet_yourdfpy()
    if not path.is_file():
        raise InputError(str(path), "URDF file not found")
    try:
        return yourdfpy.URDF.load(str(path), load_meshes=False, build_scene_graph=True,
                                  load_collision_meshes=False)
    except Exception as e:  # yourdfpy and lxml raise many kinds for a bad file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(str(path), f"cannot read URDF: {msg}") from None


def _resolve(path: Path, filename: str) -> Path:
    """A mesh filename of a URDF: ``package://pkg/rest`` and relative names, looked up next to the
    URDF and in its parent folders (as yourdfpy's magic handler does)."""
    import yourdfpy

    found = yourdfpy.filename_handler_magic(filename, dir=str(path.parent))
    p = Path(found)
    if not p.is_absolute():
        p = path.parent / p
    return p


def mesh_filenames(path) -> list[Path]:
    """Every visual and collision mesh file a URDF names (resolved; they may not exist)."""
    path = Path(path)
    u = _parse(path)
    out = []
    for link in u.robot.links:
        for g in [v.geometry for v in link.visuals] + [c.geometry for c in link.collisions]:
            if g is not None and g.mesh is not None:
                out.append(_resolve(path, g.mesh.filename).resolve())
    return out


class UrdfModel:
    """A parsed URDF: links, movable joints, visual parts, forward kinematics."""

    def __init__(self, path):
        self.path = Path(path).resolve()
        self.urdf = _parse(self.path)
        self.name = self.urdf.robot.name
        self.base_link = self.urdf.base_link
        self.joints = [self._joint(j) for j in self.urdf.robot.joints
                       if j.type in MOVABLE and j.mimic is None]
        # named materials: the robot's, and those defined inside a visual (referred to by name later)
        self._materials = {m.name: m for link in self.urdf.robot.links for v in link.visuals
                           for m in [v.material] if m is not None and m.name and m.color is not None}
        self._materials.update({m.name: m for m in self.urdf.robot.materials if m.name and m.color is not None})
        self._parts: list[Part] | None = None

    @staticmethod
    def _joint(j) -> Joint:
        deg = j.type != "prismatic"
        lo, hi = (-np.pi, np.pi) if j.type == "continuous" or j.limit is None else (j.limit.lower, j.limit.upper)
        conv = np.degrees if deg else float
        return Joint(j.name, j.type, float(conv(lo)), float(conv(hi)))

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    # -- geometry -------------------------------------------------------------------------------
    @property
    def parts(self) -> list[Part]:
        """Every visual of every link (links in file order), loaded once."""
        if self._parts is None:
            self._parts = [self._part(link.name, v) for link in self.urdf.robot.links for v in link.visuals
                           if v.geometry is not None]
            self._parts = [p for p in self._parts if p is not None]
        return self._parts

    @property
    def links(self) -> list[str]:
        """Links with visual geometry, in file order."""
        return list(dict.fromkeys(p.link for p in self.parts))

    def _rgba(self, visual) -> tuple | None:
        m = visual.material
        if m is None:
            return None
        if m.color is None and m.name in self._materials:
            m = self._materials[m.name]
        return None if m.color is None else tuple(float(x) for x in m.color.rgba)

    def _part(self, link: str, visual) -> Part | None:
        import trimesh.creation as tc

        g = visual.geometry
        uv = image = None
        rgba = self._rgba(visual)
        if g.mesh is not None:
            f = _resolve(self.path, g.mesh.filename)
            V, F, uv, image, own = _load_visual_mesh(f, str(self.path))
            if g.mesh.scale is not None:
                V = V * np.broadcast_to(np.asarray(g.mesh.scale, float), (3,))
            rgba = rgba or own
            source = str(f)
        elif g.box is not None:
            m = tc.box(extents=np.asarray(g.box.size, float))
            V, F, source = m.vertices, m.faces, "box"
        elif g.cylinder is not None:
            m = tc.cylinder(radius=g.cylinder.radius, height=g.cylinder.length, sections=32)
            V, F, source = m.vertices, m.faces, "cylinder"
        elif g.sphere is not None:
            m = tc.icosphere(subdivisions=3, radius=g.sphere.radius)
            V, F, source = m.vertices, m.faces, "sphere"
        else:
            return None
        T = np.eye(4) if visual.origin is None else np.asarray(visual.origin, float)
        V = np.asarray(V, float) @ T[:3, :3].T + T[:3, 3]
        return Part(link, V, np.asarray(F, np.int64), rgba or GREY, uv, image, source)

    # -- kinematics -----------------------------------------------------------------------------
    def joint_values(self, given: dict | None) -> dict[str, float]:
        """Config-unit values of every movable joint: ``given`` ones, the others 0 clipped to limits."""
        given = given or {}
        return {j.name: float(given[j.name]) if j.name in given else float(np.clip(0.0, j.lower, j.upper))
                for j in self.joints}

    def link_poses(self, values: dict | None = None) -> dict[str, np.ndarray]:
        """Link -> 4x4 pose in the base frame for joint ``values`` (config units)."""
        vals = self.joint_values(values)
        cfg = {j.name: np.radians(vals[j.name]) if j.type != "prismatic" else vals[j.name] for j in self.joints}
        if cfg:
            self.urdf.update_cfg(cfg)
        else:
            self.urdf.update_cfg(np.zeros(0))
        return {link.name: np.asarray(self.urdf.get_transform(link.name, self.base_link), float)
                for link in self.urdf.robot.links}

    def merged(self, values: dict | None = None, link: str | None = None) -> Merged:
        """The parts posed in the base frame (``link=None``), or one link's parts in its own frame."""
        poses = self.link_poses(values) if link is None else None
        parts = [p for p in self.parts if link is None or p.link == link]
        if not parts:
            raise InputError(str(self.path), f"link {link!r} has no visual geometry")
        Vs, Fs, ids, uvs = [], [], [], []
        off = 0
        for k, p in enumerate(parts):
            T = np.eye(4) if poses is None else poses[p.link]
            Vs.append(p.vertices @ T[:3, :3].T + T[:3, 3])
            Fs.append(p.faces + off)
            ids.append(np.full(len(p.faces), k, np.int64))
            uvs.append(p.uv if p.uv is not None else np.zeros((len(p.vertices), 2)))
            off += len(p.vertices)
        has_uv = any(p.uv is not None for p in parts)
        return Merged(np.concatenate(Vs), np.concatenate(Fs), np.concatenate(ids), parts,
                      np.concatenate(uvs) if has_uv else None)


def _load_visual_mesh(f: Path, urdf: str):
    """(V, F, uv, image, rgba) of a visual's mesh file, raw coordinates as trimesh reads them."""
    import trimesh

    from .assets import load_mesh

    load_mesh(f, where=urdf)                      # limits and bad files: InputError naming the file
    m = trimesh.load(str(f), force="mesh", process=False)
    V, F = np.asarray(m.vertices, float), np.asarray(m.faces, np.int64)
    uv = image = rgba = None
    vis = getattr(m, "visual", None)
    if vis is not None and vis.kind == "texture":
        mat = getattr(vis, "material", None)
        image = getattr(mat, "image", None) or getattr(mat, "baseColorTexture", None)
        if image is not None and getattr(vis, "uv", None) is not None and len(vis.uv) == len(V):
            uv = np.asarray(vis.uv, float)
        else:
            image = None
        diffuse = getattr(mat, "diffuse", None)
        if diffuse is not None and image is None:
            rgba = tuple(float(x) / 255.0 for x in np.asarray(diffuse)[:4])
    return V, F, uv, image, rgba


@functools.lru_cache(maxsize=16)
def _model_cached(path: str, mtime: float) -> UrdfModel:
    return UrdfModel(path)


def load_model(path) -> UrdfModel:
    """The parsed model of a URDF file (cached per path and modification time)."""
    p = Path(path).resolve()
    if not p.is_file():
        raise InputError(str(p), "URDF file not found")
    return _model_cached(str(p), p.stat().st_mtime)
