"""The one way caresim compiles a loop: Numba's ``njit``, cached on disk after a run's first use, with NumPy's
error model (a division by zero gives inf or nan, as in NumPy) and no bounds checks (the callers size the arrays)."""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
