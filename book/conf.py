"""Sphinx configuration of the book (``make book``).

Sphinx never reads this folder directly: ``python -m genre_lib.book`` copies it into
``build/book/stage/`` beside the checked, executed chapters and the docs pages, then runs
``sphinx-build -W --keep-going`` there. Nothing is executed and nothing is downloaded.
"""
from genre_lib import __version__, book

project = "Music genre classification"
author = "the genre_lib curriculum contributors"
# the footer states both licences (LICENSE: code, MIT; LICENSE-content: text and figures, CC BY 4.0)
copyright = "2026, the genre_lib curriculum contributors. Code: MIT; text and figures: CC BY 4.0"
version = release = __version__

extensions = [
    "myst_nb",                  # the chapters (executed .ipynb) and the docs pages (.md)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",      # "Args:" / "Returns:" sections of some docstrings
    "sphinxcontrib.bibtex",
]
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "_templates"]
templates_path = ["_templates"]
root_doc = "index"

# -- notebooks and Markdown: render the stored outputs, never execute ------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3          # docs pages link to their own sections (#per-notebook-...)

# -- API reference ----------------------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False
# importing it runs the grading command line (sys.exit); mocked, autosummary leaves it out
autodoc_mock_imports = ["genre_lib.grading.__main__"]
# every object once, on the page of the module that defines it (a package's __all__ re-exports
# its submodules' names, which would document them twice)
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True,
                           "ignore-module-all": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# -- one bibliography: references.bib, labels are the keys the notebooks show ------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "keys"     # registered by genre_lib.book.setup_sphinx
bibtex_reference_style = "label"
# each chapter lists its own works again (a bibliography per chapter), so a key appears in
# several bibliographies by design
suppress_warnings = ["bibtex.duplicate_citation"]

# -- the page ---------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Music genre classification"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,  # the staged copies are not the course's notebooks
    "navigation_with_keys": False,
}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False          # the staged sources would double the size (audio inline)


def setup(app):
    return book.setup_sphinx(app)
