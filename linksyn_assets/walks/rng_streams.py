"""Counter-based random streams for compiled loops that run in parallel: one stream per walker or
path (splitmix64 of a key drawn from the run's Generator and the index), so results do not depend
on how threads are scheduled."""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, inline="always")
def mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def uniform(states: np.ndarray, w: int) -> float:
    states[w] += _GOLDEN
    return float(mix(states[w]) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def seed_streams(key: int, count: int) -> np.ndarray:
    states = np.empty(count, np.uint64)
    for w in range(count):
        states[w] = mix(np.uint64(key) ^ (np.uint64(w) * _GOLDEN))
    return states
