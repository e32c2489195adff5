"""Which cells of the student notebook a student may edit: answers open, prompts and checks locked.

Jupyter (classic, Lab, Notebook 7) refuses typing into a cell whose metadata says
``"editable": false``. ``otter assign`` locks every cell it takes for question text, so an
answer cell that is not inside a ``# BEGIN SOLUTION`` block of the master ends up locked and
no student can do the lab. The build refuses such a notebook; this module says why.
"""

from __future__ import annotations

import re

import nbformat

_PLACEHOLDER = re.compile(r"^\s*(?:\.\.\.|[\w.\[\]'\", ]+=\s*\.\.\.)\s*$", re.MULTILINE)
_CHECK_CALL = re.compile(r"^\s*grader\.check\(")
_PROMPT = re.compile(r"^#{1,4} Problem \d+|_Points:_", re.MULTILINE)
ANSWER_TAGS = ("otter_answer_cell", "otter_assign_solution_cell")


def cell_role(cell: nbformat.NotebookNode) -> str | None:
    """``"answer"``, ``"prompt"``, ``"check"``, or ``None`` for cells with no lock rule.

    Answers: what otter tagged as a response, code with otter's ``...`` placeholders, and
    the ``TEAM`` cell. Prompts: a problem's heading or the cell that shows its points.
    """
    tags = cell.metadata.get("tags", [])
    if any(tag in tags for tag in ANSWER_TAGS):
        return "answer"
    if cell.cell_type == "code":
        if _CHECK_CALL.match(cell.source):
            return "check"
        if _PLACEHOLDER.search(cell.source) or cell.source.lstrip().startswith("TEAM ="):
            return "answer"
    if cell.cell_type == "markdown" and _PROMPT.search(cell.source):
        return "prompt"
    return None


def _locked(cell: nbformat.NotebookNode) -> bool:
    return cell.metadata.get("editable") is False or cell.metadata.get("deletable") is False


def lock_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """One line per cell whose lock is wrong for its role; empty when the notebook is right."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        role = cell_role(cell)
        first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
        where = f"cell {index} ({cell.cell_type}, {first_line.strip()[:60]!r})"
        if role == "answer" and _locked(cell):
            problems.append(
                f"{where} is an answer cell but locked (editable/deletable false): students "
                "cannot type there. In the master, put it between raw cells '# BEGIN SOLUTION' "
                "and '# END SOLUTION'."
            )
        elif role in ("prompt", "check") and cell.metadata.get("editable") is not False:
            problems.append(
                f"{where} is a {role} cell but students can edit it: keep it inside its "
                "'# BEGIN QUESTION' block (otter locks question text there)."
            )
    return problems
