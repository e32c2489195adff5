"""A finished student's notebook: the handout, its answers typed in from the solution.

The build writes it (``autograder/filled/``) so that instructors and tests can try the
grader on what a student who did everything right hands in: the handout's cells, metadata
and cell ids, each answer cell holding the reference's code and each written answer the
reference answer.
"""

from __future__ import annotations

import re

import nbformat

ANSWER_TAGS = ("otter_assign_solution_cell", "otter_answer_cell")
_MARKER = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$")


class FillError(ValueError):
    """The handout and the solution notebook do not line up; the message says where."""


def _reference(cell: nbformat.NotebookNode) -> bool:
    """A reference answer of a written question (in the solution notebook only)."""
    tags = cell.metadata.get("tags", [])
    return cell.cell_type == "markdown" and "otter_assign_solution_cell" in tags


def filled(
    handout: nbformat.NotebookNode, solution: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """``handout`` with every answer cell holding the solution's answer."""
    notebook = nbformat.from_dict(handout)
    answers, references, pending = [], {}, None
    for cell in solution.cells:
        if _reference(cell):
            references[pending] = cell.source
        else:
            answers.append(cell)
            pending = len(answers) - 1
    if len(answers) != len(notebook.cells):
        raise FillError(
            f"the handout has {len(notebook.cells)} cells, the solution {len(answers)} "
            "besides its reference answers"
        )
    for index, (cell, answer) in enumerate(zip(notebook.cells, answers, strict=True)):
        if cell.cell_type != answer.cell_type:
            raise FillError(
                f"cell {index} is {cell.cell_type} in the handout, not {answer.cell_type}"
            )
        if not any(tag in cell.metadata.get("tags", []) for tag in ANSWER_TAGS):
            if cell.cell_type == "code" and cell.source.strip() == "...":
                cell.source = _unmarked(answer.source)  # an answer cell with nothing given
            continue
        if cell.cell_type == "code":
            cell.source = _unmarked(answer.source)
        elif index in references:
            cell.source = references[index]
    return notebook


def _unmarked(source: str) -> str:
    """Code without otter's solution markers (a student's cell has none)."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))
