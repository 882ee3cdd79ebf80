"""Checks for the exercise cells, in the nbgrader convention.

A solution cell carries ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers (nbgrader's
``generate_assignment`` strips what lies between them for the student version); the graded
test cell after it calls these checks, which raise ``AssertionError`` with a hint a student
can act on, and print a short confirmation when the answer is right.

Notebook: every notebook's "Exercise" sections.
"""
from __future__ import annotations

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer that is not right yet; the message says what to look at."""


def _ok(name: str) -> bool:
    print(f"[ok] {name}")
    return True


def expect_shape(value, shape, name: str = "answer") -> bool:
    """``value`` has exactly ``shape`` (``None`` in ``shape`` matches any length)."""
    got = np.shape(value)
    if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape)):
        raise ExerciseError(f"{name}: expected shape {tuple(shape)}, got {got}")
    return _ok(f"{name} has shape {got}")


def expect_close(value, expected, name: str = "answer", rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """``value`` equals ``expected`` up to floating-point tolerance."""
    value, expected = np.asarray(value, dtype=float), np.asarray(expected, dtype=float)
    if value.shape != expected.shape:
        raise ExerciseError(f"{name}: expected shape {expected.shape}, got {value.shape}")
    if not np.allclose(value, expected, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(value - expected)))
        raise ExerciseError(f"{name}: values differ from the reference (largest gap {worst:.3g})")
    return _ok(f"{name} matches the reference")


def expect_between(value, low: float, high: float, name: str = "answer") -> bool:
    """A number inside ``[low, high]``."""
    v = float(value)
    if not low <= v <= high:
        raise ExerciseError(f"{name}: {v:.4g} is outside the expected range [{low}, {high}]")
    return _ok(f"{name} = {v:.4g} is in range")


def expect_equal(value, expected, name: str = "answer") -> bool:
    """Exact equality (for labels, counts, sets)."""
    if value != expected:
        raise ExerciseError(f"{name}: expected {expected!r}, got {value!r}")
    return _ok(f"{name} is {expected!r}")
