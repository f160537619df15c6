"""Scenes and their views (pure): which frames share one arrangement, and the FrameSpec of a frame.

A dataset stays a flat list of ``frames`` images. Without ``scene.views`` and ``sequence`` every frame
is its own scene and :func:`sample_frame` is :func:`~synthblend.core.sampling.sample` (datasets are
byte-identical to those made before scenes existed; meta gets no scene keys). With them, consecutive
frames form scenes:

* **numbering**: scene ``s`` holds frames ``start(s) .. start(s) + N_s - 1`` with ``start(0) = 0`` and
  ``start(s + 1) = start(s) + N_s``. ``N_s`` is ``scene.views`` (a constant: ``start(s) = s * N``), drawn
  per scene from stream ``(seed, s, "scene.views")`` when it is a distribution (then starts are prefix
  sums, extended lazily and cached per process: locating frame ``f`` walks ``f / mean(N)`` scenes once),
  or ``sequence.frames``. ``frames`` (and ``--frames``) cut the last scene short; ``N_s`` itself never
  depends on ``frames``, so a scene's views are the same in a longer dataset.
* **the arrangement** of scene ``s`` is ``sample(config, seed, s)``: every feature drawn from the
  scene's streams ``stream(seed, s, name)``: objects, materials, lights, world, placement or physics,
  and a *base camera* (the camera an independent frame ``s`` would have) that lights, view-placed
  distractors and ``scene.physics.in_view`` are arranged by. Its draws depend only on (seed, scene).
* **a view** ``v`` replaces the camera by ``core.trajectory.view_camera(config, seed, s, v, N_s, base)``
  (draws from :func:`~synthblend.core.streams.view_stream` ``(seed, s, v, name)``), re-draws the
  features that follow the camera (:data:`PER_VIEW`: camera effects, augmentation; a ``world.type:
  image`` back plane faces the view's camera) from view streams, and in a sequence sets each object's
  pose and velocity at ``t = v / fps`` from ``core.trajectory.object_states`` (computed once per scene).
  ``sampled`` holds the arrangement's draws without the base camera's (``camera.*``, ``augment.*``),
  then the view's (the trajectory's ``camera.view_info["sampled"]``, the PER_VIEW
  features'). ``spec.scene``, ``spec.view`` and (sequences) ``spec.time_s`` say where it is.
* **cost**: the last :data:`CACHE_SCENES` scenes' arrangement (and object states) are kept per process,
  so views 2..N re-sample nothing of the arrangement: no placement, no physics (``stats`` counts).
"""
from __future__ import annotations

import bisect
import dataclasses
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .sampling import sample
from .spec import FrameSpec, ObjectKind
from .streams import stream, view_stream

#: arrangements (base spec + object states) kept per process
CACHE_SCENES = 2
#: the features re-drawn per view, from view streams (they read the camera or the image)
PER_VIEW = ("camera_fx", "augment")
#: sampled-value prefixes of the base camera and of PER_VIEW draws, dropped from a view's ``sampled``
VIEW_PATHS = ("camera.", "augment.")

#: counts for tests and benchmarks: arrangements sampled, views made
stats = {"scenes_sampled": 0, "views": 0}


def mode_of(config) -> str | None:
    """``"views"`` (scene.views), ``"sequence"``, or None (every frame its own scene)."""
    if config.parsed.get("sequence"):
        return "sequence"
    if config.parsed["scene"].get("views") is not None:
        return "views"
    return None


