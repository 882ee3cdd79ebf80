"""Every notebook, run once in the ci profile on a GTZAN-layout fixture.

This proves that switching to a real dataset is only ``GENRE_DATASET=gtzan``: no notebook
edits. The fixture is the Kaggle layout (10 genres x 6 clips of 6 s, plus the broken
``jazz.00054.wav``), built in a temporary folder from clip ids named in the fault-filtered
lists shipped with genre_lib, so the notebooks get the filtered split (4/1/1 clips per genre)
with no list on disk; the environment is set for the kernel before it starts, each notebook
is executed in-process with nbclient, and its outputs are checked for start-up noise and
errors.
"""
from __future__ import annotations

from pathlib import Path

import fixtures_real as fr
import pytest
from notebook_outputs import assert_clean_outputs, execute_notebook

# about 7 minutes on 2 cores: kept out of `make test` (which stays under 15) and run by
# `make test-datasets`, which .ci/run calls after it
pytestmark = pytest.mark.dataset_notebooks

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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_gtzan(path, gtzan_env, monkeypatch):
    data, work = gtzan_env
    nb = execute_notebook(path, monkeypatch, dataset="gtzan", data=data, work=work)
    assert_clean_outputs(nb, path.stem)
    # the notebook saw the GTZAN fixture, not the synthetic default
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "dataset=gtzan" in printed, f"{path.name} did not report the gtzan settings"
    if "[gtzan]" in printed:   # the loader's report: the shipped fault-filtered split, no warning
        assert "split: fault-filtered" in printed and "lists shipped with genre_lib" in printed
        assert "random split" not in printed
