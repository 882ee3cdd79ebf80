"""The book's staging step (genre_lib.book) on tiny fake notebooks, the ``Notebook:`` links of
the API reference, and the one bibliography: every key the notebooks' References sections use
is in ``book/references.bib``, and every entry there is used. No Sphinx run here (``make book``
does that); all of this takes about a second."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from genre_lib import book

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob(book.NOTEBOOK_GLOB))
BIB = ROOT / "book" / "references.bib"


# -- tiny fake checkouts ------------------------------------------------------------------------------

def _notebook(title: str, builds_on: str = "", refs: str = "", error: bool = False, run: bool = True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n**Builds on** {builds_on or 'nothing'}.\n"),
                nbformat.v4.new_code_cell("x = 1\nprint(x)")]
    if run:
        nb.cells[1].execution_count = 1
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    if error:
        nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape",
                                                      traceback=[])]
    if refs:
        nb.cells.append(nbformat.v4.new_markdown_cell("## Summary\n\nDone.\n\n## References\n\n" + refs))
    return nb


@pytest.fixture
def checkout(tmp_path):
    """A checkout with two notebooks, book/ and docs/, and a work dir whose run holds both."""
    home, work = tmp_path / "home", tmp_path / "work"
    for folder in ("notebooks", "book", "docs", "work/build/tiny"):
        (tmp_path / ("" if folder.startswith("work") else "home") / folder).mkdir(parents=True)
    (home / "book" / "index.md").write_text("# Book\n\n% run-name\n\n% learning-path\n")
    (home / "book" / "conf.py").write_text("")
    (home / "docs" / "instructors.md").write_text(
        "# Notes\n\nSee `02_b.ipynb`.\n\n### Time on 2 CPU cores\n\n| notebook | ci | full | how |\n"
        "|---|---|---|---|\n| 01_a | 5 | 50 | today |\n| 02_b | 7 | 70 | today |\n\n## Next\n")
    notebooks = {"01_a": _notebook("01 · First steps", refs="- [k1] One (2001). *A*.\n"),
                 "02_b": _notebook("02 · Second steps", "`01_a.ipynb` (the basics)",
                                   "- [k1] One (2001). *A*.\n- [k2] Two (2002). *B*,\n  continued.\n")}
    for stem, nb in notebooks.items():
        source = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in nb.cells])
        for c in source.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
        nbformat.write(source, home / "notebooks" / f"{stem}.ipynb")
        nbformat.write(nb, work / "build" / "tiny" / f"{stem}.ipynb")
    return SimpleNamespace(home=home, build_dir=work / "build", run_name="tiny")


def test_stage_lays_out_the_book(checkout):
    out, notes = book.stage(settings=checkout)
    assert notes == []
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    index = (out / "index.md").read_text()
    assert "| [02 · Second steps](notebooks/02_b.ipynb) | [01](notebooks/01_a.ipynb) | 7 | 70 |" in index
    assert "| [01 · First steps](notebooks/01_a.ipynb) | the start | 5 | 50 |" in index
    assert "run `tiny`" in index and "% learning-path" not in index
    last = nbformat.read(out / "notebooks" / "02_b.ipynb", as_version=4).cells[-1].source
    assert '```{bibliography}\n:filter: key in {"k1", "k2"}\n```' in last and "[k2]" not in last
    assert last.startswith("## Summary\n\nDone.\n\n## References")
    first = nbformat.read(out / "notebooks" / "02_b.ipynb", as_version=4).cells[0].source
    assert "[`01_a.ipynb`](01_a.ipynb)" in first
    assert "[`02_b.ipynb`](../notebooks/02_b.ipynb)" in (out / "docs" / "instructors.md").read_text()


def test_a_missing_notebook_is_named_with_the_command_that_makes_it(checkout):
    (checkout.build_dir / "tiny" / "02_b.ipynb").unlink()
    with pytest.raises(book.BookError) as err:
        book.stage(settings=checkout)
    message = str(err.value)
    assert message.startswith("02_b.ipynb: not executed") and "python -m genre_lib run 02" in message
    assert "\n" not in message


def test_an_errored_notebook_is_named_with_its_error(checkout):
    nbformat.write(_notebook("01 · First steps", error=True), checkout.build_dir / "tiny" / "01_a.ipynb")
    with pytest.raises(book.BookError) as err:
        book.stage(settings=checkout)
    message = str(err.value)
    assert message.startswith("01_a.ipynb: cell 2 failed") and "ValueError: bad shape" in message
    assert "python -m genre_lib run 01" in message and "\n" not in message


def test_a_notebook_never_run_or_stopped_early_is_reported(checkout, tmp_path):
    nbformat.write(_notebook("01 · First steps", run=False), checkout.build_dir / "tiny" / "01_a.ipynb")
    with pytest.raises(book.BookError, match=r"^01_a\.ipynb: .* has no executed cell"):
        book.stage(settings=checkout)
    stopped = _notebook("01 · First steps")
    stopped.cells.append(nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(stopped, checkout.build_dir / "tiny" / "01_a.ipynb")
    with pytest.raises(book.BookError, match=r"^01_a\.ipynb: execution stopped before cell 3"):
        book.stage(settings=checkout)


def test_a_notebook_changed_after_its_run_gives_a_note(checkout):
    path = checkout.home / "notebooks" / "01_a.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\nA new sentence.\n"
    nbformat.write(nb, path)
    _, notes = book.stage(settings=checkout)
    assert len(notes) == 1 and notes[0].startswith("01_a.ipynb: changed after it was executed")


def test_main_prints_one_line_and_fails(checkout, monkeypatch, capsys):
    (checkout.build_dir / "tiny" / "01_a.ipynb").unlink()
    monkeypatch.setattr("genre_lib.config.get_settings", lambda: checkout)
    assert book.main(["--stage-only"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("book: 01_a.ipynb: not executed") and len(err.splitlines()) == 1


# -- Notebook: lines become links ----------------------------------------------------------------------

CHAPTERS = {"01_eda", "04_cnn", "05_crnn"}


def test_notebook_lines_link_to_their_chapters():
    lines = ["Cut chunks.", "", "Notebook: 04_cnn.ipynb (training loop), 05_crnn.ipynb,",
             "    and ``01_eda``; docs/extending.md and ``docs/datasets.md``.", "", "Not 04_cnn.ipynb here."]
    out = book.link_docstring(list(lines), CHAPTERS, {"extending", "datasets"})
    assert out[2] == ("Notebook: :doc:`04_cnn.ipynb </notebooks/04_cnn>` (training loop), "
                      ":doc:`05_crnn.ipynb </notebooks/05_crnn>`,")
    assert out[3] == ("    and :doc:`01_eda.ipynb </notebooks/01_eda>`; :doc:`docs/extending.md "
                      "</docs/extending>` and :doc:`docs/datasets.md </docs/datasets>`.")
    assert out[5] == lines[5] and out[0] == lines[0]
    every = book.link_docstring(["Notebook: every notebook's first code cell (``gl.start()``)."], CHAPTERS)
    assert every == ["Notebook: :ref:`every notebook's <learning-path>` first code cell (``gl.start()``)."]


def test_a_notebook_line_naming_no_chapter_is_an_error():
    with pytest.raises(book.BookError, match="13_gan"):
        book.link_docstring(["Notebook: 13_gan.ipynb."], CHAPTERS)


def test_every_notebook_line_of_the_package_names_a_chapter():
    """What the book's autodoc hook would reject, found without Sphinx."""
    import genre_lib

    chapters = {p.stem for p in NOTEBOOKS}
    docs = {p.stem for p in (ROOT / "docs").glob("*.md")}
    bad = []
    for path in sorted(Path(inspect.getfile(genre_lib)).parent.rglob("*.py")):
        try:
            book.link_docstring(path.read_text(encoding="utf-8").splitlines(), chapters, docs)
        except book.BookError as exc:
            bad.append(f"{path.name}: {exc}")
    assert not bad, "\n".join(bad)


