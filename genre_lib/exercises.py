"""Checks for the exercise cells, in the nbgrader convention.

An auto-graded exercise is a pair of cells:

* the **solution cell**, whose answer lies between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``. In the student version (``make student``) nbgrader replaces that region
  with a stub that sets each answer variable to ``None``
  (:class:`genre_lib.grading.StubAnswers`), so the notebook still runs top to bottom;
* the locked, graded **test cell**. Its visible part calls :func:`check`, which never raises:
  it says whether the answer is missing, has the wrong type, shape or range, and gives a hint,
  but never prints the expected value. The exact comparison sits between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``: nbgrader removes it from the student
  version and puts it back when it grades, and there the ``expect_*`` functions raise
  :class:`ExerciseError` (an ``AssertionError``), so a wrong or missing answer fails the cell and
  scores no points.

Notebook: every notebook's "Exercise" sections; docs/instructors.md lists them.
"""
from __future__ import annotations

import numbers

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer that is not right yet; the message says what to look at."""


def is_unanswered(value) -> bool:
    """True for the student stub's placeholder (``None``) or ``...``."""
    return value is None or value is Ellipsis


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message}. Hint: {hint}" if hint else message


class _Passed:
    """What a passing ``expect_*`` returns: true, and invisible as a cell's last value.

    nbgrader reads the displayed value of a graded cell as partial credit (and warns about
    ``True``), so a passing check must display nothing.
    """

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "passed"

    def _ipython_display_(self) -> None:
        pass


PASSED = _Passed()


def _ok(name: str) -> _Passed:
    print(f"[ok] {name}")
    return PASSED


def _require_answer(value, name: str, hint: str | None) -> None:
    if is_unanswered(value):
        raise ExerciseError(_with_hint(f"{name} is not answered yet (it is still None)", hint))


def _shape_matches(got, shape) -> bool:
    return len(got) == len(shape) and all(s is None or g == s for g, s in zip(got, shape))


def _is_number(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.number))


# -- the visible part of a test cell: report, never raise --------------------------------------

def _kind_problem(value, kind) -> str | None:
    if kind is None:
        return None
    if kind in ("int", "number"):
        if not _is_number(value):
            return f"expected a number, got {type(value).__name__}"
        v = float(value)
        if not np.isfinite(v):
            return f"expected a finite number, got {v}"
        if kind == "int" and not v.is_integer():
            return f"expected a whole number, got {v:.4g}"
        return None
    if not isinstance(value, kind):
        wanted = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        return f"expected a {wanted}, got {type(value).__name__}"
    return None


def _range_problem(value, between) -> str | None:
    if between is None:
        return None
    low, high = between
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return f"expected numbers, got {type(value).__name__}"
    if arr.size == 0:
        return "it is empty"
    if np.isnan(arr).any():
        return "it contains NaN"
    lo, hi = float(arr.min()), float(arr.max())
    if (low is not None and lo < low) or (high is not None and hi > high):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        got = f"{lo:.4g}" if arr.size == 1 else f"values from {lo:.4g} to {hi:.4g}"
        return f"expected a value in {span}, got {got}"
    return None


def check(value, name: str, *, kind=None, shape=None, length: int | None = None,
          between: tuple | None = None, hint: str | None = None) -> None:
    """The visible check of an exercise: says what is wrong and gives a hint; never raises.

    ``kind`` is ``"int"`` (a whole number), ``"number"`` (a finite real number), or a type or
    tuple of types; ``shape`` an exact shape (``None`` entries match any length); ``length``
    the expected ``len``; ``between`` a ``(low, high)`` range (either may be ``None``) every
    value must lie in. It prints one line (``[to do]``, ``[not yet]`` with the hint, or
    ``[looks plausible]``) and returns nothing, so a cell ending with it shows no ``Out[]``;
    whether the answer is *right* is decided by the hidden tests when the notebook is graded.

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb,
        04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb, 07_filter_visualisation.ipynb,
        08_embedding_clustering.ipynb, 09_multilabel_tagging.ipynb, 10_transfer_learning.ipynb,
        12_serving.ipynb.
    """
    if is_unanswered(value):
        print(f"[to do] {name} is not answered yet: replace the None in the cell above with your "
              "answer and run both cells again.")
        if hint:
            print(f"        hint: {hint}")
        return
    problems = [p for p in (_kind_problem(value, kind),) if p]
    if not problems and shape is not None and not _shape_matches(np.shape(value), shape):
        problems.append(f"expected shape {tuple(shape)}, got {np.shape(value)}")
    if not problems and length is not None:
        try:
            n = len(value)
        except TypeError:
            n = None
        if n != length:
            problems.append(f"expected {length} entries, got {'no length' if n is None else n}")
    if not problems and between is not None:
        problem = _range_problem(value, between)
        if problem:
            problems.append(problem)
    if problems:
        print(f"[not yet] {name}: {'; '.join(problems)}.")
        if hint:
            print(f"        hint: {hint}")
        return
    shown = ""
    if _is_number(value):
        v = float(value)
        shown = f" = {int(v)}" if v.is_integer() and abs(v) < 1e15 else f" = {v:.6g}"
    print(f"[looks plausible] {name}{shown}: the exact answer is checked when the notebook is graded.")


# -- the hidden part of a test cell: raise, so that a wrong answer scores no points --------------