class SceneLayout:
    """Frame <-> (scene, view) of one config and seed (see the module docstring)."""

    def __init__(self, config, seed: int):
        self.seed = int(seed)
        self.frames = int(config.frames)
        self.mode = mode_of(config)
        self.fps = None
        self._dist = None
        self._starts = [0]                  # prefix sums of N_s (random N only)
        if self.mode == "sequence":
            seq = config.parsed["sequence"]
            self.fixed = int(seq["frames"])
            self.fps = float(seq["fps"])
        elif self.mode == "views":
            d = config.parsed["scene"]["views"]
            self.fixed = None if d.is_random else int(d.sample(None))
            self._dist = d if d.is_random else None
        else:
            self.fixed = 1

    def n_views(self, scene: int) -> int:
        """N_s: the views of scene ``scene`` (before ``frames`` cuts the last one short)."""
        if self.fixed is not None:
            return self.fixed
        return int(self._dist.sample(stream(self.seed, int(scene), "scene.views")))

    def _extend_to_scene(self, scene: int) -> None:
        while len(self._starts) <= scene:
            self._starts.append(self._starts[-1] + self.n_views(len(self._starts) - 1))

    def start(self, scene: int) -> int:
        """The first frame of scene ``scene``."""
        if self.fixed is not None:
            return int(scene) * self.fixed
        self._extend_to_scene(int(scene))
        return self._starts[int(scene)]

    def locate(self, frame: int) -> tuple[int, int]:
        """(scene, view) of frame ``frame``."""
        frame = int(frame)
        if self.fixed is not None:
            return divmod(frame, self.fixed)
        while self._starts[-1] <= frame:
            self._extend_to_scene(len(self._starts))
        s = bisect.bisect_right(self._starts, frame) - 1
        return s, frame - self._starts[s]

    def scene_frames(self, scene: int) -> range:
        """The frames of scene ``scene`` in this dataset (the last scene may be cut short)."""
        a = self.start(scene)
        return range(a, min(a + self.n_views(scene), self.frames))

    def scene_count(self) -> int:
        """Scenes in the dataset."""
        return self.locate(self.frames - 1)[0] + 1 if self.frames > 0 else 0

    def group(self, frames):
        """Consecutive frames of ``frames`` (an iterable, lazily) grouped by scene: yields
        ``(scene, [frame, ...])`` in the given order; without scenes, one frame per group."""
        scene, chunk = None, []
        for f in frames:
            s = self.locate(f)[0] if self.mode else int(f)
            if chunk and s != scene:
                yield scene, chunk
                chunk = []
            scene = s
            chunk.append(int(f))
        if chunk:
            yield scene, chunk


_LAYOUTS: OrderedDict = OrderedDict()
_SCENES: OrderedDict = OrderedDict()


def layout_of(config, seed: int | None = None) -> SceneLayout:
    """The (cached) :class:`SceneLayout` of ``config`` and ``seed`` (default: the config's)."""
    seed = config.seed if seed is None else int(seed)
    key = (id(config), seed)
    hit = _LAYOUTS.get(key)
    if hit is not None and hit[0] is config:
        return hit[1]
    layout = SceneLayout(config, seed)
    _LAYOUTS[key] = (config, layout)
    while len(_LAYOUTS) > 8:
        _LAYOUTS.popitem(last=False)
    return layout


def locate(config, frame: int, seed: int | None = None) -> tuple[int, int]:
    """(scene, view) of ``frame``."""
    return layout_of(config, seed).locate(frame)


def scene_frames(config, scene: int, seed: int | None = None) -> range:
    """The frames of scene ``scene``."""
    return layout_of(config, seed).scene_frames(scene)


@dataclasses.dataclass
class _Scene:
    config: object
    base: FrameSpec
    states: list | None = None      # sequences: object_states, one dict per time index


def scene_base(config, seed: int, scene: int) -> _Scene:
    """The arrangement of ``scene`` (cached): ``sample(config, seed, scene)`` and, in a sequence, the
    objects' states over time."""
    key = (id(config), int(seed), int(scene))
    hit = _SCENES.get(key)
    if hit is not None and hit.config is config:
        _SCENES.move_to_end(key)
        return hit
    base = sample(config, seed, scene)
    stats["scenes_sampled"] += 1
    entry = _Scene(config, base)
    layout = layout_of(config, seed)
    if layout.mode == "sequence":
        from .trajectory import object_states
        entry.states = object_states(config, seed, scene, layout.n_views(scene), layout.fps, base)
    _SCENES[key] = entry
    while len(_SCENES) > CACHE_SCENES:
        _SCENES.popitem(last=False)
    return entry


def clear_cache() -> None:
    """Forget the cached arrangements and layouts (tests)."""
    _SCENES.clear()
    _LAYOUTS.clear()


class ViewContext:
    """What a PER_VIEW feature samples with: like SampleContext, on the view's streams."""

    def __init__(self, config, seed: int, scene: int, view: int, spec: FrameSpec):
        self.config, self.seed, self.scene, self.view, self.spec = config, seed, scene, view, spec
        self.frame = spec.frame

    def stream(self, name: str) -> np.random.Generator:
        return view_stream(self.seed, self.scene, self.view, name)

    def draw(self, name: str):
        from .draw import Draw
        return Draw(self.stream(name), self.spec.sampled)


def _view_camera(config, seed, scene, view, n_views, base):
    from .trajectory import view_camera
    return view_camera(config, seed, scene, view, n_views, base)


