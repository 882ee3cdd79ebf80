"""The published book: the executed notebooks, the docs pages and the API reference as one
static HTML site (``make book``, ``python -m genre_lib.book``).

The book never executes a notebook. It reads the executed copies that ``python -m genre_lib
run`` wrote under ``build/<run name>/`` (the run of the current settings: ``GENRE_DATASET``,
``GENRE_PROFILE``), and

1. checks each one: a chapter that was never executed, or one with an error output, stops the
   build with one line naming the notebook, the reason and the command that produces it;
2. stages a source tree under ``build/book/stage/``: the sources of ``book/`` (``conf.py``, the
   landing page, the API and bibliography pages, ``references.bib``), the chapters as students
   see them (:func:`genre_lib.grading.student_view`: solutions stubbed, hidden tests and
   model answers removed; ``--solutions`` keeps them), ``docs/*.md`` with their images, and
   a learning path (chapters in order, what each builds on, its time from
   ``docs/instructors.md``) written into the landing page;
3. runs ``sphinx-build -W --keep-going`` (myst-nb with execution off) into ``build/book/html/``,
   so a broken link, a missing citation or an unresolved reference fails the build.

References. Each notebook ends with a "References" section of bullets that start with a key
of ``book/references.bib`` (``- [tzanetakis2002musical] Tzanetakis, G. and Cook, P. (2002)
...``): plain Jupyter and Colab show the bullets as written; the book replaces them with a
bibliography of those keys, formatted from the one ``.bib`` (:func:`cite_references`).
``Notebook:`` lines of docstrings become links to their chapters (:func:`link_docstring`).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
DOCS_GLOB = "*.md"
#: "## References" or "### References", alone on its line, in a Markdown cell
REFERENCES = re.compile(r"^(#{2,3})\s+References\s*$", re.M)
#: a References bullet that starts with a key: "- [key] text" or "* [key] text"
KEYED_BULLET = re.compile(r"^[-*]\s+\[([A-Za-z][\w:-]*)\]\s+", re.M)
BIB_KEY = re.compile(r"^@\w+\s*\{\s*([^,\s]+)\s*,", re.M)
TIMES_HEADING = "### Time on 2 CPU cores"


class BookError(Exception):
    """A reason the book cannot be built, in one line for a person."""


# -- the chapters and their executed copies -------------------------------------------------------

def chapter_paths(home: Path) -> list[Path]:
    """``notebooks/NN_*.ipynb`` in order: every one is a chapter."""
    return sorted((home / "notebooks").glob(NOTEBOOK_GLOB))


def _run_hint(path: Path) -> str:
    return f"produce it with `python -m genre_lib run {path.name[:2]}`"


def check_executed(source: Path, run_dir: Path):
    """The executed copy of notebook ``source`` from ``run_dir``, as an nbformat node.

    Raises :class:`BookError` naming the notebook when the copy is missing, was never
    executed, or holds an error output.
    """
    import nbformat

    executed = run_dir / source.name
    if not executed.is_file():
        raise BookError(f"{source.name}: not executed (no {executed}); {_run_hint(source)}")
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception as exc:  # unreadable JSON, wrong format
        raise BookError(f"{source.name}: cannot read {executed} ({type(exc).__name__}: {exc}); "
                        f"{_run_hint(source)}") from exc
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and not any(c.get("execution_count") or c.get("outputs") for c in code):
        raise BookError(f"{source.name}: {executed} has no executed cell; {_run_hint(source)}")
    for number, cell in enumerate(nb.cells, 1):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type == "code" and errors:
            what = f"{errors[0].get('ename', 'Error')}: {errors[0].get('evalue', '')}".strip(" :")
            raise BookError(f"{source.name}: cell {number} failed in {executed} ({what}); "
                            f"fix it, then {_run_hint(source)}")
    unrun = [n for n, c in enumerate(nb.cells, 1)
             if c.cell_type == "code" and c.source.strip() and not c.get("execution_count")]
    if unrun:
        raise BookError(f"{source.name}: execution stopped before cell {unrun[0]} in {executed} "
                        f"(a timeout or a dead kernel?); {_run_hint(source)}")
    return nb


def is_stale(source_nb, executed_nb) -> bool:
    """Whether the cells' sources differ: the notebook changed after it was executed."""
    def sources(nb):
        return [(c.cell_type, c.source) for c in nb.cells]

    return sources(source_nb) != sources(executed_nb)


# -- references -------------------------------------------------------------------------------------

def references_section(markdown: str) -> tuple[int, int] | None:
    """(start, end) of the References section's body in one Markdown cell: from the end of the
    heading to the next heading of the same or a higher level, or the end of the cell."""
    head = REFERENCES.search(markdown)
    if head is None:
        return None
    level = len(head.group(1))
    nxt = re.compile(rf"^#{{1,{level}}}\s", re.M).search(markdown, head.end())
    return head.end(), nxt.start() if nxt else len(markdown)


