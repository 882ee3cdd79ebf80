"""Every package function or class a notebook calls says which notebook teaches it, as libfmp's
docstrings do ("Notebook: 03_baseline_mfcc_svm.ipynb"), so a reader of the code finds the
lesson and a reader of the lesson finds the code; and every notebook a "Notebook:" line names
really uses what the docstring documents.

The rule for the second check (:func:`uses`), applied to every docstring of genre_lib: the
module's, each top-level function's and class's, and each method's (and property's):

* A "Notebook:" paragraph is a docstring line that starts with ``Notebook:`` plus the lines
  after it up to a blank line: the paragraph genre_lib.book turns into links. "Notebook:" in
  the middle of a line is an error (the book would not link it).
* The chapters it names are read as the book reads them, ``NN_topic`` or ``NN_topic.ipynb``,
  plus bare chapter numbers: ``07``, ranges ``04-06`` and ``02 to 08``.
* Each chapter named must use the object in its code cells (comments removed):
  - a function or class: through a module that holds it, as ``gl.mod.name``,
    ``genre_lib.mod.name`` or ``mod.name`` (``mod`` imported from genre_lib; ``mod`` may be a
    dotted path such as ``models.crnn``), or ``gl.name`` at the front door, or imported by
    name (``from genre_lib.mod import name``). A module holds a name when it defines it or
    binds the very same object (a re-export at a package's front door), so ``models.load(``
    counts for ``models.trained.load`` while
    ``keras.saving.load_model`` counts for nothing of genre_lib;
  - a method or property: ``.name`` after anything (a notebook's variables have no types
    to check);
  - a module: the module itself (``gl.mod.``, ``mod.`` after importing it, or its import), or
    anything it defines, by the two rules above.
  Calling, passing (``inspect.getsource(gl.analysis.block_mean)``) and importing count;
  a mention in Markdown or in a comment does not.
* Exempt, as the book allows them: "every notebook..." (the first code cell, the exercises)
  and ``docs/NAME.md`` pages. A paragraph that begins with "none" ("Notebook: none directly;
  used by :func:`projections`.") claims no chapter and must name none. A paragraph that names
  no chapter, "none", "every notebook" or a docs page says nothing and is an error.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import io
import json
import re
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MODULES = ("analysis", "audio", "baselines", "datasets", "embeddings", "evaluation", "exercises",
           "features", "interpret", "models", "plotting", "tagging", "training", "pipeline",
           "musicnn", "search", "serve")
CALL = re.compile(r"\b(?:gl\.)?(" + "|".join(MODULES) + r")\.([A-Za-z]\w*)\s*\(")


def calls_by_notebook() -> dict[tuple[str, str], set[str]]:
    used = defaultdict(set)
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for module, name in CALL.findall(code):
            used[module, name].add(path.name)
    return used


def test_functions_the_notebooks_call_link_back_to_them():
    missing = []
    for (module, name), notebooks in sorted(calls_by_notebook().items()):
        obj = getattr(importlib.import_module(f"genre_lib.{module}"), name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if "Notebook:" not in doc:
            missing.append(f"{module}.{name} (called in {', '.join(sorted(notebooks))})")
    assert not missing, "docstrings without a 'Notebook:' back-link:\n" + "\n".join(missing)



# -- every notebook a "Notebook:" line names uses the object (the rule: the module docstring) ----

CHAPTER = re.compile(r"(?<![/\w])(\d\d)_[a-z0-9_]+?(?:\.ipynb)?\b")   # as genre_lib.book reads them
NUMBER_RANGE = re.compile(r"\b(\d\d)\s*(?:-|–|to)\s*(\d\d)\b")
DOCS_PAGE = re.compile(r"\bdocs/[\w-]+\.md")
CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)+)")
FROM_IMPORT = re.compile(r"^\s*from\s+(genre_lib(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]*)", re.M)
IMPORT_AS = re.compile(r"^\s*import\s+(genre_lib(?:\.\w+)*)(?:\s+as\s+(\w+))?\s*$", re.M)


@functools.cache
def package_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of genre_lib (``genre_lib.datasets`` for its
    ``__init__.py``)."""
    out = {}
    for path in sorted((ROOT / "genre_lib").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def documented() -> list[dict]:
    """Every docstring of genre_lib with its object: kind ("module", "function", "class" or
    "method"), the module that defines it, its name, the file and line."""
    found = []
    for module, path in package_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        found.append(dict(kind="module", module=module, name=module.rsplit(".", 1)[-1],
                          doc=ast.get_docstring(tree) or "", where=f"{where}:1", title=module))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                found.append(dict(kind=kind, module=module, name=node.name,
                                  doc=ast.get_docstring(node) or "", where=f"{where}:{node.lineno}",
                                  title=f"{module}.{node.name}"))
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found.append(dict(kind="method", module=module, name=sub.name,
                                          doc=ast.get_docstring(sub) or "",
                                          where=f"{where}:{sub.lineno}",
                                          title=f"{module}.{node.name}.{sub.name}"))
    return found


def notebook_paragraphs(doc: str) -> list[str]:
    """The text of each "Notebook:" paragraph of a docstring (after the colon, lines joined)."""
    paragraphs, current = [], None
    for line in doc.splitlines():
        text = line.strip()
        if text.startswith("Notebook:"):
            current = [text[len("Notebook:"):].strip()]
            paragraphs.append(current)
        elif not text:
            current = None
        elif current is not None:
            current.append(text)
    return [" ".join(p).strip() for p in paragraphs]


def chapters_named(paragraph: str, numbers: set[str]) -> set[str]:
    """The chapter numbers a paragraph names: ``NN_topic[.ipynb]``, and bare chapter numbers
    (``07``, ``04-06``, ``02 to 08``; a number that is no chapter is not read as one)."""
    named = set(CHAPTER.findall(paragraph))
    rest = DOCS_PAGE.sub(" ", CHAPTER.sub(" ", paragraph))
    for a, b in NUMBER_RANGE.findall(rest):
        named.update(f"{n:02d}" for n in range(int(a), int(b) + 1))
    named.update(n for n in re.findall(r"\b(\d\d)\b", NUMBER_RANGE.sub(" ", rest)) if n in numbers)
    return named


def code_without_comments(source: str) -> str:
    """A code cell's source without its comments, its string literals (emptied; f-strings
    are kept, for the expressions in them) and IPython ``%``/``!`` lines."""
    source = "\n".join(line for line in source.splitlines()
                       if not line.lstrip().startswith(("%", "!")))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    lines = source.splitlines(keepends=True)
    for tok in reversed(tokens):   # from the end, so the positions still to come stay valid
        prefix = re.match(r"[A-Za-z]*", tok.string).group().lower()
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and "f" not in prefix):
            (r1, c1), (r2, c2) = tok.start, tok.end
            blank = "" if tok.type == tokenize.COMMENT else '""'
            lines[r1 - 1] = lines[r1 - 1][:c1] + blank + lines[r2 - 1][c2:]
            del lines[r1:r2]
    return "".join(lines)