def _shallow(o):
    """A shallow copy of a dataclass instance (copy.copy is 20x slower; a view copies every object)."""
    c = object.__new__(type(o))
    c.__dict__.update(o.__dict__)
    return c


def _posed(objects: list, states: dict | None) -> list:
    """Copies of the objects (PER_VIEW features edit them), posed from ``states`` where given."""
    out = []
    for o in objects:
        o = _shallow(o)
        st = states.get(o.instance_id) if states else None
        if st is not None:
            o.obj2world = np.asarray(st.obj2world, float)
            o.velocity = {"linear_m_s": [float(x) for x in st.linear],
                          "angular_rad_s": [float(x) for x in st.angular]}
        out.append(o)
    return out


def _face_back_plane(spec: FrameSpec) -> None:
    """A ``world.type: image`` back plane faces the view's camera (core/features/world.py)."""
    if spec.world is None or spec.world.type != "image":
        return
    from .features.world import back_plane_pose
    spec.world = dataclasses.replace(spec.world)
    for o in spec.objects:
        if o.kind is ObjectKind.BACK_PLANE:
            o.obj2world, spec.world.image_window = back_plane_pose(spec.camera, spec.world.image_distance)


def view_spec(config, seed: int, frame: int) -> FrameSpec:
    """FrameSpec of ``frame`` when scenes are configured: the scene's (cached) arrangement seen by
    the view's camera (module docstring)."""
    from .features import FEATURES, NAMES

    layout = layout_of(config, seed)
    scene, view = layout.locate(frame)
    entry = scene_base(config, seed, scene)
    base = entry.base
    n = layout.n_views(scene)
    sampled = {k: v for k, v in base.sampled.items() if not k.startswith(VIEW_PATHS)}
    if layout._dist is not None:
        sampled["scene.views"] = n
    camera = _view_camera(config, seed, scene, view, n, base)
    sampled.update((getattr(camera, "view_info", None) or {}).get("sampled") or {})
    spec = dataclasses.replace(
        base, frame=int(frame), sampled=sampled, features=dict(base.features),
        objects=_posed(base.objects, entry.states[view] if entry.states else None),
        camera=camera, scene=scene, view=view,
        time_s=None if layout.fps is None else view / layout.fps, camera_fx=None, augment=None)
    _face_back_plane(spec)
    ctx = ViewContext(config, seed, scene, view, spec)
    for name, feature in zip(NAMES, FEATURES, strict=True):
        if name in PER_VIEW:
            feature.sample(ctx)
    stats["views"] += 1
    return spec


def sample_frame(config, seed: int, frame: int) -> FrameSpec:
    """Everything random about frame ``frame``: ``sample(config, seed, frame)`` without scenes, else
    the view of its scene (:func:`view_spec`)."""
    if mode_of(config) is None:
        return sample(config, seed, frame)
    return view_spec(config, seed, frame)


def scene_chunks(config, frames):
    """What runners hand out (lazily): lists of the frames of ``frames`` that share a scene, in order;
    without scenes one frame per list. A worker renders a chunk in order (engine/worker.py)."""
    return (chunk for _, chunk in layout_of(config).group(frames))


class ShardFrames(Sequence):
    """The frames of shard ``k`` of ``n`` with scenes: every frame of the scenes ``s`` with
    ``s % n == k`` (a scene is never split between shards), lazily, in order."""

    def __init__(self, layout: SceneLayout, k: int, n: int):
        self.layout, self.k, self.n = layout, int(k), int(n)
        self._len = None
        self._list = None

    def _scenes(self):
        return range(self.k, self.layout.scene_count(), self.n)

    def __iter__(self):
        for s in self._scenes():
            yield from self.layout.scene_frames(s)

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(len(self.layout.scene_frames(s)) for s in self._scenes())
        return self._len

    def __contains__(self, f) -> bool:
        return (isinstance(f, int) and 0 <= f < self.layout.frames
                and self.layout.locate(f)[0] % self.n == self.k)

    def __getitem__(self, i):
        if self._list is None:
            self._list = list(self)
        return self._list[i]

    def __repr__(self) -> str:
        return f"ShardFrames({self.k}/{self.n}, {len(self)} frames)"


def shard_frames(config, k: int, n: int):
    """The frames shard ``k`` of ``n`` renders: ``range(k, frames, n)`` without scenes (as before),
    else whole scenes (:class:`ShardFrames`)."""
    if mode_of(config) is None:
        return range(k, config.frames, n)
    return ShardFrames(layout_of(config), k, n)