def test_builds_on_reads_names_numbers_and_ranges():
    assert book.builds_on("**Builds on** 02 (tags), 04-06 (models); top-10 tags", 9) == [2, 4, 5, 6]
    assert book.builds_on("**Builds on** `04_cnn.ipynb` to `06_x.ipynb`, not notebook 12", 10) == [4, 5, 6]
    assert book.builds_on("**Builds on:** nothing; this is the first notebook.", 1) == []


# -- the one bibliography ------------------------------------------------------------------------------

def test_every_reference_key_is_in_the_bib_and_every_entry_is_cited():
    keys = book.bib_keys(BIB)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"
    used = book.notebook_reference_keys(NOTEBOOKS)
    missing = {k: v for k, v in used.items() if k not in keys}
    assert not missing, f"keys used in notebooks but not in {BIB.name}: {missing}"
    uncited = sorted(set(keys) - set(used))
    assert not uncited, f"entries of {BIB.name} that no notebook cites: {uncited}"


def test_every_notebook_has_references_and_every_bullet_a_key():
    for path in NOTEBOOKS:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
        sections = [c.source for c in cells if book.references_section(c.source)]
        assert sections, f"{path.name} has no References section"
        loose = [b for s in sections for b in book.unkeyed_bullets(s)]
        assert not loose, f"{path.name}: References bullets without a [key]: {loose}"


def test_each_bullet_names_the_first_author_and_year_of_its_entry():
    """The notebooks' readable bullets and the .bib say the same work."""
    pybtex = pytest.importorskip("pybtex.database")
    entries = pybtex.parse_file(str(BIB)).entries
    wrong = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            span = book.references_section(cell.source) if cell.cell_type == "markdown" else None
            if not span:
                continue
            for bullet in re.split(r"(?m)^(?=[-*]\s)", cell.source[span[0]:span[1]])[1:]:
                key = book.KEYED_BULLET.match(bullet).group(1)
                entry, text = entries[key], " ".join(bullet.split())
                surname = " ".join(entry.persons["author"][0].last_names).strip("{}")
                year = entry.fields.get("year", "")
                if surname not in text or year not in text:
                    wrong.append(f"{path.name} [{key}]: expected {surname!r} and {year!r}")
    assert not wrong, "\n".join(wrong)


def test_cite_references_keeps_bullets_without_a_key_and_the_text_around():
    cell = "## References\n\nSources:\n\n- [a] A.\n- B, no key.\n- [b] C,\n  more.\n\n## After\n\nx"
    out = book.cite_references(cell)
    assert '```{bibliography}\n:filter: key in {"a", "b"}\n```' in out
    assert "Sources:" in out and "- B, no key." in out and "[a]" not in out and "more." not in out
    assert out.endswith("## After\n\nx")
    assert book.cite_references("## Summary\n\nNo references.") == "## Summary\n\nNo references."