def reference_keys(markdown: str) -> list[str]:
    """The keys of the keyed bullets of a cell's References section, in order."""
    span = references_section(markdown)
    return KEYED_BULLET.findall(markdown[span[0]:span[1]]) if span else []


def notebook_reference_keys(paths) -> dict[str, list[str]]:
    """Every key the notebooks' References sections use -> the notebooks that use it."""
    used: dict[str, list[str]] = {}
    for path in paths:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "markdown":
                for key in reference_keys("".join(cell["source"])):
                    used.setdefault(key, []).append(Path(path).name)
    return used


def unkeyed_bullets(markdown: str) -> list[str]:
    """The first line of every References bullet that does not start with a key."""
    span = references_section(markdown)
    if not span:
        return []
    return [line for line in markdown[span[0]:span[1]].splitlines()
            if re.match(r"[-*]\s", line) and not KEYED_BULLET.match(line)]


def bib_keys(bib: Path) -> list[str]:
    """The entry keys of a BibTeX file, in order."""
    return BIB_KEY.findall(bib.read_text(encoding="utf-8"))


def cite_references(markdown: str) -> str:
    """The cell with its keyed References bullets replaced by a bibliography of those keys
    (sphinxcontrib-bibtex, formatted from the ``.bib``); bullets without a key stay."""
    span = references_section(markdown)
    if span is None:
        return markdown
    body = markdown[span[0]:span[1]]
    keys = KEYED_BULLET.findall(body)
    if not keys:
        return markdown
    items = re.split(r"(?m)^(?=[-*]\s)", body)
    kept = [items[0].strip()] + [it for it in items[1:] if not KEYED_BULLET.match(it)]
    chosen = ", ".join(json.dumps(k) for k in dict.fromkeys(keys))
    block = f"```{{bibliography}}\n:filter: key in {{{chosen}}}\n```\n"
    lead, rest = kept[0], "".join(kept[1:]).strip()
    new_body = "\n\n" + (f"{lead}\n\n" if lead else "") + block + (f"\n{rest}\n" if rest else "")
    tail = markdown[span[1]:]
    return markdown[:span[0]] + new_body + ("\n" + tail if tail else "")


# -- links to the chapters --------------------------------------------------------------------------

def link_notebook_mentions(markdown: str, chapters: set[str], prefix: str) -> str:
    """Inline code spans naming a chapter (`` `04_cnn.ipynb` ``) become links to it, outside
    fenced code blocks; ``prefix`` is the path from the page to the chapters' folder."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced:
            line = re.sub(r"(?<!\[)`(\d\d_[a-z0-9_]+)\.ipynb`(?!\])",
                          lambda m: (f"[`{m.group(1)}.ipynb`]({prefix}{m.group(1)}.ipynb)"
                                     if m.group(1) in chapters else m.group(0)), line)
        out.append(line)
    return "\n".join(out)


def link_docstring(lines: list[str], chapters: set[str], docs: set[str] = frozenset()) -> list[str]:
    """Rewrite the ``Notebook:`` paragraphs of a docstring (a list of lines, changed in place
    and returned) so that chapter names (``04_cnn.ipynb``, ``04_cnn``) become ``:doc:`` links
    to the chapter, ``docs/NAME.md`` a link to that page, and "every notebook" a link to the
    learning path. Raises :class:`BookError` for a chapter name that is not a chapter."""
    inside = False
    for i, line in enumerate(lines):
        if line.strip().startswith("Notebook:"):
            inside = True
        elif not line.strip():
            inside = False
        if not inside:
            continue

        def chapter(m):
            stem = m.group(2)
            if stem not in chapters:
                raise BookError(f"'Notebook:' names {stem}, which is not a chapter "
                                f"(notebooks/{stem}.ipynb does not exist)")
            return f":doc:`{stem}.ipynb </notebooks/{stem}>`"

        line = re.sub(r"(``)?\b((?<!/)\d\d_[a-z0-9_]+?)(?:\.ipynb)?\b(?(1)``)", chapter, line)
        line = re.sub(r"(``)?\bdocs/([\w-]+)\.md(?(1)``)",
                      lambda m: (f":doc:`docs/{m.group(2)}.md </docs/{m.group(2)}>`"
                                 if not docs or m.group(2) in docs else m.group(0)), line)
        line = re.sub(r"\bevery notebook('s)?", lambda m: f":ref:`{m.group(0)} <learning-path>`",
                      line)
        lines[i] = line
    return lines


# -- the landing page's learning path ---------------------------------------------------------------

def chapter_summary(nb) -> tuple[str, str]:
    """(title, the "Builds on" paragraph) from a notebook's opening Markdown cells."""
    md = "\n\n".join(c.source for c in nb.cells[:4] if c.cell_type == "markdown")
    title = re.search(r"^#\s+(.*)$", md, re.M)
    title = re.sub(r"^\d\d\s*[·:.-]?\s*", "", title.group(1).strip()) if title else ""
    builds = re.search(r"\*\*Builds on.*?(?=\n\s*\n|\Z)", md, re.S)
    return title, " ".join(builds.group(0).split()) if builds else ""


