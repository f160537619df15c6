"""An independent rest check of settled scenes (shares no code with synthblend.core.physics): the
final poses are handed to a separate Bullet client, built here from the asset triangles (trimesh's
mass properties, Bullet's own convex hulls of the raw vertices, Bullet's exact primitives), and
simulated for 2 s; interpenetration and floating are measured on the rendered triangle meshes with
trimesh (tests/dr_checks.py).

Shapes are "the same shapes" as the generator's, except that a CoACD decomposition is not recomputed
(it is what it is; its pieces are taken from synthblend's cache): every other shape is rebuilt here.
"""
from __future__ import annotations

import numpy as np
import pybullet as pb
import trimesh

from dr_checks import placement_report, world_mesh

SECONDS = 2.0
DT = 1.0 / 240.0


def _quat_xyzw(R):
    q = trimesh.transformations.quaternion_from_matrix(np.vstack([np.hstack([R, [[0], [0], [0]]]), [0, 0, 0, 1]]))
    return [q[1], q[2], q[3], q[0]]


def _body(cid, item, margin):
    """item: dict(vertices, faces (raw), obj2world, shape: hull|box|sphere|cylinder|pieces, pieces,
    mass, friction). Returns (body id, 4x4 raw->body)."""
    V, F, M = np.asarray(item["vertices"], float), np.asarray(item["faces"]), np.asarray(item["obj2world"], float)
    s = float(np.cbrt(np.linalg.det(M[:3, :3])))
    R = M[:3, :3] / s
    Ws = trimesh.Trimesh(V * s, F, process=False)
    kind = item["shape"]
    lo, hi = V.min(0) * s, V.max(0) * s
    c = (lo + hi) / 2
    if kind == "box":
        com = c
        shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=((hi - lo) / 2).tolist(), physicsClientId=cid)
    elif kind == "sphere":
        com = c
        shape = pb.createCollisionShape(pb.GEOM_SPHERE, radius=float(np.linalg.norm(V * s - c, axis=1).max()),
                                        physicsClientId=cid)
    elif kind == "cylinder":
        com = c
        r = float(np.linalg.norm((V * s - c)[:, :2], axis=1).max())
        shape = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=r,
                                        height=float(hi[2] - lo[2]), physicsClientId=cid)
    else:
        solid = Ws if Ws.is_watertight and Ws.volume > 0 else Ws.convex_hull
        com = solid.center_mass
        if kind == "hull":
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=(V * s - com).tolist(), physicsClientId=cid)
        else:                       # pieces: a compound of their hulls (Bullet builds one from an OBJ)
            shape = _pieces(cid, item["pieces"], s, com, item["tmp"])
    # body frame: centre of mass, the mesh's axes (Bullet's own inertia from the shape's AABB is fine
    # for a rest check); raw v -> body: s v - com
    raw2body = np.eye(4)
    raw2body[:3, :3] = np.eye(3) * s
    raw2body[:3, 3] = -com
    pos = M[:3, 3] + R @ com
    bid = pb.createMultiBody(item["mass"], shape, basePosition=pos.tolist(), baseOrientation=_quat_xyzw(R),
                             physicsClientId=cid)
    pb.changeDynamics(bid, -1, lateralFriction=item.get("friction", 0.5), restitution=0.0,
                      rollingFriction=item.get("rolling_friction", 0.01),
                      spinningFriction=item.get("rolling_friction", 0.01), collisionMargin=margin,
                      activationState=pb.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=cid)
    return bid, raw2body


def _pieces(cid, pieces, s, com, tmp):
    path = tmp / f"pieces_{len(list(tmp.iterdir()))}.obj"
    lines, base = [], 1
    for k, P in enumerate(pieces):
        h = trimesh.convex.convex_hull(np.asarray(P) * s - com)
        lines.append(f"o p{k}")
        lines += ["v %.17g %.17g %.17g" % tuple(v) for v in h.vertices]
        lines += ["f %d %d %d" % tuple(f + base) for f in h.faces]
        base += len(h.vertices)
    path.write_text("\n".join(lines) + "\n")
    return pb.createCollisionShape(pb.GEOM_MESH, fileName=str(path), physicsClientId=cid)


def rest_check(items: dict, boxes=(), margin: float = 1e-4, seconds: float = SECONDS) -> dict:
    """``items``: {id: item (see _body)}; ``boxes``: static boxes [(center xyz, half extents)] (a
    bin's floor and walls). Returns {"drift": {id: centre-of-mass displacement, m}, "median",
    "moved_10mm" (fraction), "max"}."""
    cid = pb.connect(pb.DIRECT)
    try:
        pb.setGravity(0, 0, -9.81, physicsClientId=cid)
        pb.setPhysicsEngineParameter(fixedTimeStep=DT, numSolverIterations=50, physicsClientId=cid)
        plane = pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid), physicsClientId=cid)
        pb.changeDynamics(plane, -1, lateralFriction=0.5, collisionMargin=margin, physicsClientId=cid)
        for c, h in boxes:
            b = pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_BOX, halfExtents=list(h), physicsClientId=cid),
                                   basePosition=list(c), physicsClientId=cid)
            pb.changeDynamics(b, -1, lateralFriction=0.5, collisionMargin=margin, physicsClientId=cid)
        ids = {k: _body(cid, it, margin)[0] for k, it in sorted(items.items())}
        start = {k: np.array(pb.getBasePositionAndOrientation(b, physicsClientId=cid)[0]) for k, b in ids.items()}
        for _ in range(int(round(seconds / DT))):
            pb.stepSimulation(physicsClientId=cid)
        end = {k: np.array(pb.getBasePositionAndOrientation(b, physicsClientId=cid)[0]) for k, b in ids.items()}
        drift = {k: float(np.linalg.norm(end[k] - start[k]))
                 for k, b in ids.items()}
    finally:
        pb.disconnect(cid)
    d = np.array(list(drift.values())) if drift else np.zeros(1)
    return {"drift": drift, "median": float(np.median(d)), "moved_10mm": float(np.mean(d > 0.01)),
            "max": float(d.max())}


def mesh_report(items: dict, boxes=()) -> dict:
    """Interpenetration and floating on the rendered triangles (dr_checks.placement_report), with the
    static boxes as meshes of their own."""
    meshes = {k: world_mesh(it["vertices"], it["faces"], it["obj2world"]) for k, it in items.items()}
    for n, (c, h) in enumerate(boxes):
        b = trimesh.creation.box(extents=2 * np.asarray(h))
        b.apply_translation(c)
        meshes[f"static{n}"] = b
    rep = placement_report(meshes)
    rep["floating"] = [k for k in rep["floating"] if not str(k).startswith("static")]
    return rep