def expect_shape(value, shape, name: str = "answer", hint: str | None = None) -> _Passed:
    """``value`` has exactly ``shape`` (``None`` in ``shape`` matches any length).

    Notebook: 01_eda.ipynb, 07_filter_visualisation.ipynb.
    """
    _require_answer(value, name, hint)
    got = np.shape(value)
    if not _shape_matches(got, shape):
        raise ExerciseError(_with_hint(f"{name}: expected shape {tuple(shape)}, got {got}", hint))
    return _ok(f"{name} has shape {got}")


def expect_close(value, expected, name: str = "answer", rtol: float = 1e-4, atol: float = 1e-6,
                 hint: str | None = None) -> _Passed:
    """``value`` equals ``expected`` up to floating-point tolerance (the value is not shown).

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb,
        07_filter_visualisation.ipynb, 08_embedding_clustering.ipynb, 09_multilabel_tagging.ipynb,
        10_transfer_learning.ipynb, 11_hyperparameter_search.ipynb.
    """
    _require_answer(value, name, hint)
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(_with_hint(f"{name}: expected numbers, got {type(value).__name__}",
                                       hint)) from None
    expected = np.asarray(expected, dtype=float)
    if value.shape != expected.shape:
        raise ExerciseError(_with_hint(f"{name}: expected shape {expected.shape}, got {value.shape}",
                                       hint))
    if not np.allclose(value, expected, rtol=rtol, atol=atol):
        worst = float(np.nanmax(np.abs(value - expected))) if np.isfinite(value).any() else float("nan")
        raise ExerciseError(_with_hint(
            f"{name}: values differ from the reference (largest gap {worst:.3g})", hint))
    return _ok(f"{name} matches the reference")


def expect_between(value, low: float, high: float, name: str = "answer",
                   hint: str | None = None) -> _Passed:
    """A number inside ``[low, high]``.

    Notebook: 09_multilabel_tagging.ipynb, 11_hyperparameter_search.ipynb.
    """
    _require_answer(value, name, hint)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ExerciseError(_with_hint(f"{name}: expected a number, got {type(value).__name__}",
                                       hint)) from None
    if not low <= v <= high:
        raise ExerciseError(_with_hint(f"{name}: {v:.4g} is outside the expected range [{low}, {high}]",
                                       hint))
    return _ok(f"{name} = {v:.4g} is in range")


def expect_equal(value, expected, name: str = "answer", hint: str | None = None) -> _Passed:
    """Exact equality (for labels, counts, sets); the expected value is not shown.

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb, 04_cnn.ipynb, 05_crnn.ipynb,
        06_parallel_cnn_rnn.ipynb, 07_filter_visualisation.ipynb, 11_hyperparameter_search.ipynb,
        12_serving.ipynb.
    """
    _require_answer(value, name, hint)
    try:
        same = bool(value == expected)
    except (TypeError, ValueError):  # e.g. an array compared with a number
        same = False
    if not same:
        raise ExerciseError(_with_hint(f"{name}: not the expected answer (got {value!r})", hint))
    return _ok(f"{name} is right")


def expect_same_series(value, expected, name: str = "answer", hint: str | None = None) -> _Passed:
    """A pandas Series with the same index (in any order) and the same value for every entry.

    Notebook: 04_cnn.ipynb.
    """
    import pandas as pd

    _require_answer(value, name, hint)
    if not isinstance(value, pd.Series):
        raise ExerciseError(_with_hint(f"{name}: expected a pandas Series, got {type(value).__name__}",
                                       hint))
    if len(value) != len(expected) or set(value.index) != set(expected.index):
        raise ExerciseError(_with_hint(f"{name}: expected one entry per item of the reference "
                                       f"({len(expected)}), indexed the same way; got {len(value)}",
                                       hint))
    wrong = int((value.loc[expected.index].to_numpy() != expected.to_numpy()).sum())
    if wrong:
        raise ExerciseError(_with_hint(f"{name}: {wrong} of {len(expected)} entries differ from the "
                                       "reference", hint))
    return _ok(f"{name} agrees with the reference on all {len(expected)} entries")


# -- helpers the hidden tests use ---------------------------------------------------------------

def receptive_field(model, layer: str) -> tuple[int, ...]:
    """Input positions (per spatial axis) that one unit of ``layer`` depends on.

    Walks back from ``layer`` to the model's input through single-input layers and applies
    ``r += (kernel - 1) * jump; jump *= stride`` to every convolution and pooling on the way
    (layers that keep the grid, such as batch norm or activations, change nothing).

    Notebook: 07_filter_visualisation.ipynb.
    """
    chain = []
    current = model.get_layer(layer)
    while True:
        chain.append(current)
        inputs = current.input
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ValueError(f"{current.name} has several inputs; the walk needs a chain")
            inputs = inputs[0]
        history = getattr(inputs, "_keras_history", None)
        if history is None:
            break
        previous = history[0]
        if previous is current or type(previous).__name__ == "InputLayer":
            break
        current = previous
    field, jump = None, None
    for lay in reversed(chain):
        config = lay.get_config()
        size = config.get("kernel_size", config.get("pool_size"))
        if size is None:
            continue
        size = tuple(np.atleast_1d(size))
        strides = tuple(np.atleast_1d(config.get("strides") or size))
        dilation = tuple(np.atleast_1d(config.get("dilation_rate", 1)))
        if field is None:
            field, jump = [1] * len(size), [1] * len(size)
        for axis in range(len(size)):
            d = dilation[axis] if axis < len(dilation) else dilation[0]
            field[axis] += (int(size[axis]) - 1) * int(d) * jump[axis]
            jump[axis] *= int(strides[axis] if axis < len(strides) else strides[0])
    if field is None:
        raise ValueError(f"no convolution or pooling between the input and {layer}")
    return tuple(int(f) for f in field)