def builds_on(paragraph: str, number: int) -> list[int]:
    """Chapter numbers (below ``number``) named in a "Builds on" paragraph: ``04_cnn.ipynb``,
    ``02``, ``04-06`` and ``04_cnn.ipynb`` to ``06_...ipynb``."""
    text = re.sub(r"`(\d\d)_[a-z0-9_]+\.ipynb`", r"\1", paragraph)
    found: set[int] = set()
    for a, b in re.findall(r"\b(\d\d)\s*(?:-|–|to)\s*(\d\d)\b", text):
        found.update(range(int(a), int(b) + 1))
    found.update(int(n) for n in re.findall(r"\b(\d\d)\b", text))
    return sorted(n for n in found if 0 < n < number)


def instructor_times(path: Path) -> dict[str, tuple[str, str]]:
    """Notebook stem -> (ci seconds, full seconds) from the table under "Time on 2 CPU cores"
    in ``docs/instructors.md``."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    at = text.find(TIMES_HEADING)
    if at < 0:
        raise BookError(f"{path} has no '{TIMES_HEADING}' section: the landing page takes the "
                        f"chapters' times from its table")
    times = {}
    for line in text[at:].split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d\d_[a-z0-9_]+", cells[0]):
            times[cells[0]] = (cells[1], cells[2])
    return times


def learning_path(chapters: list[tuple[str, object]], times: dict[str, tuple[str, str]]) -> str:
    """The landing page's table: each chapter in order with its title (the one line that says
    what it does), what it builds on and its measured times; ``chapters`` holds (stem,
    notebook) pairs."""
    stems = {int(stem[:2]): stem for stem, _ in chapters}
    rows = ["| chapter | builds on | `ci` (s) | `full` (s) |", "|---|---|---|---|"]
    for stem, nb in chapters:
        title, paragraph = chapter_summary(nb)
        before = [f"[{n:02d}](notebooks/{stems[n]}.ipynb)" for n in builds_on(paragraph, int(stem[:2]))
                  if n in stems]
        ci, full = times.get(stem, ("not measured", "not measured"))
        title = re.sub(r"[|\[\]]", " ", title).strip()
        rows.append(f"| [{stem[:2]} · {title}](notebooks/{stem}.ipynb) | "
                    f"{', '.join(before) or 'the start'} | {ci} | {full} |")
    return "\n".join(rows)


# -- staging and building ------------------------------------------------------------------------------

def _prepare_notebook(nb, chapters: set[str], solutions: bool):
    """A chapter as the book shows it: the student view, progress-bar widgets dropped (their
    stored text is the bar at 0 %), References as a bibliography, chapter names as links."""
    if not solutions:
        from .grading import student_view

        nb = student_view(nb)
    nb.metadata.pop("widgets", None)
    widget = "application/vnd.jupyter.widget-view+json"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if widget not in o.get("data", {})]
        elif cell.cell_type == "markdown":
            cell.source = link_notebook_mentions(cite_references(cell.source), chapters, "")
    return nb


def stage(solutions: bool = False, out: Path | None = None, *, settings=None) -> tuple[Path, list[str]]:
    """Check the executed chapters and lay out the book's sources; returns (the staging
    folder, notes for the person building). Raises :class:`BookError` on the first problem."""
    import nbformat

    from .config import get_settings

    settings = settings or get_settings()
    home, run_dir = settings.home, settings.build_dir / settings.run_name
    out = out or settings.build_dir / "book" / "stage"
    if not (home / "book" / "conf.py").is_file():
        raise BookError(f"no book/conf.py under {home}: the book is built from a checkout of the "
                        f"repository")
    sources = chapter_paths(home)
    if not sources:
        raise BookError(f"no notebooks/{NOTEBOOK_GLOB} under {home}")
    executed = [(p, check_executed(p, run_dir)) for p in sources]  # every check before any copy
    notes = [f"{p.name}: changed after it was executed; `python -m genre_lib run {p.name[:2]}` "
             f"refreshes its chapter"
             for p, nb in executed if is_stale(nbformat.read(p, as_version=4), nb)]
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(home / "book", out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    stems = {p.stem for p in sources}
    (out / "notebooks").mkdir()
    for path, nb in executed:
        nbformat.write(_prepare_notebook(nb, stems, solutions), out / "notebooks" / path.name)
    (out / "docs").mkdir()
    for page in sorted((home / "docs").glob(DOCS_GLOB)):
        text = link_notebook_mentions(page.read_text(encoding="utf-8"), stems, "../notebooks/")
        (out / "docs" / page.name).write_text(text, encoding="utf-8")
    if (home / "docs" / "img").is_dir():
        shutil.copytree(home / "docs" / "img", out / "docs" / "img")
    table = learning_path([(p.stem, nb) for p, nb in executed],
                          instructor_times(home / "docs" / "instructors.md"))
    index = out / "index.md"
    text = index.read_text(encoding="utf-8")
    marker = "% learning-path"
    if marker not in text:
        raise BookError(f"{home / 'book' / 'index.md'} lacks the line '{marker}' where the "
                        f"learning path goes")
    what = "the student view: exercise answers removed" if not solutions else "with the solutions"
    text = text.replace(marker, table).replace(
        "% run-name", f"These pages show the run `{settings.run_name}` ({what}).")
    index.write_text(text, encoding="utf-8")
    return out, notes


def sphinx_command(src: Path, html: Path, doctrees: Path) -> list[str]:
    return [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
            "-d", str(doctrees), str(src), str(html)]


def build(solutions: bool = False, *, settings=None) -> Path:
    """Stage the book and run Sphinx; returns the HTML folder. Raises :class:`BookError`."""
    from .config import get_settings

    settings = settings or get_settings()
    import importlib.util

    lacking = [m for m in ("sphinx", "myst_nb", "sphinx_book_theme", "sphinxcontrib.bibtex")
               if importlib.util.find_spec(m) is None]
    if lacking:
        raise BookError(f"{', '.join(lacking)} not installed: pip install -e '.[book]'")
    root = settings.build_dir / "book"
    src, notes = stage(solutions=solutions, settings=settings)
    for note in notes:
        print(f"note: {note}")
    html = root / "html"
    if html.exists():
        shutil.rmtree(html)
    env_note = f"(chapters from {settings.build_dir / settings.run_name})"
    print(f"building the book {env_note} ...", flush=True)
    done = subprocess.run(sphinx_command(src, html, root / "doctrees"))
    if done.returncode != 0:
        raise BookError(f"sphinx-build failed (exit {done.returncode}): the warnings above name "
                        f"each problem, in the staged sources under {src}")
    return html


# -- Sphinx hooks (book/conf.py calls setup_sphinx) ---------------------------------------------------

def _key_style():
    """A pybtex style, 'plain' sorted, whose labels are the entries' keys: the same
    ``[key]`` a reader sees in the notebooks."""
    from pybtex.style.formatting.plain import Style
    from pybtex.style.labels import BaseLabelStyle

    class KeyLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield entry.key

    class KeyStyle(Style):
        default_label_style = KeyLabels

    return KeyStyle


def setup_sphinx(app) -> dict:
    """Register the key-labelled bibliography style (``bibtex_default_style = "keys"``) and
    the docstring hook that links ``Notebook:`` lines to their chapters."""
    from pybtex.plugin import register_plugin
    from sphinx.util import logging

    register_plugin("pybtex.style.formatting", "keys", _key_style(), force=True)
    log = logging.getLogger("genre_lib.book")
    src = Path(app.srcdir)
    chapters = {p.stem for p in (src / "notebooks").glob("[0-9][0-9]_*")}
    docs = {p.stem for p in (src / "docs").glob(DOCS_GLOB)}

    def on_docstring(app, what, name, obj, options, lines):
        try:
            link_docstring(lines, chapters, docs)
        except BookError as exc:
            log.warning(f"{name}: {exc}")

    app.connect("autodoc-process-docstring", on_docstring)
    return {"parallel_read_safe": True}


# -- command line -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_lib.book", description=__doc__.split("\n")[0])
    parser.add_argument("--solutions", action="store_true",
                        help="keep the exercise solutions and model answers (the teaching team's book)")
    parser.add_argument("--stage-only", action="store_true",
                        help="check the chapters and stage the sources, without running Sphinx")
    args = parser.parse_args(argv)
    from .config import get_settings

    settings = get_settings()
    started = time.perf_counter()
    try:
        if args.stage_only:
            src, notes = stage(solutions=args.solutions, settings=settings)
            for note in notes:
                print(f"note: {note}")
            print(f"staged the book's sources in {src}")
            return 0
        html = build(solutions=args.solutions, settings=settings)
    except BookError as exc:
        print(f"book: {exc}", file=sys.stderr)
        return 1
    print(f"book built in {time.perf_counter() - started:.0f} s: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