def references(code: str) -> dict:
    """What a notebook's code refers to in genre_lib: ``objects`` {(module, name)} reached
    through a module (``gl.analysis.project``, ``analysis.project`` after importing analysis,
    ``from genre_lib.analysis import project``), ``modules`` {module} it reaches or imports,
    and ``attributes``: every name written after a dot."""
    modules = package_modules()
    alias = {"genre_lib": "genre_lib"}
    objects, reached = set(), set()

    def resolve(dotted: str) -> None:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):     # the longest prefix that is a module
            module = ".".join(parts[:cut])
            if module in modules:
                reached.update(".".join(parts[:k]) for k in range(1, cut + 1))
                # each step is an attribute of the module before it, too: a package may bind
                # a function over its submodule's name (``interpret.maximise``)
                objects.update((".".join(parts[:k]), parts[k]) for k in range(1, min(cut + 1, len(parts))))
                return

    for module, names in FROM_IMPORT.findall(code):
        for item in names.strip("()").replace("\n", " ").split(","):
            bits = item.split()
            if bits:
                alias[bits[-1]] = f"{module}.{bits[0]}"
                resolve(f"{module}.{bits[0]}")
    for module, name in IMPORT_AS.findall(code):
        alias[name or module.split(".")[0]] = module if name else "genre_lib"
        resolve(module)
    for chain in CHAIN.findall(code):
        first, *rest = [p.strip() for p in chain.split(".")]
        if first in alias:
            resolve(".".join([alias[first], *rest]))
    return {"objects": objects, "modules": reached,
            "attributes": set(re.findall(r"\.\s*([A-Za-z_]\w*)", code))}


@functools.cache
def notebook_references() -> dict[str, dict]:
    """Chapter number -> :func:`references` of its code cells."""
    out = {}
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join(code_without_comments("".join(c["source"]))
                         for c in cells if c["cell_type"] == "code")
        out[path.name[:2]] = references(code)
    return out


_MISSING = object()


