"""The package travels: licences, metadata, the lock, the extras and the first cell.

These are fast checks on the files; ``tests/test_wheel.py`` (``make test-wheel``) installs the
built wheel into a clean environment and runs a notebook with it.
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from genre_lib import extras, first_cell
from genre_lib.config import checkout_root, get_settings, user_home

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[@]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_licences_are_stated_everywhere():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    content = (ROOT / "LICENSE-content").read_text()
    assert "Creative Commons Attribution 4.0 International" in content
    assert "Section 1 – Definitions." in content  # the legal code itself, not a summary
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text()
    assert "Jordi Pons" in notices and "Xavier Favory" in notices and "musicnn" in notices
    assert PROJECT["license"] == "MIT"
    assert set(PROJECT["license-files"]) == {"LICENSE", "LICENSE-content", "THIRD_PARTY_NOTICES.md"}
    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == ["MIT", "CC-BY-4.0"]
    import genre_lib

    assert cff["version"] == genre_lib.__version__
    readme = (ROOT / "README.md").read_text()
    assert "MIT" in readme and "CC BY 4.0" in readme


def test_setuptools_lists_every_package_folder():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "genre_lib").rglob("*.py")
               if "__pycache__" not in p.parts}
    data = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "genre_lib").rglob("*")
            if p.is_dir() and p.name != "__pycache__" and not any(p.glob("*.py"))}
    assert listed == folders | data | {"genre_lib.notebooks"}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module -> the package modules that import it."""
    std = set(sys.stdlib_module_names)
    found: dict[str, set[str]] = {}
    for path in (ROOT / "genre_lib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in std and top != "genre_lib":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_a_declared_dependency():
    """A module the package imports comes from a distribution pyproject.toml declares (as a
    dependency, an extra, or a dependency of one of those), so `pip install` of the wheel
    brings it. Modules of an extra are imported only where genre_lib.extras checks first."""
    declared = {_requirement_name(r) for r in PROJECT["dependencies"]}
    for reqs in PROJECT["optional-dependencies"].values():
        declared |= {_requirement_name(r) for r in reqs if not r.startswith("genre_lib")}
    closure = set(declared)
    frontier = list(declared)
    while frontier:  # what the declared distributions bring with them
        try:
            reqs = md.requires(frontier.pop()) or []
        except md.PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" in r:
                continue
            name = _requirement_name(r)
            if name not in closure:
                closure.add(name)
                frontier.append(name)
    dists = md.packages_distributions()
    undeclared = {}
    for module, users in _third_party_imports().items():
        names = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not names & closure:
            undeclared[module] = sorted(users)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_lock_exports_match_the_lock():
    """requirements.txt and requirements-dev.txt are what `make lock` exports from uv.lock."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed (it is in requirements-dev.txt; run make setup)")
    for extra, name in (("jupyter", "requirements.txt"), ("dev", "requirements-dev.txt")):
        out = subprocess.run([uv, "export", "-q", "--frozen", "--no-hashes", "--no-emit-project",
                              "--extra", extra], cwd=ROOT, capture_output=True, text=True, check=True)
        body = [ln for ln in out.stdout.splitlines() if not ln.startswith("#")]
        have = [ln for ln in (ROOT / name).read_text().splitlines() if not ln.startswith("#")]
        assert body == have, f"{name} differs from uv.lock: run make lock"


def test_this_environment_has_the_locked_versions():
    """make setup installed the lock: each pinned package that applies to this Python and
    platform has exactly the locked version here."""
    from packaging.markers import Marker

    wrong = []
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)(?:\s*;\s*(.+))?$", line)
        if not m or (m.group(3) and not Marker(m.group(3)).evaluate()):
            continue
        try:
            have = md.version(m.group(1))
        except md.PackageNotFoundError:
            wrong.append(f"{m.group(1)} missing")
            continue
        if have != m.group(2):
            wrong.append(f"{m.group(1)} {have} (locked {m.group(2)})")
    assert not wrong, f"not the locked versions (run make setup): {wrong}"


@pytest.mark.parametrize("extra, code", [
    ("serve", "from genre_lib.serve import app; app.create_app(None)"),
    ("search", "import genre_lib.search"),
    ("grading", "import genre_lib.grading"),
    ("jupyter", "from pathlib import Path; from genre_lib import runner; runner.execute(Path('x'), Path())"),
])
def test_a_missing_extra_is_one_line_naming_it(extra, code):
    hide = "; ".join(f"sys.modules[{m.split('.')[0]!r}] = None" for m in extras.EXTRAS[extra])
    out = subprocess.run([sys.executable, "-c", f"import sys; {hide}\n{code}"],
                         capture_output=True, text=True)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("genre_lib.extras.MissingExtra: ")
    assert f'pip install "genre_lib[{extra}]"' in last


def test_the_command_line_says_the_missing_extra_in_one_line(tmp_path):
    env = {**os.environ, "GENRE_WORK_DIR": str(tmp_path)}
    code = ("import sys; sys.modules['fastapi'] = sys.modules['uvicorn'] = None\n"
            "from genre_lib.__main__ import main; sys.exit(main(['serve']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'genre_lib[serve]' in lines[0], out.stderr


def test_every_notebook_starts_with_the_set_up_cell():
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert paths
    missing = [p.name for p in paths if not first_cell.has_cell(p)]
    assert not missing, f"run python -m genre_lib.first_cell: {missing}"
    assert f"git+{first_cell.REPOSITORY}" in first_cell.CELL
    compile(first_cell.CELL, "<first cell>", "exec")


def test_first_cell_without_network_says_so_in_one_line(tmp_path):
    """A bare environment (no genre_lib) whose network is cut: the cell announces the install
    in one line, then stops with one line that names GENRE_WHEEL."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    cut = "http://127.0.0.1:9"  # nothing listens on the discard port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GENRE_", "VIRTUAL_ENV"))}
    env.update(HTTP_PROXY=cut, HTTPS_PROXY=cut, http_proxy=cut, https_proxy=cut, ALL_PROXY=cut,
               PIP_CONFIG_FILE=os.devnull, GIT_TERMINAL_PROMPT="0")
    setup = first_cell.CELL.split("\nimport genre_lib as gl")[0]
    out = subprocess.run([str(python), "-c", setup], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert out.returncode != 0
    assert out.stdout.strip().splitlines() == [
        f"genre_lib is not installed in this kernel: installing it from git+{first_cell.REPOSITORY} ..."]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: could not install genre_lib") and "no network here" in last
    assert "GENRE_WHEEL" in last


def test_settings_outside_a_checkout_use_a_user_folder(monkeypatch, tmp_path, capsys):
    import genre_lib
    from genre_lib import config

    assert checkout_root() == ROOT  # the tests run from the checkout
    assert get_settings().where_note() is None
    monkeypatch.setattr(config, "checkout_root", lambda: None)
    monkeypatch.setattr(config, "on_colab", lambda: False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    for var in ("GENRE_HOME", "GENRE_DATA_DIR", "GENRE_WORK_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert user_home() == tmp_path / "genre_lib_course"
    settings = genre_lib.start(device=False)
    assert settings.home == tmp_path / "genre_lib_course"
    assert settings.data_dir == settings.home / "data" and settings.work_dir == settings.home
    printed = capsys.readouterr().out
    assert f"no course checkout found, so data and outputs go under {settings.home}" in printed
    # the notebooks come with the package when there is no checkout
    assert settings.notebooks_dir == ROOT / "genre_lib" / "notebooks" or settings.notebooks_dir.is_dir()
    monkeypatch.setenv("GENRE_HOME", str(tmp_path / "mine"))
    assert get_settings().where_note() is None


def test_notebook_json_is_valid():
    import nbformat

    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nbformat.validate(nbformat.read(p, as_version=4))
        assert json.loads(p.read_text())["nbformat"] == 4


def test_readme_links_every_notebook_to_colab_and_binder_uses_the_lock():
    readme = (ROOT / "README.md").read_text()
    repo = first_cell.REPOSITORY.removeprefix("https://github.com/")
    for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{p.name}" in readme
    assert f"https://mybinder.org/v2/gh/{repo}/main" in readme
    assert "-r ../requirements.txt" in (ROOT / "binder" / "requirements.txt").read_text()
    assert "--no-deps" in (ROOT / "binder" / "postBuild").read_text()
    first = readme.split("```")[1]  # the two commands for a fresh machine
    assert [ln.split()[:2] for ln in first.strip().splitlines()[1:]] == [["make", "run"], ["make", "test"]]


def test_the_package_lists_every_submodule_for_tab_completion():
    import genre_lib

    modules = {p.stem for p in (ROOT / "genre_lib").glob("*.py")} | {
        p.parent.name for p in (ROOT / "genre_lib").glob("*/__init__.py")}
    api = modules - {"__init__", "__main__", "first_cell"}
    assert api <= set(dir(genre_lib)), api - set(dir(genre_lib))
    assert {"start", "get_settings", "Settings", "versions"} <= set(dir(genre_lib))
    assert genre_lib.spectral.__name__ == "genre_lib.spectral"
