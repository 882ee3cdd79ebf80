"""Timing shared by the benchmark scripts (run as ``python benchmarks/<name>.py``, which puts
this folder on the import path)."""
from __future__ import annotations

import time


def best_of(repeats: int, func):
    """``(fastest wall time in seconds, the last result)`` of ``repeats`` calls of ``func``."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result
