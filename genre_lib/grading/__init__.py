"""The nbgrader course built from the notebooks: student release, autograding, HTML pages.

Used by ``make student``, ``make autograde`` and ``make html`` (``python -m genre_lib.grading``);
``nbgrader_config.py`` at the repository root holds the configuration, and
docs/instructors.md describes the workflow. Each notebook ``notebooks/NN_topic.ipynb`` is one
assignment ``NN_topic``; the course lives under ``<work dir>/build/``::

    build/source/NN_topic/NN_topic.ipynb      instructor version (a copy of the notebook)
    build/release/NN_topic/NN_topic.ipynb     student version (make student)
    build/submitted/<student>/NN_topic/...    submissions to grade (make autograde)
    build/autograded/<student>/NN_topic/...   graded copies, executed
    build/gradebook.db                        nbgrader's database of cells and scores

The student version replaces every solution with a stub that sets the answer variables to
``None`` (:class:`StubAnswers`), so it runs top to bottom; the visible checks report "not
answered yet" and the hidden tests, restored at grading, fail and score zero.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from ..extras import require

require("grading", "genre_lib.grading (nbgrader release and autograde)")

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme

from ..config import get_settings
from .stubs import REGIONS, StubAnswers, answer_names, regions, stub_for

CONFIG_FILE = "nbgrader_config.py"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: text that must never reach a student
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


# -- which notebooks, which configuration ---------------------------------------------------------

def home() -> Path:
    return get_settings().home


def notebook_paths(only: list[str] | None = None, root: Path | None = None) -> list[Path]:
    """``notebooks/NN_*.ipynb`` in order; ``only`` keeps those whose name starts with or contains
    one of its entries (``["02", "03"]``)."""
    paths = sorted(((root or home()) / "notebooks").glob(NOTEBOOK_GLOB))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) or o in p.stem for o in only)]
    return paths


def load_config(course_root: Path | None = None):
    """The repository's ``nbgrader_config.py`` as a traitlets ``Config`` (``course_root``
    replaces its course folder, e.g. a temporary one in the tests).

    Loading it also sets the environment the grading kernels inherit (profile, log level).
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(home())).load_config()
    if course_root is not None:
        config.CourseDirectory.root = str(Path(course_root).resolve())
        config.CourseDirectory.db_url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    return config


def _show_nbgrader_log(level: int = logging.WARNING) -> None:
    """nbgrader logs through traitlets' logger, which prints nothing until it has a handler."""
    log = logging.getLogger("traitlets")
    if not any(getattr(h, "_genre_lib", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[nbgrader %(levelname)s] %(message)s"))
        handler._genre_lib = True
        log.addHandler(handler)
    log.setLevel(level)


def _coursedir(config):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config)


# -- make student ------------------------------------------------------------------------------------

def copy_sources(paths: list[Path], root: Path) -> list[str]:
    """Copy each notebook to ``source/<stem>/<stem>.ipynb``; returns the assignment ids."""
    ids = []
    for p in paths:
        dest = root / "source" / p.stem
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest / p.name)
        ids.append(p.stem)
    return ids


def release(only: list[str] | None = None, config=None, paths: list[Path] | None = None,
            verbose: bool = True) -> list[Path]:
    """Build the student version of each notebook with ``nbgrader generate_assignment``,
    check it for leaks (:func:`audit`), and return the released notebooks."""
    from nbgrader.converters import GenerateAssignment

    config = config if config is not None else load_config()
    _show_nbgrader_log()
    coursedir = _coursedir(config)
    root = Path(coursedir.root)
    paths = paths if paths is not None else notebook_paths(only)
    if not paths:
        raise SystemExit("no notebooks matched")
    released, problems = [], []
    for aid in copy_sources(paths, root):
        coursedir.assignment_id = aid
        shutil.rmtree(root / "release" / aid, ignore_errors=True)  # rebuilt from scratch
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force = True
        app.start()
        out = root / "release" / aid / f"{aid}.ipynb"
        found = audit(root / "source" / aid / f"{aid}.ipynb", out)
        problems += [f"{aid}: {p}" for p in found]
        released.append(out)
        if verbose:
            ex = exercise_table(nbformat.read(root / "source" / aid / f"{aid}.ipynb", as_version=4))
            auto = sum(e["points"] for e in ex if e["kind"] == "auto")
            manual = sum(e["points"] for e in ex if e["kind"] == "manual")
            print(f"{aid}: {out.relative_to(root.parent) if root.parent in out.parents else out}  "
                  f"({len(ex)} exercises: {auto:g} points auto-graded, {manual:g} graded by hand)"
                  + ("" if not found else "  LEAKS FOUND"))
    if problems:
        raise RuntimeError("the student version gives answers away:\n" + "\n".join(problems))
    return released


