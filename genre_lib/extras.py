"""Optional parts of the package and the one line that names the missing extra.

``pip install genre_lib`` brings what notebooks 01-10 need. The rest comes with an extra:

===========  ==========================================================================
``serve``    notebook 12, ``python -m genre_lib serve``: FastAPI, uvicorn, httpx
``search``   notebook 11: Optuna
``course``   both of the above: everything the notebooks import (what a notebook's first cell
             installs on Colab)
``jupyter``  the course plus Jupyter and ``python -m genre_lib run``
``grading``  ``python -m genre_lib.grading``: nbgrader
``cluster``  feature extraction on a Dask cluster: ``distributed``
``book``     ``make book``: Sphinx, myst-nb, the book theme, the bibliography
``dev``      all of it, plus the test and lint tools
===========  ==========================================================================

:func:`require` is called where such a part is first used. Without the extra it raises
:class:`MissingExtra`, whose message is one line naming the extra and the command that installs
it; the command line prints just that line.

Notebook: every notebook's first code cell (it installs ``genre_lib[course]`` where missing).
"""
from __future__ import annotations

import importlib.util

# extra -> the modules it provides (import names)
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "multipart", "httpx"),
    "search": ("optuna",),
    "jupyter": ("nbclient", "nbformat", "ipykernel"),
    "grading": ("nbgrader", "nbconvert"),
    "cluster": ("distributed",),
    "book": ("sphinx", "myst_nb", "sphinx_book_theme", "sphinxcontrib.bibtex"),
}


class MissingExtra(ImportError):
    """An optional part of genre_lib was used without its extra installed."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    return [m for m in EXTRAS[extra] if not _installed(m)]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` when a module of ``extra`` is not installed; ``what`` names
    the part that needs it (``"notebook 12 and python -m genre_lib serve"``)."""
    lost = missing(extra)
    if lost:
        raise MissingExtra(f"{what} needs the optional '{extra}' dependencies ({', '.join(lost)} "
                           f"missing): python -m pip install \"genre_lib[{extra}]\"")
