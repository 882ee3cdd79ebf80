"""The first code cell of every notebook: install the course package where it is missing.

On Colab, in a fresh Jupyter or in a virtual environment without the course, ``import
genre_lib`` fails. The first code cell of every notebook therefore checks for the package and,
when it is missing, installs ``genre_lib[course]`` (the package and what the notebooks import)
with pip, says so in one line, and goes on: from the course repository (:data:`REPOSITORY`), or,
offline, from the wheel file that the ``GENRE_WHEEL`` environment variable names. Without a
network it says so in one line, naming ``GENRE_WHEEL``. In a checkout (``make run``, ``make
test``) the package is there and the cell only starts the notebook.

The cell is this module's :data:`CELL`, the same in every notebook; ``python -m
genre_lib.first_cell`` writes it into the notebooks and ``tests/test_first_cell.py`` checks
that they carry it. It cannot import anything from this package (the package may not be
installed yet), so it is plain standard-library code.

Notebook: every notebook's first code cell.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

# Where the course is published; the Colab links of the README and this cell read it.
REPOSITORY = "https://github.com/genre-lib/genre-curriculum"

CELL = f'''# Set-up. Where genre_lib (the course's helper package) is missing, as on Colab, install it once:
# from the course repository, or offline from the wheel that GENRE_WHEEL names.
import importlib.util

if importlib.util.find_spec("genre_lib") is None:
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    wheel = os.environ.get("GENRE_WHEEL")
    source = Path(wheel).resolve().as_uri() if wheel else "git+{REPOSITORY}"
    print(f"genre_lib is not installed in this kernel: installing it from {{source}} ...", flush=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--retries", "1",
                          f"genre_lib[course] @ {{source}}"], capture_output=True, text=True)
    if pip.returncode:
        why = (pip.stderr.strip() or pip.stdout.strip() or "no output").splitlines()[-1]
        if re.search(r"resolve host|NewConnectionError|unreachable|unable to access", pip.stderr):
            why = "no network here"
        raise RuntimeError(f"could not install genre_lib from {{source}} ({{why}}); offline, set "
                           "GENRE_WHEEL to a genre_lib wheel (pip wheel --no-deps . in a checkout)") from None
    importlib.invalidate_caches()

import genre_lib as gl

settings = gl.start()'''


def first_code_cell(nb: dict) -> dict | None:
    """The first code cell of a notebook (as read by :mod:`json`), or ``None``."""
    return next((c for c in nb.get("cells", []) if c.get("cell_type") == "code"), None)


def has_cell(path: Path) -> bool:
    """Whether the notebook at ``path`` starts its code with :data:`CELL`."""
    cell = first_code_cell(json.loads(Path(path).read_text(encoding="utf-8")))
    return cell is not None and "".join(cell["source"]) == CELL


def write(path: Path) -> bool:
    """Make :data:`CELL` the notebook's first code cell; True when the file changed.

    A first code cell that is an earlier version of the set-up cell, or that only imports
    genre_lib and starts it, is replaced; any other first code cell is kept after the new one."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cell = first_code_cell(nb)
    if cell is not None and "".join(cell["source"]) == CELL:
        return False
    new = {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8], "metadata": {},
           "outputs": [], "source": CELL.splitlines(keepends=True)}
    cells = nb["cells"]
    old = "".join(cell["source"]).strip() if cell is not None else ""
    if old == "import genre_lib as gl\n\nsettings = gl.start()" or old.startswith(CELL.split("\n")[0][:12]):
        new["id"] = cell.get("id", new["id"])
        cells[cells.index(cell)] = new
    else:
        at = cells.index(cell) if cell is not None else len(cells)
        cells.insert(at, new)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m genre_lib.first_cell [NOTEBOOK ...]``: write the cell (default: notebooks/)."""
    args = argv if argv is not None else sys.argv[1:]
    paths = [Path(a) for a in args] or sorted(
        (Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for p in paths:
        if write(p):
            print(f"wrote the first cell into {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
