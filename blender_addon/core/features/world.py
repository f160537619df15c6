"""World backgrounds (pure): draw a frame's :class:`WorldSpec` and, for ``type: image``, the back
plane that shows the image.

Stream ``world``. ``uniform``: one colour everywhere; ``gradient``: ``color_hsv`` at and below the
horizon to ``top_color_hsv`` at the zenith (linear in the view direction's z); ``sky``: Blender's
Hosek-Wilkie sky texture with a drawn sun direction and turbidity; ``hdri``: an equirectangular image
from ``hdri.folder`` turned by ``rotation_deg`` about +z; ``image``: a uniform world of ``color_hsv``
plus a *back plane*: a square facing the camera, ``image.distance`` m behind the look-at point along
the optical axis, large enough to fill the view, showing an image from ``image.folder`` stretched
over the visible window (an emitting surface: it shows the image as is, unlit). The back plane is a
mesh in the image, so it has an instance id (after the ground), category 0, asset ``back_plane`` and
its mesh in DIR/meshes like every other object. The world's strength is ``lighting.world_strength``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .. import camera as cam
from ..color import hsv_to_linear
from ..draw import Draw
from ..image_folders import HDRI_EXTS, IMAGE_EXTS, list_images
from ..spec import ObjectKind, ObjectSpec, WorldSpec

ORDER = 80  # place in the frame's features (core/features/__init__.py)

PATH = "world"
BACK_PLANE_MARGIN = 1.02


@functools.lru_cache(maxsize=64)
def _files(folder: str, exts: tuple) -> tuple[str, ...]:
    return tuple(p.name for p in list_images(Path(folder), exts))


def _hsv(h):
    return hsv_to_linear(float(h[0]) % 1.0, min(max(float(h[1]), 0.0), 1.0), min(max(float(h[2]), 0.0), 1.0))


def _pick(draw: Draw, folder, written, exts, path) -> tuple[str, str]:
    names = _files(str(folder), exts)
    k = int(draw.rng.integers(len(names)))
    rel = f"{str(written).rstrip('/')}/{names[k]}"
    draw.record(path, rel)
    return rel, str(Path(folder) / names[k])


def world_types(config) -> list[str]:
    w = config.parsed.get("world")
    if not w:
        return []
    vals = w["type"].values()
    return list(dict.fromkeys(vals))


def sample(ctx) -> None:
    """The frame's world background; for ``type: image`` also the back plane (the last object)."""
    ctx.spec.world = draw_world(ctx.config, ctx.draw(PATH))
    if ctx.spec.world is not None and ctx.spec.world.type == "image":
        ctx.spec.objects.append(back_plane_object(ctx.spec, ctx.spec.world, ctx.new_instance_id()))


def draw_world(config, draw: Draw) -> WorldSpec | None:
    w = config.parsed.get("world")
    if not w:
        return None
    wd = config.data["world"]
    t = draw(w["type"], f"{PATH}.type")
    ws = WorldSpec(t)
    if t in ("uniform", "gradient", "image"):
        hsv = draw(w["color_hsv"], f"{PATH}.color_hsv")
        ws.color_hsv, ws.color_rgb = tuple(float(x) for x in hsv), _hsv(hsv)
    if t == "gradient":
        hsv = draw(w["top_color_hsv"], f"{PATH}.top_color_hsv")
        ws.top_color_hsv, ws.top_color_rgb = tuple(float(x) for x in hsv), _hsv(hsv)
    if t == "sky":
        s = w["sky"]
        ws.sun_elevation_deg = float(draw(s["sun_elevation_deg"], f"{PATH}.sky.sun_elevation_deg"))
        ws.sun_azimuth_deg = float(draw(s["sun_azimuth_deg"], f"{PATH}.sky.sun_azimuth_deg"))
        ws.turbidity = float(draw(s["turbidity"], f"{PATH}.sky.turbidity"))
        ws.ground_albedo = float(draw(s["ground_albedo"], f"{PATH}.sky.ground_albedo"))
    if t == "hdri":
        ws.hdri, ws.hdri_path = _pick(draw, w["hdri"]["folder"], wd["hdri"]["folder"], HDRI_EXTS,
                                      f"{PATH}.hdri.file")
        ws.rotation_deg = float(draw(w["hdri"]["rotation_deg"], f"{PATH}.hdri.rotation_deg"))
    if t == "image":
        ws.image, ws.image_path = _pick(draw, w["image"]["folder"], wd["image"]["folder"], IMAGE_EXTS,
                                        f"{PATH}.image.file")
        ws.image_distance = float(draw(w["image"]["distance"], f"{PATH}.image.distance"))
    return ws


#: the widest ray (tan of its angle to the axis, ~84 deg) a distorted lens's back plane is sized for: a
#: plane cannot fill a fisheye's view near or past 90 deg
BACK_PLANE_MAX_TAN = 10.0


def back_plane_pose(camera, distance: float) -> tuple[np.ndarray, tuple[float, float]]:
    """obj2world of the unit back plane (1 m square in local xy, normal +z, facing the camera) and
    the visible window's size as a fraction of the plane's side (x, y). With a lens distortion the
    window is that of the undistorted rays of the image's outline (up to :data:`BACK_PLANE_MAX_TAN`)."""
    c2w = np.asarray(camera.cam2world, float)
    R, o = c2w[:3, :3], c2w[:3, 3]
    fwd = R[:, 2]
    depth = float((np.asarray(camera.look_at) - o) @ fwd) + distance
    W, H = camera.resolution
    dist = getattr(camera, "distortion", None)
    if dist:    # the undistorted rays of the image's outline (a barrel lens sees past the pinhole's corners)
        from ..distortion import border_pixels, undistort_pixels

        xy = undistort_pixels(border_pixels(int(W), int(H), 257), camera.K, dist)
        xy = np.clip(xy[np.isfinite(xy[:, 0])], -BACK_PLANE_MAX_TAN, BACK_PLANE_MAX_TAN) * depth
    else:
        Kinv = np.linalg.inv(camera.K)
        corners = np.array([[-0.5, -0.5, 1], [W - 0.5, -0.5, 1], [-0.5, H - 0.5, 1], [W - 0.5, H - 0.5, 1]])
        xy = (corners @ Kinv.T)[:, :2] * depth          # camera-frame x, y at that depth
    centre = xy.mean(0)
    half = np.abs(xy - centre).max(0)
    size = 2.0 * float(half.max()) * BACK_PLANE_MARGIN
    p_cam = np.array([centre[0], centre[1], depth])
    Rp = np.stack([R[:, 0], -R[:, 1], -R[:, 2]], axis=1)   # local x = image right, y = image up
    T = cam.pose_matrix(Rp * size, R @ p_cam + o)
    window = (2.0 * float(half[0]) / size, 2.0 * float(half[1]) / size)
    return T, window


def back_plane_object(spec, ws: WorldSpec, instance_id: int) -> ObjectSpec:
    T, window = back_plane_pose(spec.camera, ws.image_distance)
    ws.image_window = window
    return ObjectSpec(instance_id, "back_plane", ObjectKind.BACK_PLANE, None, 0, None, 0, "back_plane", T,
                      tuple(ws.color_rgb))
