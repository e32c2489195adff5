"""Make the master's public test cells self-contained, for students who have only the notebook.

A test cell of the master calls one function of the lab's checks::

    def test_dataset_sizes(env):
        import lab_checks
        lab_checks.dataset_sizes(env)

Hidden tests stay that way: the autograder ships the checks. A public test runs on the
student's computer (``grader.check``), where the checks must not be (they hold the hidden
ones), so the build copies into it the called function and everything it uses from the
checks' modules and from ``aelab.student_side.objects`` (how checks see the notebook's
objects), nested in the test function, without type annotations.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat

from aelab.lab import Lab
from aelab.student_side import objects

_CALL = re.compile(r"^\s*import (?P<module>\w+)\s*\n\s*(?P=module)\.(?P<call>\w+\(.*\))\s*$")


class _Unannotated(ast.NodeTransformer):
    """Drop annotations: nested in a test function they would be evaluated, names and all."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.returns = None
        self.generic_visit(node)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.stmt | None:
        if node.value is None:
            return None
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return []


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(_Unannotated().visit(_copy(node))) if isinstance(n, ast.Name)}


def _copy(node: ast.AST) -> ast.AST:
    return ast.parse(ast.unparse(node)).body[0]


class InlineError(ValueError):
    """A public check cannot be copied into its test cell; the message says why."""


def checks_sources(lab: Lab) -> list[str]:
    """The sources a public check may draw on: the objects module, then the lab's checks."""
    sources = [Path(objects.__file__).read_text(encoding="utf-8")]
    return sources + [data.decode("utf-8") for data in lab.checks_files().values()]


def _copied(node: ast.stmt) -> bool:
    """Whether a module-level statement is copied: not one that imports what is copied."""
    if isinstance(node, ast.ImportFrom):
        return not (node.level or node.module == "__future__" or node.module.startswith("aelab"))
    return True


def _one_name_each(node: ast.stmt) -> list[ast.stmt]:
    """An import as one import per name it binds (others may import some of the same)."""
    if isinstance(node, ast.Import):
        return [ast.Import(names=[alias]) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [ast.ImportFrom(node.module, [alias], node.level) for alias in node.names]
    return [node]


def inline_check(sources: list[str], call: str) -> str:
    """The statements a test needs to run ``call`` (e.g. ``"dataset_sizes(env)"``) on its own."""
    statements = [
        single
        for source in sources
        for node in ast.parse(source).body
        if _copied(node)
        for single in _one_name_each(node)
    ]
    defining: dict[str, ast.stmt] = {}
    for node in statements:
        for name in _bound_names(node):
            if name in defining and ast.unparse(defining[name]) != ast.unparse(node):
                defining[name] = _Ambiguous(name)
            else:
                defining.setdefault(name, node)
    needed: set[int] = set()
    pending = list(_used_names(ast.parse(call)))
    while pending:
        node = defining.get(pending.pop())
        if isinstance(node, _Ambiguous):
            raise InlineError(f"{node.name} is defined twice in the checks: rename one")
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            pending.extend(_used_names(node))
    kept = [_Unannotated().visit(_copy(node)) for node in statements if id(node) in needed]
    return "\n".join([*(ast.unparse(node) for node in kept), call])


class _Ambiguous(ast.stmt):
    """A name two modules define differently (a public check must not depend on it)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def inline_public_tests(master: nbformat.NotebookNode, sources: list[str]) -> list[str]:
    """Replace each public test cell's call by its check's own code; the names of those tests."""
    inlined = []
    for cell in master.cells:
        if cell.cell_type != "code" or "# BEGIN TEST CONFIG" not in cell.source:
            continue
        config, marker, test = cell.source.partition("# END TEST CONFIG\n")
        if re.search(r"^hidden:\s*true", config, re.MULTILINE | re.IGNORECASE):
            continue
        header, _, body = test.partition("\n")
        found = _CALL.match(body)
        if found is None:  # a public test written out in full
            continue
        code = inline_check(sources, found["call"])
        cell.source = f"{config}{marker}{header}\n{textwrap.indent(code, '    ')}"
        inlined.append(header)
    return inlined
