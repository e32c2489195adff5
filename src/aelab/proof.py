"""The build's proof: its own notebooks graded as ``aelab grade`` grades, and what broke, plainly.

The build grades the reference solution (every point), the untouched handout (none) and
the lab's independently written correct notebooks (every point) with the new autograder,
in the sandbox, in instructor mode: these notebooks are the instructor's own, so a failure
shows the real error (the exception's text and the master's cell that raised it) where a
student's feedback would show a redacted message.
"""

from __future__ import annotations

import importlib.util
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat

from aelab.grading.runner import Judges, RunOptions
from aelab.grading.sandbox import bwrap_available
from aelab.handout import first_line
from aelab.lab import Lab
from aelab.record import GRADED, NotebookGrade

SOLUTION, BLANK = "solution", "blank handout"

UNSANDBOXED = (
    "No bubblewrap here: the proof grades the master's solution, the blank handout and the "
    "independent answers unsandboxed (only your own code runs); students' notebooks need "
    "aelab grade's sandbox or --docker."
)


def independent_notebooks(
    lab: Lab, solution: nbformat.NotebookNode
) -> dict[str, nbformat.NotebookNode]:
    """The lab's correct notebooks written another way: ``solution`` with each style's answers."""
    if not lab.independent:
        return {}
    path = lab.folder / lab.independent
    spec = importlib.util.spec_from_file_location(f"aelab_independent_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the lab's own file, as trusted as its master
    return {
        f"independent '{name}'": module.with_answers(solution, answers)
        for name, answers in module.VARIANTS.items()
    }


def grade(
    autograder: Path, lab: Lab, data: Path | None, notebooks: dict[str, nbformat.NotebookNode]
) -> dict[str, NotebookGrade]:
    """Grade ``notebooks`` (two at a time) exactly as ``aelab grade`` would, in instructor mode."""
    sandboxed = bwrap_available()
    if not sandboxed:  # the proof runs trusted code only: the same path, without isolation
        print(UNSANDBOXED, flush=True)
    options = RunOptions(
        isolation="bwrap" if sandboxed else "none",
        threads=max(1, (os.cpu_count() or 1) // 2),
        epoch_cap=lab.epoch_cap,
        instructor=True,
    )
    with Judges(autograder, data, options, size=2) as judges, ThreadPoolExecutor(2) as pool:
        grades = pool.map(judges.grade, notebooks.values())
        return dict(zip(notebooks, grades, strict=True))


def not_graded(grades: dict[str, NotebookGrade]) -> str | None:
    """What stopped a notebook from being graded at all, if anything."""
    for name, found in grades.items():
        if found.status != GRADED:
            return f"Grading the {name} notebook: {found.status}: {found.reason}"
    return None


def solution_failure(
    found: NotebookGrade, graded: nbformat.NotebookNode, master: nbformat.NotebookNode
) -> str | None:
    """The solution's lost points, first failure first: question, test, the real error, where.

    Failures of the first failing question are each a line; those of later questions, which
    usually follow from the first error, are folded into one.
    """
    failed = [test for test in found.tests if not test["passed"]]
    if not failed and found.possible > 0:
        return None
    if not failed:
        return "the autograder holds no points: give the master's tests their points"
    first = failed[0]["question"]
    lines = [
        _failure_line(t, graded, master, found.cell_errors)
        for t in failed
        if t["question"] == first
    ]
    later = Counter(t["question"] for t in failed if t["question"] != first)
    if later:
        counts = ", ".join(f"{q}: {n}" for q, n in later.items())
        lines.append(
            f"then {sum(later.values())} tests of later questions fail too ({counts}), most "
            "likely because of the error above: fix it first"
        )
    return "\n".join(lines)


def _failure_line(
    test: dict[str, Any],
    graded: nbformat.NotebookNode,
    master: nbformat.NotebookNode,
    cell_errors: list[dict[str, Any]],
) -> str:
    """A failed test, with where its error arose or else the first cell that raised."""
    where = test.get("where")
    line = f"{test['question']} {test['name']}: {test['message']}"
    if where:
        return f"{line} ({master_cell(graded, master, *where)})"
    if cell_errors:  # the check did not reach the error itself: the first cell that raised
        error = cell_errors[0]
        at = master_cell(graded, master, *(error.get("where") or [error["index"], 0]))
        return f"{line} (the first cell that raised: {at}: {error['error']})"
    return line


def master_cell(
    graded: nbformat.NotebookNode, master: nbformat.NotebookNode, index: int, line: int
) -> str:
    """``the master's cell M ('first line'), line L`` for cell ``index`` of a graded notebook."""
    source = graded.cells[index].source if 0 <= index < len(graded.cells) else ""
    codes = [i for i, c in enumerate(master.cells) if c.cell_type == "code"]
    same = [i for i in codes if master.cells[i].source == source]
    same = same or [i for i in codes if first_line(master.cells[i].source) == first_line(source)]
    named = f"the master's cell {same[0]}" if same else f"cell {index} of the solution notebook"
    lines = source.splitlines()
    code = f": {lines[line - 1].strip()!r}" if 0 < line <= len(lines) else ""
    return f"{named} ({first_line(source)!r})" + (f", line {line}{code}" if line else "")


def independent_failures(grades: dict[str, NotebookGrade]) -> list[str]:
    """One line per test an independently written correct notebook fails, with what it read."""
    problems = []
    for name, found in grades.items():
        if not name.startswith("independent"):
            continue
        for test in found.tests:
            if test["passed"]:
                continue
            missing = sorted(
                {n for kind, n, ok in test.get("reads", []) if kind == "name" and not ok}
            )
            relied = (
                f"it relied on `{'`, `'.join(missing)}`, which that notebook does not define; "
                if missing
                else ""
            )
            problems.append(
                f"{test['question']} {test['name']} fails the {name} notebook, a correct "
                f"answer written another way: {relied}it said: {test['message']}"
            )
    return problems