def same_object(holder: str, module: str, name: str) -> bool:
    """``holder.name`` is ``module.name`` (``module`` defines it; ``holder`` may re-export it)."""
    if holder == module:
        return True
    try:
        held = getattr(importlib.import_module(holder), name, _MISSING)
    except AttributeError:
        return False
    return held is not _MISSING and held is getattr(importlib.import_module(module), name, None)


def uses(refs: dict, item: dict, everything: list[dict]) -> bool:
    """Whether code with :func:`references` ``refs`` uses a documented object (the rule of the
    module docstring)."""
    if item["kind"] == "method":
        return item["name"] in refs["attributes"]
    if item["kind"] in ("function", "class"):
        return any(name == item["name"] and same_object(holder, item["module"], name)
                   for holder, name in refs["objects"])
    if item["module"] in refs["modules"]:
        return True
    return any(uses(refs, other, everything) for other in everything
               if other["module"] == item["module"] and other["kind"] != "module")


def backlink_problems() -> list[str]:
    everything = documented()
    refs = notebook_references()
    stems = {p.name[:2]: p.stem for p in NOTEBOOKS}
    problems = []
    for item in everything:
        for line in item["doc"].splitlines():
            if "Notebook:" in line and not line.strip().startswith("Notebook:") \
                    and not re.search(r"[`'\"]Notebook:", line):
                problems.append(f"{item['where']} {item['title']}: 'Notebook:' in the middle of a "
                                f"line (start the line with it, or the book does not link it)")
        for paragraph in notebook_paragraphs(item["doc"]):
            named = chapters_named(paragraph, set(stems))
            said = f"{item['where']} {item['title']}: 'Notebook: {paragraph[:70]}'"
            if paragraph.lower().startswith("none"):
                if named:
                    problems.append(f"{said} says none, then names chapter(s) {sorted(named)}")
                continue
            if not named and "every notebook" not in paragraph and not DOCS_PAGE.search(paragraph):
                problems.append(f"{said} names no chapter, 'none', 'every notebook' or docs page")
            for number in sorted(named):
                if number not in stems:
                    problems.append(f"{said} names chapter {number}, which does not exist")
                elif not uses(refs[number], item, everything):
                    problems.append(f"{said}: {stems[number]}.ipynb does not use it")
    return problems


def test_notebooks_named_on_notebook_lines_use_what_they_document():
    problems = backlink_problems()
    assert not problems, (f"{len(problems)} 'Notebook:' claim(s) that the notebooks' code does not "
                          "bear out (the rule: tests/test_backlinks.py):\n" + "\n".join(problems))


def test_the_rule_reads_code_as_documented():
    """The reader of notebook code on a made-up cell: what counts as a use and what does not."""
    code = code_without_comments(
        "import genre_lib as gl\n"
        "import keras\n"
        "from genre_lib import models\n"
        "from genre_lib.serve import Predictor\n"
        "# gl.analysis.project(X, 'pca')   (a comment: not a use)\n"
        "print('gl.analysis.knn_agreement')  # nor is one in a string\n"
        "print(f'{gl.analysis.components_for(r, 0.9)}')  # but an f-string's expression is\n"
        "keras.saving.load_model('m.keras')\n"
        "models.load('cnn2d')\n"
        "x = gl.models.crnn.build_crnn1d\n"
        "p = trained.predict_file(song)\n")
    refs = references(code)
    everything = documented()

    def item(title):
        return next(i for i in everything if i["title"] == title)

    def used(title):
        return uses(refs, item(title), everything)

    assert used("genre_lib.models.trained.load")             # re-exported by models
    assert used("genre_lib.models.trained")                  # so its module is used too
    assert used("genre_lib.models.crnn.build_crnn1d")        # a dotted module path
    assert used("genre_lib.serve.predict.Predictor")         # imported by name
    assert used("genre_lib.models.trained.Trained.predict_file")   # a method: any .predict_file
    assert not used("genre_lib.analysis.project")            # in a comment only
    assert not used("genre_lib.models.saving")               # keras.saving is not genre_lib's
    assert not used("genre_lib.analysis.knn_agreement")      # in a string only
    assert used("genre_lib.analysis.components_for")         # in an f-string's expression
    assert chapters_named("04_cnn.ipynb (training), 05-07, 09 to 10; 30 s clips.",
                          {"04", "05", "06", "07", "08", "09", "10", "11"}) == \
        {"04", "05", "06", "07", "09", "10"}
    assert notebook_paragraphs("Text.\n\nNotebook: 01_eda.ipynb,\n02_x.ipynb.\n\nMore.") == \
        ["01_eda.ipynb, 02_x.ipynb."]
