"""Work arrays reused from month to month, so that a large run does not map fresh memory for every draw."""

from __future__ import annotations

import numpy as np


class Buffers:
    """Arrays by name, each allocated once at the largest length asked for (with a quarter to spare).

    ``get`` returns a view of the first ``n`` elements: its contents are whatever the last user left, and it
    is valid until the next ``get`` of the same name. Checkpoints do not keep them (they are rebuilt on use).
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int, dtype=np.float64) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or len(a) < n or a.dtype != dtype:
            a = self._arrays[name] = np.empty(n + n // 4, dtype)
        return a[:n]

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self._arrays = {}
