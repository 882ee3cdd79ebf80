"""Checks on the outputs of an executed notebook (shared by the notebook tests).

:func:`assert_clean_outputs` fails when

* a stderr stream holds TensorFlow or absl start-up lines (C++ log lines such as
  ``I0000 00:00:... port.cc:153] oneDNN ...``, the absl pre-init notice, CUDA probing): those
  are to be dealt with by :mod:`genre_lib.quiet`, never shown to a student;
* any output holds "Error" or "Traceback" (an ``error`` output, a stream, or the text of a
  result), except in a cell that deliberately demonstrates one: a cell tagged
  ``raises-exception`` (the tag nbclient and nbval know) or ``shows-error``.

The check itself lives in :func:`genre_lib.runner.output_problems`, so ``make run`` applies it
to every notebook of every run, the full profile included. The detector is deliberately
broader than genre_lib.quiet's allow-list, so a start-up line
the allow-list does not know is caught here instead of slipping through.

:func:`execute_notebook` runs a notebook through :func:`genre_lib.runner.execute`, the runner
of ``make run``, so the tests execute notebooks exactly as the main job does; this module adds
only what the runner does not do: the settings in the kernel's environment, and the failing
cell's traceback in the test's failure (:func:`failing_cell`).
"""
from __future__ import annotations

import re

from genre_lib.runner import output_problems  # noqa: F401  (the check make run applies too)

ANSI = re.compile(r"\x1b\[[0-9;]*m")   # colour codes in tracebacks


def assert_clean_outputs(nb, name: str = "notebook") -> None:
    """Fail with every offending output listed (see the module docstring)."""
    problems = output_problems(nb)
    assert not problems, f"{name} has outputs a student should not see:\n" + "\n".join(problems)


def failing_cell(nb) -> str:
    """The first code cell of an executed notebook that ended in an error: its number, first
    source lines and the last lines of its traceback (colour codes removed); "" when none did.
    ``genre_lib.runner.execute`` reports only the error's last line."""
    number = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                source = cell.get("source", "").splitlines()
                trace = ANSI.sub("", "\n".join(output.get("traceback", []))).splitlines()
                return "\n".join([f"code cell {number}:", *source[:6], "...", *trace[-25:]])
    return ""



def execute_notebook(path, monkeypatch, dataset: str, data, work, profile: str = "ci",
                     timeout: int = 600):
    """Execute a notebook with :func:`genre_lib.runner.execute` (the main job's runner: a fresh
    kernel, the executed copy and the kernel's log written to ``work/executed/``) under the
    GENRE_* settings given, and return the executed notebook; ``pytest.fail`` with the runner's
    message and the failing cell's traceback (:func:`failing_cell`) when a cell fails."""
    from pathlib import Path

    import nbformat
    import pytest

    from genre_lib.runner import execute

    for key, value in {"GENRE_DATASET": dataset, "GENRE_PROFILE": profile,
                       "GENRE_DATA_DIR": str(data), "GENRE_WORK_DIR": str(work),
                       "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, value)        # inherited by the kernel the runner starts
    path, out_dir = Path(path), Path(work) / "executed"
    ok, _, error = execute(path, out_dir, timeout=timeout)
    executed = out_dir / path.name
    nb = nbformat.read(executed, as_version=4) if executed.exists() else None
    if not ok:
        detail = failing_cell(nb) if nb is not None else ""
        pytest.fail(f"{path.name} failed on {dataset}: {ANSI.sub('', error)}\n{detail}\n"
                    f"(executed copy: {executed})",
                    pytrace=False)
    return nb
