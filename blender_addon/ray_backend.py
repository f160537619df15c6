"""Moved to :mod:`synthblend.runners.ray_backend`; this name stays for the sweep until it imports from there."""
from __future__ import annotations

from .runners.ray_backend import RayPool, check_ray, default_chunk, ray_runtime

__all__ = ["RayPool", "check_ray", "default_chunk", "ray_runtime"]
