"""Rest detection: a body is at rest once its linear speed (of the centre of mass, m/s) and angular
speed (rad/s) have been under :class:`~.world.SimParams`' ``rest_linear`` and ``rest_angular`` at
``rest_checks`` checks in a row (one check every ``check_interval_s`` of simulated time)."""
from __future__ import annotations

import numpy as np


class RestMonitor:
    """Consecutive below-threshold checks per body."""

    def __init__(self, params):
        self.params = params
        self.count: dict = {}

    def update(self, key, linear, angular) -> bool:
        """Record one check of ``key``'s velocities; whether it is at rest now."""
        p = self.params
        still = float(np.linalg.norm(linear)) < p.rest_linear and float(np.linalg.norm(angular)) < p.rest_angular
        self.count[key] = self.count.get(key, 0) + 1 if still else 0
        return self.at_rest(key)

    def at_rest(self, key) -> bool:
        return self.count.get(key, 0) >= self.params.rest_checks

    def reset(self, key) -> None:
        self.count[key] = 0
