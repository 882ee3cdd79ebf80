"""Every package function or class a notebook calls says which notebook teaches it, as libfmp's
docstrings do ("Notebook: 03_baseline_mfcc_svm.ipynb"), so a reader of the code finds the
lesson and a reader of the lesson finds the code."""
from __future__ import annotations

import importlib
import inspect
import json
import re
from collections import defaultdict
from pathlib import Path

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
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
