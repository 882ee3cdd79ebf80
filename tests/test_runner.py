import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from genre_lib.runner import execute


def _write(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_execute_writes_outputs_and_reports_the_failing_cell(tmp_path):
    good = _write(tmp_path / "good.ipynb", "print(6 * 7)")
    ok, secs, err = execute(good, tmp_path / "out")
    assert ok and not err and secs > 0
    done = nbformat.read(tmp_path / "out" / "good.ipynb", as_version=4)
    assert "42" in done.cells[0].outputs[0]["text"]
    assert (tmp_path / "out" / "good.kernel.log").exists()

    bad = _write(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('no such genre: polka')", "y = 2")
    ok, _, err = execute(bad, tmp_path / "out")
    assert not ok and "no such genre: polka" in err and "bad.kernel.log" in err
    partial = nbformat.read(tmp_path / "out" / "bad.ipynb", as_version=4)
    assert partial.cells[1].outputs[0]["ename"] == "ValueError"  # the failed copy is kept


def test_first_cell_shows_the_device_and_nothing_on_stderr(tmp_path, monkeypatch):
    """``make run`` path: gl.start() in a kernel started by the runner prints the settings and
    one device line, and TensorFlow's start-up lines appear in no output."""
    from notebook_outputs import assert_clean_outputs

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("GENRE_DEBUG", raising=False)
    monkeypatch.setenv("GENRE_WORK_DIR", str(tmp_path / "work"))
    nb_path = _write(tmp_path / "first.ipynb", "import genre_lib as gl\nsettings = gl.start()",
                     "import keras\nprint(keras.ops.sum(keras.ops.ones(2)))")
    ok, _, err = execute(nb_path, tmp_path / "out")
    assert ok, err
    done = nbformat.read(tmp_path / "out" / "first.ipynb", as_version=4)
    assert_clean_outputs(done, "first.ipynb")
    streams = [o for c in done.cells for o in c.outputs if o["output_type"] == "stream"]
    assert {o["name"] for o in streams} == {"stdout"}
    printed = "".join(o["text"] for o in done.cells[0].outputs if o["output_type"] == "stream")
    assert sum(line.startswith("device: ") for line in printed.splitlines()) == 1


def test_executed_notebooks_keep_their_figures_under_the_agg_backend(tmp_path, monkeypatch):
    """make sets MPLBACKEND=Agg for the tests; the kernels of `make run` must still draw
    inline, or the executed notebooks (and the book built from them) lose every figure."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb_path = _write(tmp_path / "plot.ipynb",
                     "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")
    ok, _, err = execute(nb_path, tmp_path / "out")
    assert ok, err
    done = nbformat.read(tmp_path / "out" / "plot.ipynb", as_version=4)
    assert any("image/png" in o.get("data", {}) for o in done.cells[0].outputs)
    import os

    assert os.environ["MPLBACKEND"] == "Agg"   # restored for the caller


def test_times_line_names_every_notebook_and_the_load():
    from genre_lib.runner import times_line

    line = times_line({"01_eda": 40.2, "02_correlation_and_projections": 21.0})
    assert line.startswith("time per notebook (s): 01 40, 02 21")
    import os

    assert ("load average" in line) == hasattr(os, "getloadavg")


def test_make_run_fails_a_notebook_whose_outputs_show_a_tensorflow_line(tmp_path, monkeypatch,
                                                                         ci_settings, ci_table, capsys):
    """The output check of the notebook tests runs inside ``make run`` too, for every profile:
    a notebook that ran but left a C++ log line on stderr is reported and fails the run."""
    from genre_lib import runner

    line = "E0000 00:00:1796600000.1 9 util.cc:131] oneDNN supports DT_BOOL only on platforms"
    clean = _write(tmp_path / "01_clean.ipynb", "print('fine')")
    noisy = _write(tmp_path / "02_noisy.ipynb", f"import sys\nprint({line!r}, file=sys.stderr)")
    monkeypatch.setattr(runner, "notebook_paths", lambda settings=None: [clean, noisy])
    monkeypatch.setattr(runner, "print_results", lambda settings=None: None)
    assert runner.run_all(settings=ci_settings) == 1
    out = capsys.readouterr()
    assert "01_clean.ipynb" in out.out and "02_noisy.ipynb" in out.err
    assert "output a student should not see: code cell 1: TensorFlow start-up line" in out.out