def audit(source_nb, release_nb) -> list[str]:
    """What a released notebook still gives away: solution or hidden-test markers, lines of a
    solution, hidden test or model answer, or outputs. Empty when it is clean."""
    src = nbformat.read(source_nb, as_version=4) if not hasattr(source_nb, "cells") else source_nb
    rel = nbformat.read(release_nb, as_version=4) if not hasattr(release_nb, "cells") else release_nb
    problems = []
    text = "\n".join(c.source for c in rel.cells)
    for marker in MARKERS:
        if marker in text:
            problems.append(f"marker {marker!r} left in")
    public, secret = set(), set()
    for c in src.cells:
        for kind in REGIONS:
            inside, outside = regions(c.source, kind)
            secret.update(ln.strip() for ln in inside)
            public.update(ln.strip() for ln in outside)
        if c.metadata.get("nbgrader", {}).get("solution") and not any(
                m in c.source for m in REGIONS["solution"]):
            secret.update(ln.strip() for ln in c.source.splitlines())
    secret = {s for s in secret - public if len(s) >= 8 and not s.startswith("#")}
    released_lines = {ln.strip() for c in rel.cells for ln in c.source.splitlines()}
    for line in sorted(secret & released_lines):
        problems.append(f"solution text left in: {line[:70]!r}")
    for i, c in enumerate(rel.cells):
        if c.cell_type == "code" and c.get("outputs"):
            problems.append(f"cell {i} has outputs")
    return problems


# -- exercises ----------------------------------------------------------------------------------------

def exercise_table(nb) -> list[dict]:
    """The graded cells of a notebook: id, kind (auto or manual), points, and the title of the
    nearest markdown heading above."""
    rows, heading = [], ""
    for c in nb.cells:
        if c.cell_type == "markdown":
            for ln in c.source.splitlines():
                if ln.startswith("#") and "SOLUTION" not in ln:
                    heading = ln.lstrip("#").strip()
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            kind = "manual" if meta.get("solution") or meta.get("task") else "auto"
            rows.append({"grade_id": meta.get("grade_id"), "kind": kind,
                         "points": float(meta.get("points", 0)), "title": heading})
    return rows


# -- make autograde -----------------------------------------------------------------------------------

def collect(from_dir: Path, root: Path) -> list[tuple[str, str]]:
    """Copy submissions laid out as ``<student>/<assignment>/*.ipynb`` into ``submitted/``."""
    from_dir = Path(from_dir)
    found = []
    for nb in sorted(from_dir.glob("*/*/*.ipynb")):
        student, aid = nb.parent.parent.name, nb.parent.name
        dest = root / "submitted" / student / aid
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nb, dest / nb.name)
        found.append((student, aid))
    if not found:
        raise SystemExit(f"no submissions under {from_dir} (expected <student>/<assignment>/*.ipynb)")
    return sorted(set(found))


def autograde(only: list[str] | None = None, students: list[str] | None = None, config=None,
              from_dir: Path | None = None, verbose: bool = True) -> list[dict]:
    """``nbgrader autograde`` every submission under ``submitted/`` (of the assignments in
    ``only`` and the ``students`` given, all by default); returns :func:`scores`."""
    from nbgrader.converters import Autograde

    config = config if config is not None else load_config()
    _show_nbgrader_log()
    coursedir = _coursedir(config)
    root = Path(coursedir.root)
    if from_dir is not None:
        collect(from_dir, root)
    wanted = {p.stem for p in notebook_paths(only)} if only else None
    pairs = []
    for folder in sorted((root / "submitted").glob("*/*")):
        student, aid = folder.parent.name, folder.name
        if (wanted is None or aid in wanted) and (not students or student in students):
            pairs.append((student, aid))
    if not pairs:
        raise SystemExit(f"nothing to grade under {root / 'submitted'} "
                         "(expected <student>/<assignment>/<notebook>.ipynb)")
    for student, aid in pairs:
        if not (root / "source" / aid).is_dir():
            raise SystemExit(f"{aid} has no source version: run `make student` first")
        coursedir.assignment_id, coursedir.student_id = aid, student
        app = Autograde(coursedir=coursedir, config=config)
        app.force = True
        app.create_student = True
        if verbose:
            print(f"grading {student} / {aid} ...", flush=True)
        app.start()
    rows = scores(config, pairs)
    if verbose:
        print_scores(rows)
    return rows


