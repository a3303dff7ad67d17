"""A council area's care home market: residential and nursing beds, no admission without a free bed."""

from __future__ import annotations

import mesa
import numpy as np

from ..population import NURSING, RESIDENTIAL

KINDS = ("residential", "nursing")


class CareHomeMarket(mesa.Agent):
    """Registered beds by kind (in agents, i.e. people / scale) and their occupancy each month."""

    def __init__(self, model: mesa.Model, council: int, beds: np.ndarray):
        super().__init__(model)
        self.council = council
        self.beds = np.asarray(beds, np.int64)  # [residential, nursing]
        self.occupied = np.zeros(2, np.int64)

    def count_occupied(self, setting: np.ndarray, alive: np.ndarray) -> None:
        """Recount occupied beds from the people living in care homes."""
        self.occupied[0] = np.count_nonzero(alive & (setting == RESIDENTIAL))
        self.occupied[1] = np.count_nonzero(alive & (setting == NURSING))

    def free_beds(self) -> np.ndarray:
        return np.maximum(self.beds - self.occupied, 0)

    def admit(self, kind: int, n: int) -> None:
        if n > self.free_beds()[kind]:
            raise RuntimeError("care home admission without a free bed")
        self.occupied[kind] += n
