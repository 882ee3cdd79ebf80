"""Checks on the outputs of an executed notebook (shared by the notebook tests).

:func:`assert_clean_outputs` fails when

* a stderr stream holds TensorFlow or absl start-up lines (C++ log lines such as
  ``I0000 00:00:... port.cc:153] oneDNN ...``, the absl pre-init notice, CUDA probing): those
  are to be dealt with by :mod:`genre_lib.quiet`, never shown to a student;
* any output holds "Error" or "Traceback" (an ``error`` output, a stream, or the text of a
  result), except in a cell that deliberately demonstrates one: a cell tagged
  ``raises-exception`` (the tag nbclient and nbval know) or ``shows-error``.

The detector is deliberately broader than genre_lib.quiet's allow-list, so a start-up line
the allow-list does not know is caught here instead of slipping through.
"""
from __future__ import annotations

import re

ERROR_TAGS = {"raises-exception", "shows-error"}
STARTUP = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\]"   # a C++ (absl/glog) log line
    r"|absl::InitializeLog|oneDNN custom operations|cuda drivers|cuInit|TF-TRT"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer|cpu_feature_guard"
    r"|This TensorFlow binary is optimized",
    re.MULTILINE)
ERROR_WORDS = re.compile(r"Error|Traceback")


def _texts(output) -> list[str]:
    kind = output.get("output_type")
    if kind == "stream":
        return [output.get("text", "")]
    if kind == "error":
        return ["\n".join([output.get("ename", ""), output.get("evalue", ""),
                           *output.get("traceback", [])])]
    data = output.get("data", {})
    return [data[k] if isinstance(data[k], str) else "".join(data[k])
            for k in ("text/plain", "text/markdown") if k in data]


def output_problems(nb) -> list[str]:
    """Every offending output of an executed notebook, one line each ("" when clean)."""
    problems = []
    number = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        tags = set(cell.get("metadata", {}).get("tags", []))
        for output in cell.get("outputs", []):
            where = f"code cell {number}"
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                hit = STARTUP.search(output.get("text", ""))
                if hit:
                    line = output["text"][hit.start():].splitlines()[0]
                    problems.append(f"{where}: TensorFlow start-up line on stderr: {line[:160]}")
            if tags & ERROR_TAGS:
                continue
            if output.get("output_type") == "error":
                problems.append(f"{where}: {output.get('ename')}: {output.get('evalue', '')[:160]}")
                continue
            for text in _texts(output):
                hit = ERROR_WORDS.search(text)
                if hit:
                    start = text.rfind("\n", 0, hit.start()) + 1
                    line = text[start:].splitlines()[0]
                    problems.append(f"{where}: output holds {hit.group()!r}: {line[:160]}")
    return problems


def assert_clean_outputs(nb, name: str = "notebook") -> None:
    """Fail with every offending output listed (see the module docstring)."""
    problems = output_problems(nb)
    assert not problems, f"{name} has outputs a student should not see:\n" + "\n".join(problems)


def execute_notebook(path, monkeypatch, dataset: str, data, work, profile: str = "ci",
                     timeout: int = 600):
    """Execute a notebook in a fresh kernel with the GENRE_* settings given, and return it
    with its outputs (``pytest.fail`` with the failing cell's traceback when a cell fails)."""
    import nbformat
    import pytest
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for key, value in {"GENRE_DATASET": dataset, "GENRE_PROFILE": profile,
                       "GENRE_DATA_DIR": str(data), "GENRE_WORK_DIR": str(work),
                       "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, value)        # inherited by the kernel started below
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        lines = str(exc).strip().splitlines()
        short = "\n".join(lines[:12] + (["..."] if len(lines) > 40 else []) + lines[-25:])
        pytest.fail(f"{path.name} failed on {dataset}:\n{short}", pytrace=False)
    return nb
