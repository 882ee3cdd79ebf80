"""Every notebook, run once in the ci profile on a GTZAN-layout fixture.

This proves that switching to a real dataset is only ``GENRE_DATASET=gtzan``: no notebook
edits. The fixture is the Kaggle layout (10 genres x 6 clips of 6 s, plus the broken
``jazz.00054.wav``), built in a temporary folder; the environment is set for the kernel
before it starts, and each notebook is executed in-process with nbclient.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import fixtures_real as fr

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def gtzan_env(tmp_path_factory):
    """A data folder holding a Kaggle-layout GTZAN copy, and an empty work folder."""
    base = tmp_path_factory.mktemp("gtzan_notebooks")
    data, work = base / "data", base / "work"
    fr.build_gtzan_kaggle(data / "gtzan", per_genre=6, seconds=6.0, short_clip=False)
    work.mkdir()
    return data, work


def _failure(exc: Exception) -> str:
    text = str(exc).strip()
    lines = text.splitlines()
    return "\n".join(lines[:12] + (["..."] if len(lines) > 40 else []) + lines[-25:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_gtzan(path, gtzan_env, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    data, work = gtzan_env
    for key, value in {"GENRE_DATASET": "gtzan", "GENRE_PROFILE": "ci",
                       "GENRE_DATA_DIR": str(data), "GENRE_WORK_DIR": str(work),
                       "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, value)       # inherited by the kernel started below
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed on the GTZAN fixture:\n{_failure(exc)}", pytrace=False)
    # the notebook saw the GTZAN fixture, not the synthetic default
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "dataset=gtzan" in printed, f"{path.name} did not report the gtzan settings"
    assert os.environ["GENRE_DATASET"] == "gtzan"
