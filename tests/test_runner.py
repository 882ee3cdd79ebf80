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
