"""The student stub: which names a solution cell defines for later cells, and the nbgrader
preprocessor that replaces each solution with a stub setting those names to ``None``.

Notebook: every notebook's exercises (see docs/instructors.md).
"""
from __future__ import annotations

import ast
import re

from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import ClearSolutions

REGIONS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
           "hidden": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
           "mark scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME")}


def regions(source: str, kind: str = "solution") -> tuple[list[str], list[str]]:
    """The lines inside the ``kind`` regions of a cell and the lines outside them."""
    begin, end = REGIONS[kind]
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if begin in line:
            within = True
        elif end in line:
            within = False
        elif within:
            inside.append(line)
        else:
            outside.append(line)
    return inside, outside


def _parse(code: str):
    """Parse a cell's code, leaving out IPython magics and shell escapes; None when it fails."""
    import textwrap

    lines = [ln for ln in textwrap.dedent(code).splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


class _Names(ast.NodeVisitor):
    """Reads code in execution order, as a kernel would: ``bound`` lists the names bound at
    module level (in order), ``free`` the names read before anything in this code bound them.
    Loop, comprehension and function-local names stay local."""

    def __init__(self, bound=()):
        self.bound = list(bound)
        self.imported: set[str] = set()
        self.free: set[str] = set()
        self._local: list[set[str]] = []

    def scan(self, code: str) -> _Names:
        tree = _parse(code)
        if tree is not None:
            self.visit(tree)
        else:  # unparsable code: count every identifier as read, simple assignments as bound
            self.free |= set(re.findall(r"[A-Za-z_]\w*", code)) - set(self.bound)
            self.bound += re.findall(r"^([A-Za-z_]\w*)\s*=", code, flags=re.M)
        return self

    def _bind(self, name: str) -> None:
        if self._local:
            self._local[-1].add(name)
        elif name not in self.bound:
            self.bound.append(name)

    def _known(self, name: str) -> bool:
        return name in self.bound or any(name in scope for scope in self._local)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            if not self._known(node.id):
                self.free.add(node.id)
        else:
            self._bind(node.id)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node):
        self.visit(node.value)
        if isinstance(node.target, ast.Name) and not self._known(node.target.id):
            self.free.add(node.target.id)
        self.visit(node.target)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node):
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_Import(self, node):
        for alias in node.names:
            name = (alias.asname or alias.name).split(".")[0]
            self._bind(name)
            if not self._local:
                self.imported.add(name)

    visit_ImportFrom = visit_Import

    def _scope(self, body, names=()):
        self._local.append(set(names))
        for part in body:
            self.visit(part)
        self._local.pop()

    def visit_FunctionDef(self, node):
        for part in node.decorator_list + node.args.defaults + node.args.kw_defaults:
            if part is not None:
                self.visit(part)
        self._bind(node.name)
        args = node.args
        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        self._scope(node.body, names)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        args = node.args
        self._scope([node.body], [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs])

    def visit_ClassDef(self, node):
        for part in node.decorator_list + node.bases:
            self.visit(part)
        self._bind(node.name)
        self._scope(node.body)

    def _comprehension(self, node, results):
        self._local.append(set())
        for gen in node.generators:
            self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for part in results:
            self.visit(part)
        self._local.pop()

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])


def answer_names(cells, index: int) -> list[str]:
    """The answer variables of solution cell ``cells[index]``: names its solution region binds
    at module level that later code (the rest of the cell, the checks, later cells) reads
    before binding them itself, and that no earlier code has bound already."""
    cell = cells[index]
    lines = cell.source.splitlines()
    if any(m in cell.source for m in REGIONS["solution"]):
        inside, _ = regions(cell.source)
        begin = next(i for i, ln in enumerate(lines) if "BEGIN SOLUTION" in ln)
        last_end = max((i for i, ln in enumerate(lines) if "END SOLUTION" in ln), default=len(lines) - 1)
    else:  # a solution cell without markers is all solution
        inside, begin, last_end = lines, 0, len(lines) - 1
    before = _Names()
    for c in cells[:index]:
        if c.cell_type == "code":
            before.scan(c.source)
    before.scan("\n".join(lines[:begin]))
    region = _Names().scan("\n".join(inside))
    assigned = [n for n in region.bound if n not in region.imported]  # imports are not answers
    later = _Names()
    for code in ["\n".join(lines[last_end + 1:])] + [c.source for c in cells[index + 1:]
                                                    if c.cell_type == "code"]:
        later.scan(code)
    known = set(before.bound)
    return [n for n in assigned if n in later.free and n not in known and not n.startswith("_")]


def stub_for(names: list[str]) -> str:
    """The code a student sees in place of a solution."""
    if not names:
        return "# YOUR CODE HERE"
    which = "the None" if len(names) == 1 else "each None"
    return "\n".join([f"# YOUR CODE HERE: replace {which} below with your answer"]
                     + [f"{n} = None" for n in names])


class StubAnswers(ClearSolutions):
    """nbgrader's ClearSolutions with a stub per cell that sets the answer variables to None.

    nbgrader's default stub raises ``NotImplementedError``, which stops a notebook at the first
    exercise. Here the stub binds every answer variable (see :func:`answer_names`) to ``None``:
    the student version runs to the end, the visible checks say "not answered yet", and the
    hidden tests fail at grading. Markdown answers get nbgrader's text stub as usual.
    """

    def preprocess(self, nb, resources):
        self._cells = nb.cells
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        language = resources.get("language", "python")
        if cell.cell_type == "code" and language == "python" and (
                nbgrader_utils.is_solution(cell) or self.begin_solution_delimeter in cell.source):
            saved = self.code_stub
            self.code_stub = {**saved, "python": stub_for(answer_names(self._cells, cell_index))}
            try:
                return super().preprocess_cell(cell, resources, cell_index)
            finally:
                self.code_stub = saved
        return super().preprocess_cell(cell, resources, cell_index)
