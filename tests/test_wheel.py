"""The course outside its checkout, as a student on Colab or after ``pip install`` gets it.

The wheel is built from this checkout and never installed in editable mode. A clean virtual
environment gets the locked dependencies of the course (``requirements.txt``) but not
genre_lib, like a Colab runtime. Notebook 01, copied alone into an empty folder with no
checkout around it, is executed by that environment's kernel with ``GENRE_WHEEL`` naming the
wheel: its first cell must notice the missing package, install the wheel, say where data and
outputs go (a user folder, as there is no checkout), build the embedded dataset and run to
the end. Then the installed command line runs notebook 02 from the copies inside the wheel.

Slow (a few minutes, most of it installing the lock into the new environment): ``make
test-wheel``, which CI runs after ``make test``. ``GENRE_WHEEL_REPORT`` names a file that
receives the first cell's output (for the record).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(nb, timeout=1200, kernel_name="python3").execute()
finally:
    nbformat.write(nb, sys.argv[2])
"""


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
                   check=True)
    (path,) = out.glob("genre_lib-*.whl")
    return path


def test_wheel_carries_the_course_and_its_licences(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    notebooks = {n for n in names if n.startswith("genre_lib/notebooks/") and n.endswith(".ipynb")}
    assert len(notebooks) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert "genre_lib/datasets/gtzan_filtered/train_filtered.txt" in names
    assert "genre_lib/musicnn/reference/reference.npz" in names
    assert {n.rsplit("/", 1)[-1] for n in names if "/licenses/" in n} >= {
        "LICENSE", "LICENSE-content", "THIRD_PARTY_NOTICES.md"}
    assert "License-Expression: MIT" in meta
    assert "Requires-Dist: tensorflow" in meta and 'extra == "serve"' in meta


def test_notebook_01_runs_from_the_wheel_in_a_bare_kernel(wheel, tmp_path):
    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = _bin(venv, "python")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")],
                   check=True)
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('genre_lib'))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert probe.stdout.strip() == "None"  # a bare kernel: the course's dependencies, no genre_lib

    student = tmp_path / "student"   # one notebook, no checkout around it
    student.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_eda.ipynb", student)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GENRE_", "VIRTUAL_ENV", "PYTHONPATH", "JUPYTER"))}
    env.update(HOME=str(home), USERPROFILE=str(home), GENRE_WHEEL=str(wheel), GENRE_PROFILE="ci",
               PATH=f"{_bin(venv, 'python').parent}{os.pathsep}{env.get('PATH', '')}")
    done = student / "01_eda.executed.ipynb"
    run = subprocess.run([str(python), "-c", EXECUTE, "01_eda.ipynb", done.name], cwd=student, env=env,
                         capture_output=True, text=True, timeout=1800)
    nb = json.loads(done.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert run.returncode == 0 and not errors, (run.stderr[-3000:], errors[:1])

    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    printed = "".join("".join(o["text"]) for o in first["outputs"] if o["output_type"] == "stream")
    if os.environ.get("GENRE_WHEEL_REPORT"):
        Path(os.environ["GENRE_WHEEL_REPORT"]).write_text(printed)
    lines = printed.splitlines()
    source = wheel.resolve().as_uri()
    assert lines[0] == f"genre_lib is not installed in this kernel: installing it from {source} ..."
    course = home / "genre_lib_course"
    assert (f"no course checkout found, so data and outputs go under {course} "
            "(GENRE_HOME chooses another folder)") in lines
    assert any(line.startswith("device: ") for line in lines)
    assert (course / "data" / "synth").is_dir()            # the embedded dataset, built there
    assert list((course / "figures" / "synth-ci").glob("*.png"))  # and the figures beside it
    assert not (student / "data").exists() and not (student / "figures").exists()

    where = subprocess.run([str(python), "-c", "import genre_lib; print(genre_lib.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert Path(where.stdout.strip()).is_relative_to(venv)   # the installed wheel, not the checkout

    # the installed command line finds the notebooks inside the wheel
    cli = subprocess.run([str(_bin(venv, "genre-lib")), "run", "02"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=1200)
    assert cli.returncode == 0, cli.stdout[-2000:] + cli.stderr[-2000:]
    assert (course / "build" / "synth-ci" / "02_correlation_and_projections.ipynb").exists()
