"""Make the master's public test cells self-contained, for students who have only the notebook.

A test cell of the master calls one function of the lab's checks module::

    def test_dataset_sizes(env):
        import lab_checks
        lab_checks.dataset_sizes(env)

Hidden tests stay that way: the autograder ships the module. A public test runs on the
student's computer (``grader.check``), where the module must not be (it holds the hidden
checks), so the build copies into it the called function and what that function uses from
the module, nested in the test function, without type annotations.
"""

from __future__ import annotations

import ast
import re
import textwrap

import nbformat

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


def inline_check(module_source: str, call: str) -> str:
    """The statements a test needs to run ``call`` (e.g. ``"dataset_sizes(env)"``) on its own."""
    module = ast.parse(module_source)
    statements = [
        node for node in module.body
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    ]  # fmt: skip
    defining = {name: node for node in statements for name in _bound_names(node)}
    needed: set[int] = set()
    pending = list(_used_names(ast.parse(call)))
    while pending:
        node = defining.get(pending.pop())
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            pending.extend(_used_names(node))
    kept = [_Unannotated().visit(_copy(node)) for node in statements if id(node) in needed]
    return "\n".join([*(ast.unparse(node) for node in kept), call])


def inline_public_tests(master: nbformat.NotebookNode, module_source: str) -> list[str]:
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
        code = inline_check(module_source, found["call"])
        cell.source = f"{config}{marker}{header}\n{textwrap.indent(code, '    ')}"
        inlined.append(header)
    return inlined
