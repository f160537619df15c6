"""The random streams of a frame: ``stream(seed, frame, name)`` (pure, numpy only).

Frame i's draws depend only on (seed, i): each part of the scene (camera, lights, each object entry,
each randomizer) draws from its own stream ``SeedSequence([seed_lo, seed_hi, frame, crc32(name)])``,
so adding an object entry or turning a randomizer on does not change the draws of the others, and no
frame depends on another.
"""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, frame: int, name: str) -> np.random.Generator:
    """The random stream named ``name`` of frame ``frame`` (independent of every other frame)."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & 0xFFFFFFFF,
                                                                        seed >> 32 & 0xFFFFFFFF,
                                                                        frame, key])))


def view_stream(seed: int, scene: int, view: int, name: str) -> np.random.Generator:
    """The random stream ``name`` of view ``view`` of scene ``scene`` (``scene.views`` / ``sequence``,
    core/scenes.py): its draws depend only on (seed, scene, view, name), apart from every frame stream
    (``view/`` prefixes the name and the view is a fifth entropy word)."""
    key = zlib.crc32(f"view/{name}".encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & 0xFFFFFFFF,
                                                                        seed >> 32 & 0xFFFFFFFF,
                                                                        scene, key, view])))
