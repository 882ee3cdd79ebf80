"""How the API reads (docs/extending.md): the settings are a keyword-only last parameter
everywhere, and a public class name means one thing in the package (that ``training`` exports
only what it defines is in tests/test_training.py)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import genre_lib

ROOT = Path(genre_lib.__file__).parent
# a value computed from the settings alone (a declaration's ``clip_seconds``) is a plain
# function of one argument, like a sort key
VALUE_HOOKS = {"_synth_seconds"}


def _functions():
    for path in sorted(ROOT.rglob("*.py")):
        if "reference" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(ROOT.parent), node


def test_settings_are_keyword_only_and_last_everywhere():
    wrong = []
    for path, fn in _functions():
        args = fn.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        keyword = [a.arg for a in args.kwonlyargs]
        if "settings" in positional and fn.name not in VALUE_HOOKS:
            wrong.append(f"{path}:{fn.lineno} {fn.name}: settings is positional")
        elif "settings" in keyword and keyword[-1] != "settings":
            wrong.append(f"{path}:{fn.lineno} {fn.name}: settings is not the last keyword")
    assert not wrong, "\n".join(wrong)


def test_public_class_names_are_unique():
    where = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(str(path.relative_to(ROOT.parent)))
    assert not {name: paths for name, paths in where.items() if len(paths) > 1}
