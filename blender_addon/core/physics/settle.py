"""Drop and settle (pure core, Bullet through PyBullet): bodies released one by one from their drop
poses fall under gravity onto the floor, the statics and each other until every body is at rest.

Order and drop. Bodies are created in the order given (instance-id order), one every ``stagger_s``
of simulated time (0: all in the first step). A body keeps its sampled orientation and x, y; its
lowest collision point is put ``drop_height`` above the highest thing under its footprint at release
(the floor z = 0, a static's top, e.g. a bin's rim or a table top, or a body released before it;
bounding boxes, so it never starts inside another). Its pose at release is its *drop pose*.

Settle. Fixed time step, solver iterations and collision margin (:class:`~.world.SimParams`); no
sleeping. After the last release, every ``check_interval_s`` each body's velocities are checked
(:mod:`.rest`); the run ends when all are at rest, or ``max_time_s`` after the last release.

Leaving the area. ``inside(key, com)`` (the caller's area: the ground square, a bin's opening, the
view) is asked for a body once it is at rest (and for every body at the time limit). One outside is,
by ``outside``: ``remove``d (taken out of the world and recorded), ``redrop``ped (put back at its drop
x, y and orientation above what is there now, up to ``max_redrops`` times, then removed) or ``keep``t
(recorded). Bodies not at rest at the end are recorded as not settled.

Poses. A Bullet body's frame is its centre of mass with its principal axes (exact mass properties:
:mod:`.massprops`); ``obj2world`` of the asset's raw coordinates is read back through the fixed
``raw2body`` map of each body (:func:`.shapes.body_frame`), so the scale and the mesh origin are exact.
Support: the body (key), static (name) or floor ("ground") pushing it up hardest (normal force times
the contact normal's z), "none" when nothing does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .massprops import principal_frame
from .rest import RestMonitor
from .shapes import ShapeModel, body_frame, create_shape
from .world import SimParams, Static, add_dynamic, add_floor, add_static, client, matrix_of, quat_xyzw

FLOOR = "ground"
MOVING = 0.05          # m/s: a body faster than this is falling (a drop is placed clear of it)
CLEARANCE = 1e-3       # m: gap between a dropped body and one it is placed above


@dataclass
class Body:
    """A body to drop: ``pose`` is the sampled obj2world (scale ``scale`` included; its rotation and
    x, y are kept, its height replaced by the drop), mass in kg, friction coefficients, restitution."""

    key: int
    model: ShapeModel
    scale: float
    pose: np.ndarray
    drop_height: float
    mass: float
    friction: float = 0.5
    restitution: float = 0.1
    rolling_friction: float = 0.01


@dataclass
class SimResult:
    """What :func:`simulate` made: final and drop obj2world per key, settled flags, supports, removed
    keys (in the order removed), redrops per key, simulated time (s) and whether all came to rest."""

    poses: dict = field(default_factory=dict)
    drop_poses: dict = field(default_factory=dict)
    settled: dict = field(default_factory=dict)
    support: dict = field(default_factory=dict)
    outside: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    redrops: dict = field(default_factory=dict)
    time_s: float = 0.0
    at_rest: bool = False


class _Live:
    def __init__(self, body: Body, bid: int, raw2body: np.ndarray, corners: np.ndarray):
        self.body, self.bid, self.raw2body, self.corners = body, bid, raw2body, corners


def _corners(model: ShapeModel, raw2body: np.ndarray) -> np.ndarray:
    """Points in the body frame whose hull contains the collision shape (for drop heights)."""
    return model.points() @ raw2body[:3, :3].T + raw2body[:3, 3]


class _Sim:
    def __init__(self, pb, cid, folder, params: SimParams, inside):
        self.pb, self.cid, self.folder, self.p, self.inside = pb, cid, folder, params, inside
        self.live: dict = {}
        self.names: dict = {}
        self.static_boxes: list = []          # (lo, hi) world AABBs of the statics
        self.res = SimResult()
        self.rest = RestMonitor(params)

    def add_statics(self, statics) -> None:
        pb, cid = self.pb, self.cid
        self.names[add_floor(pb, cid, self.p)] = FLOOR
        for s in statics:
            bid = add_static(pb, cid, s, self.p)
            self.names[bid] = s.name
            lo, hi = pb.getAABB(bid, physicsClientId=cid)
            self.static_boxes.append((np.array(lo), np.array(hi)))

    def _live_boxes(self, skip=None) -> list:
        """(lo, hi, moving) of every live body's Bullet AABB; moving: faster than 5 cm/s."""
        out = []
        for k, lv in self.live.items():
            if k != skip:
                a, b = self.pb.getAABB(lv.bid, physicsClientId=self.cid)
                v = self.pb.getBaseVelocity(lv.bid, physicsClientId=self.cid)[0]
                out.append((np.array(a), np.array(b), float(np.linalg.norm(v)) > MOVING))
        return out

    def _drop_pose(self, body: Body, corners: np.ndarray, Rb: np.ndarray, p: np.ndarray, skip=None):
        """``p`` (centre of mass) raised so that the body's lowest point is ``drop_height`` above the
        highest static or settling body under its footprint, and clear of bodies still falling."""
        W = corners @ Rb.T + p
        lo, hi = W[:, :2].min(0), W[:, :2].max(0)
        live = self._live_boxes(skip)
        under = list(self.static_boxes) + [(a, b) for a, b, moving in live if not moving]
        falling = [(a, b) for a, b, moving in live if moving]
        meets = [(a, b) for a, b in under + falling if np.all(a[:2] <= hi) and np.all(b[:2] >= lo)]
        base = max([0.0] + [float(b[2]) for a, b in under if np.all(a[:2] <= hi) and np.all(b[:2] >= lo)])
        z0 = base + body.drop_height
        height = float(W[:, 2].max() - W[:, 2].min())
        for a, b in sorted(meets, key=lambda ab: float(ab[0][2])):   # clear of everything it meets
            if z0 < float(b[2]) and z0 + height > float(a[2]):
                z0 = float(b[2]) + CLEARANCE
        p = p.copy()
        p[2] += z0 - float(W[:, 2].min())
        return p

    def release(self, body: Body) -> None:
        pb, cid = self.pb, self.cid
        T = np.asarray(body.pose, float)
        R = T[:3, :3] / body.scale
        P, moments = principal_frame(body.model.inertia)
        raw2body = body_frame(body.model, body.scale, P)
        Rb = R @ P
        p = T[:3, 3] + T[:3, :3] @ body.model.com
        corners = _corners(body.model, raw2body)
        p = self._drop_pose(body, corners, Rb, p)
        shape = create_shape(pb, cid, body.model, raw2body, self.folder)
        bid = add_dynamic(pb, cid, body, shape, p.tolist(), Rb, moments, self.p.margin)
        lv = _Live(body, bid, raw2body, corners)
        self.live[body.key] = lv
        self.names[bid] = body.key
        self.res.drop_poses[body.key] = self.obj2world(lv)

    def obj2world(self, lv: _Live) -> np.ndarray:
        pos, q = self.pb.getBasePositionAndOrientation(lv.bid, physicsClientId=self.cid)
        Rb = matrix_of(self.pb, q)
        M = np.eye(4)
        M[:3, :3] = Rb @ lv.raw2body[:3, :3]
        M[:3, 3] = Rb @ lv.raw2body[:3, 3] + np.asarray(pos, float)
        return M

    def com(self, lv: _Live) -> np.ndarray:
        return np.asarray(self.pb.getBasePositionAndOrientation(lv.bid, physicsClientId=self.cid)[0], float)

    def remove(self, key) -> None:
        lv = self.live.pop(key)
        self.pb.removeBody(lv.bid, physicsClientId=self.cid)
        self.res.removed.append(key)

    def redrop(self, key) -> None:
        pb, cid, lv = self.pb, self.cid, self.live[key]
        self.res.redrops[key] = self.res.redrops.get(key, 0) + 1
        M = self.res.drop_poses[key]
        Rb = M[:3, :3] @ np.linalg.inv(lv.raw2body[:3, :3])
        p = M[:3, 3] - Rb @ lv.raw2body[:3, 3]
        p = self._drop_pose(lv.body, lv.corners, Rb, p - [0, 0, p[2]], skip=key)
        pb.resetBasePositionAndOrientation(lv.bid, p.tolist(), quat_xyzw(Rb), physicsClientId=cid)
        pb.resetBaseVelocity(lv.bid, [0, 0, 0], [0, 0, 0], physicsClientId=cid)
        self.rest.reset(key)
        self.res.drop_poses[key] = self.obj2world(lv)

    def out_of_area(self, key, final: bool) -> bool:
        """Apply the outside rule to ``key`` if it is outside; True if it was removed or redropped."""
        if self.inside is None or self.inside(key, self.com(self.live[key])):
            return False
        rule = self.p.outside
        if rule == "redrop" and not final and self.res.redrops.get(key, 0) < self.p.max_redrops:
            self.redrop(key)
            return True
        if rule in ("remove", "redrop"):
            self.remove(key)
            return True
        if key not in self.res.outside:
            self.res.outside.append(key)
        return False

    def check(self) -> bool:
        """One rest check of every live body (and the outside rule for those at rest): all at rest?"""
        pb, cid = self.pb, self.cid
        done = True
        for key in list(self.live):
            v, w = pb.getBaseVelocity(self.live[key].bid, physicsClientId=cid)
            if self.rest.update(key, v, w):
                if self.out_of_area(key, final=False) and key in self.live:
                    done = False
            else:
                done = False
        return done

    def support_of(self, lv: _Live):
        push: dict = {}
        for c in self.pb.getContactPoints(bodyA=lv.bid, physicsClientId=self.cid):
            # contactNormalOnB points from B to A; the manifold may list this body as B
            other, nz, force = (c[2], c[7][2], c[9]) if c[1] == lv.bid else (c[1], -c[7][2], c[9])
            push[other] = push.get(other, 0.0) + force * nz
        best = max(push.items(), key=lambda kv: (kv[1], -kv[0]), default=(None, 0.0))
        return self.names[best[0]] if best[1] > 0 else "none"

    def finish(self, steps: int) -> SimResult:
        for key in list(self.live):
            self.out_of_area(key, final=True)
        res = self.res
        for key, lv in self.live.items():
            res.poses[key] = self.obj2world(lv)
            res.settled[key] = self.rest.at_rest(key)
            res.support[key] = self.support_of(lv)
        res.time_s = steps * self.p.time_step
        res.at_rest = all(res.settled.values())
        return res


def simulate(bodies: list[Body], statics: list[Static] = (), params: SimParams | None = None,
             inside=None) -> SimResult:
    """Drop ``bodies`` (in this order) onto the floor z = 0 and ``statics`` and let them settle (module
    docstring). ``inside(key, com_xyz) -> bool``: the area a body must end in (None: anywhere)."""
    params = params or SimParams()
    with client(params) as (pb, cid, folder):
        sim = _Sim(pb, cid, folder, params, inside)
        sim.add_statics(statics)
        dt = params.time_step
        every = max(0, round(params.stagger_s / dt))
        check = max(1, round(params.check_interval_s / dt))
        last = every * max(len(bodies) - 1, 0)
        limit = last + math.ceil(params.max_time_s / dt)
        step, nxt = 0, 0
        while True:
            while nxt < len(bodies) and step >= nxt * every:
                sim.release(bodies[nxt])
                nxt += 1
            if step >= limit:
                break
            pb.stepSimulation(physicsClientId=cid)
            step += 1
            if nxt == len(bodies) and step % check == 0 and sim.check():
                break
        return sim.finish(step)
