"""Which cells of the student notebook a student may edit: answers open, the rest of otter's locked.

Jupyter (classic, Lab, Notebook 7) refuses typing into a cell whose metadata says
``"editable": false``. ``otter assign`` locks every cell it takes for question text, so an
answer cell that is not inside a ``# BEGIN SOLUTION`` block of the master ends up locked and
no student can do the lab. Cells outside questions keep the master's metadata: otter's
set-up cell and the Submission cell must be locked there (a student who edits them breaks
checking or submitting). The build refuses a wrong lock with advice for that kind of cell.
"""

from __future__ import annotations

import re

import nbformat

_PLACEHOLDER = re.compile(r"^\s*(?:\.\.\.|[\w.\[\]'\", ]+=\s*\.\.\.)\s*$", re.MULTILINE)
_CHECK_CALL = re.compile(r"^\s*grader\.check\(")
# a numbered part's heading ("### Problem 3", "## Question 2: …"), or the line giving its points
_PROMPT = re.compile(r"^#{1,4} \w+ \d+\b|_Points:_", re.MULTILINE)
_SETUP = re.compile(r"^\s*grader\s*=\s*otter\.Notebook\(", re.MULTILINE)
_SUBMISSION = re.compile(r"^\s*grader\.export\(", re.MULTILINE)
_TEAM = re.compile(r"^\s*TEAM\s*=")
# Advice per role, for the wrong lock: what to change in the master.
_OPEN = (
    "is {what} but locked (editable/deletable false): students cannot type there. In the "
    "master, {fix}."
)
_LOCK = "is {what} but students can edit it: {fix}."
OPEN = ("answer", "team")  # the roles students type in; every other role is locked
ADVICE = {
    "answer": _OPEN.format(
        what="an answer cell",
        fix="put it between raw cells '# BEGIN SOLUTION' and '# END SOLUTION'",
    ),
    "team": _OPEN.format(
        what="the TEAM cell (students write their names there)",
        fix="keep it outside any '# BEGIN QUESTION' block and remove 'editable': false and "
        "'deletable': false from its metadata (otter keeps a cell's metadata outside questions)",
    ),
    "prompt": _LOCK.format(
        what="a prompt cell",
        fix="keep it inside its '# BEGIN QUESTION' block (otter locks question text there)",
    ),
    "check": _LOCK.format(
        what="a check cell",
        fix="keep it inside its '# BEGIN QUESTION' block (otter locks question text there)",
    ),
    "setup": _LOCK.format(
        what="otter's set-up cell (grader = otter.Notebook(...))",
        fix="in the master, set its metadata 'editable': false and 'deletable': false "
        "(otter keeps a cell's metadata outside questions)",
    ),
    "submission": _LOCK.format(
        what="the Submission cell (grader.export(...))",
        fix="in the master, set its metadata 'editable': false and 'deletable': false "
        "(otter keeps a cell's metadata outside questions)",
    ),
}
ANSWER_TAGS = ("otter_answer_cell", "otter_assign_solution_cell")


def cell_role(cell: nbformat.NotebookNode) -> str | None:
    """The cell's role (a key of ``ADVICE``), or ``None`` for cells with no lock rule.

    Answers: what otter tagged as a response and code with otter's ``...`` placeholders;
    the ``TEAM`` cell. Prompts: a numbered part's heading or the cell that shows its points. Checks:
    ``grader.check``. Set-up: ``grader = otter.Notebook(...)``. Submission: ``grader.export``.
    """
    tags = cell.metadata.get("tags", [])
    if any(tag in tags for tag in ANSWER_TAGS):
        return "answer"
    if cell.cell_type == "code":
        if _CHECK_CALL.match(cell.source):
            return "check"
        if _TEAM.match(cell.source):
            return "team"
        if _SETUP.search(cell.source):
            return "setup"
        if _SUBMISSION.search(cell.source):
            return "submission"
        if _PLACEHOLDER.search(cell.source):
            return "answer"
    if cell.cell_type == "markdown" and _PROMPT.search(cell.source):
        return "prompt"
    return None


def _locked(cell: nbformat.NotebookNode) -> bool:
    return cell.metadata.get("editable") is False or cell.metadata.get("deletable") is False


def _fully_locked(cell: nbformat.NotebookNode) -> bool:
    """Neither editable nor deletable (prompts and checks: otter sets both)."""
    return cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False


def lock_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """One line per cell whose lock is wrong for its role; empty when the notebook is right."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        role = cell_role(cell)
        first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
        where = f"cell {index} ({cell.cell_type}, {first_line.strip()[:60]!r})"
        wrong = _locked(cell) if role in OPEN else not _fully_locked(cell)
        if role is not None and wrong:
            problems.append(f"{where} {ADVICE[role]}")
    return problems
