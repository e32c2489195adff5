"""What the handout gives away: its given code, what changed in it, and solutions leaked into it.

Students get every line of an answer cell outside its ``# BEGIN SOLUTION`` block. A line of
the reference moved above its marker ships in the handout, and the blank notebook may still
score nothing (the rest of the class is unfinished), so the build looks at the code itself:

- ``changes``: the given code that differs from the last build's, for the instructor to read;
- ``leaks``: handed-out code in an answer cell that binds what a hidden test reads (a name,
  or an attribute set as ``self.name``; a function or class only when nothing of it is left
  to write), unless the checks declare that name ``GIVEN``.
"""

from __future__ import annotations

import ast
import difflib
import re

import nbformat

ANSWER_TAG = "otter_assign_solution_cell"
SUMMARY_LINES = 3  # changed lines quoted per cell


def given_code(notebook: nbformat.NotebookNode) -> list[str]:
    """The code cells of a handout, as students get them."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def first_line(source: str) -> str:
    """A cell's first non-blank line, as a cell is named in messages."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")[:60]


def changes(before: list[str], notebook: nbformat.NotebookNode) -> list[str]:
    """One line per code cell of the handout ``notebook`` that changed since ``before``.

    ``before``: the last build's given code. Cells gone since then are named too.
    """
    cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    after = given_code(notebook)
    summary = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if b0 == b1:
            gone = "; ".join(repr(first_line(source)) for source in before[a0:a1])
            summary.append(f"gone since the last build: the code cells {gone}")
            continue
        old, new = "\n".join(before[a0:a1]), "\n".join(after[b0:b1])
        diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
        added = [line[1:].strip() for line in diff[2:] if line.startswith("+") and line[1:].strip()]
        removed = [line for line in diff[2:] if line.startswith("-") and line[1:].strip()]
        where = f"cell {cells[b0]}" if b1 - b0 == 1 else f"cells {cells[b0]}-{cells[b1 - 1]}"
        quoted = "; ".join(added[:SUMMARY_LINES]) + (" …" if len(added) > SUMMARY_LINES else "")
        summary.append(
            f"student notebook {where} ({first_line(new)!r}): +{len(added)} -{len(removed)} lines"
            + (f", now giving: {quoted}" if quoted else "")
        )
    return summary


def _code(source: str) -> ast.Module | None:
    """A cell's code without IPython's magics; None if it is not Python."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _placeholder(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _unfinished(node: ast.AST) -> bool:
    """Whether a function or class still holds a ``...`` for students to replace."""
    return any(isinstance(n, ast.Expr) and _placeholder(n.value) for n in ast.walk(node))


def bindings(source: str) -> list[tuple[str, str, int]]:
    """What a handed-out cell gives: ``(kind, name, line)``, kind ``"name"`` or ``"attr"``.

    Names: assigned outside functions and classes, and functions and classes with nothing
    left to write. Attributes: ``self.name = ...`` anywhere, and finished methods.
    """
    tree = _code(source)
    return [] if tree is None else list(_bound(tree.body, inside=False))


def _bound(statements: list[ast.stmt], inside: bool):
    for node in statements:
        kind = "attr" if inside else "name"
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            if not _unfinished(node):
                yield kind, node.name, node.lineno
            yield from _bound(node.body, inside=True)
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not _placeholder(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for part in (p for target in targets for p in ast.walk(target)):
                if isinstance(part, ast.Name) and not inside:
                    yield "name", part.id, node.lineno
                elif isinstance(part, ast.Attribute) and ast.unparse(part.value) == "self":
                    yield "attr", part.attr, node.lineno
        for field in ("body", "orelse", "handlers", "finalbody"):  # with, if, for, try
            yield from _bound(getattr(node, field, []) or [], inside)


def leaks(
    handout: nbformat.NotebookNode,
    master: nbformat.NotebookNode,
    graded_tests: list[dict],
    given: set[str],
) -> list[str]:
    """One line per handed-out binding that a hidden test reads (see the module's doc).

    ``graded_tests``: the solution's tests as the build graded them (with what each read).
    """
    read: dict[tuple[str, str], str] = {}
    for test in graded_tests:
        if test.get("hidden"):
            for kind, name, _ in test.get("reads", []):
                read.setdefault((kind, name), f"{test['question']} {test['name']}")
    masters = _answer_cells(master)
    problems = []
    for index, cell in enumerate(handout.cells):
        if ANSWER_TAG not in cell.metadata.get("tags", []):
            continue
        master_index = next((i for i in masters if masters[i] == first_line(cell.source)), None)
        masters.pop(master_index, None)
        for kind, name, line in bindings(cell.source):
            test = read.get((kind, name))
            if test is None or name in given:
                continue
            code = cell.source.splitlines()[line - 1].strip()
            shown = f"self.{name}" if kind == "attr" else name
            where = ""
            if master_index is not None:
                lines = [x.strip() for x in master.cells[master_index].source.splitlines()]
                at = lines.index(code) + 1 if code in lines else line
                where = f" In the master's cell {master_index}, move '# BEGIN SOLUTION' above "
                where += f"line {at}."
            problems.append(
                f"The handout gives away `{shown}`, which the hidden test {test} checks: "
                f"student notebook cell {index} ({first_line(cell.source)!r}), line {line}: "
                f"{code!r}.{where} (If students are meant to get `{name}`, declare it in "
                f"GIVEN beside the check.)"
            )
    return problems


def _answer_cells(master: nbformat.NotebookNode) -> dict[int, str]:
    """The master's code cells that hold a solution block, with their first lines."""
    return {
        index: first_line(cell.source)
        for index, cell in enumerate(master.cells)
        if cell.cell_type == "code" and re.search(r"^\s*# BEGIN SOLUTION", cell.source, re.M)
    }