def scores(config, pairs=None) -> list[dict]:
    """One row per graded notebook: auto-graded points and their maximum, the points a person
    grades (written answers) and how many of those cells still wait, and every cell's score."""
    from nbgrader.api import Gradebook

    coursedir = _coursedir(config)
    rows = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for assignment in gb.assignments:
            for nb in assignment.notebooks:
                by_hand = {c.name for c in nb.solution_cells} | {c.name for c in nb.task_cells}
                for sub in nb.submissions:
                    student = sub.student.id
                    if pairs is not None and (student, assignment.name) not in pairs:
                        continue
                    row = {"student": student, "assignment": assignment.name, "notebook": nb.name,
                           "auto": 0.0, "auto_max": 0.0, "manual_max": 0.0, "manual_pending": 0,
                           "cells": {}}
                    for grade in sub.grades:
                        score = float(grade.score or 0.0)
                        row["cells"][grade.name] = score
                        if grade.name in by_hand:
                            row["manual_max"] += grade.max_score
                            row["manual_pending"] += int(bool(grade.needs_manual_grade))
                        else:
                            row["auto"] += score
                            row["auto_max"] += grade.max_score
                    rows.append(row)
    return sorted(rows, key=lambda r: (r["assignment"], r["student"]))


def print_scores(rows: list[dict]) -> None:
    if not rows:
        print("no graded submissions")
        return
    print(f"\n{'assignment':34s} {'student':14s} {'auto-graded':>12s} {'by hand (to do)':>16s}")
    for r in rows:
        print(f"{r['assignment']:34s} {r['student']:14s} {r['auto']:>5g} / {r['auto_max']:<5g} "
              f"{r['manual_max']:>7g} ({r['manual_pending']} cell{'s' if r['manual_pending'] != 1 else ''})")


# -- make html ----------------------------------------------------------------------------------------

def student_view(nb):
    """An executed notebook as a student may see it: solutions replaced by the stubs, hidden
    tests and model answers removed, and the outputs of exercise cells cleared."""
    import copy

    nb = copy.deepcopy(nb)
    keep = {i: c.get("outputs") for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    nb, _ = StubAnswers(enforce_metadata=False).preprocess(nb, {})
    nb, _ = ClearHiddenTests(enforce_metadata=False).preprocess(nb, {})
    nb, _ = ClearMarkScheme(enforce_metadata=False).preprocess(nb, {})
    for i, c in enumerate(nb.cells):
        meta = c.metadata.get("nbgrader", {})
        if c.cell_type != "code":
            continue
        if meta.get("solution") or meta.get("grade"):
            c.outputs, c.execution_count = [], None
        else:
            c.outputs = keep.get(i, c.get("outputs", []))
    return nb


def html(solutions: bool = False, verbose: bool = True, *, settings=None) -> list[Path]:
    """Export the executed notebooks of a full run (``build/<run name>/``, written by
    ``make run``) to HTML under ``build/html/<run name>/``, with an index page.

    By default the pages are the student view (:func:`student_view`), so they can be handed
    out; ``solutions=True`` renders the executed notebooks as they are.
    """
    from nbconvert import HTMLExporter

    settings = settings or get_settings()
    src = settings.build_dir / settings.run_name
    paths = sorted(src.glob(NOTEBOOK_GLOB))
    if not paths:
        raise SystemExit(f"no executed notebooks in {src}: run `make run` first "
                         f"(with the same GENRE_DATASET and GENRE_PROFILE)")
    out = settings.build_dir / "html" / settings.run_name
    if solutions:
        out = out / "solutions"
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    written = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if not solutions:
            nb = student_view(nb)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": p.stem}})
        target = out / f"{p.stem}.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
        if verbose:
            print(f"{p.name} -> {target}")
    links = "\n".join(f'<li><a href="{t.name}">{t.stem}</a></li>' for t in written)
    what = "with solutions" if solutions else "student view: exercise answers removed"
    (out / "index.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>{settings.run_name}</title>"
        f"<h1>Executed notebooks: {settings.run_name}</h1><p>{what}</p><ul>{links}</ul>\n",
        encoding="utf-8")
    return written


# -- command line ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_lib.grading", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="build the student versions into build/release/")
    p.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    p = sub.add_parser("autograde", help="grade the submissions under build/submitted/")
    p.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    p.add_argument("--from", dest="from_dir", type=Path,
                   help="first copy submissions from this folder (<student>/<assignment>/*.ipynb)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    sub.add_parser("scores", help="print the scores in the gradebook")
    p = sub.add_parser("html", help="export the executed notebooks of a run to build/html/")
    p.add_argument("--solutions", action="store_true", help="keep the solutions and checks' outputs")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(args.only or None)
    elif args.command == "autograde":
        autograde(args.only or None, students=args.student, from_dir=args.from_dir)
    elif args.command == "scores":
        print_scores(scores(load_config()))
    elif args.command == "html":
        html(solutions=args.solutions)
    return 0


__all__ = ["NOTEBOOK_GLOB", "REGIONS", "StubAnswers", "answer_names", "audit", "autograde",
           "exercise_table", "html", "load_config", "main", "regions", "release", "scores",
           "stub_for"]
