"""What a master notebook says: its questions, their points, and its written questions.

Otter Assign format: a raw ``# BEGIN QUESTION`` cell with ``name:``, ``points:`` and
``manual:`` lines opens a question; test cells carry their own ``points:``. When tests carry
points, otter ignores the question's, so the build insists that both agree: one number
is never silently ignored.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import nbformat

_CONFIG_LINE = re.compile(r"^(\w+):\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)


class MasterError(ValueError):
    """The master's points disagree; the message names the question and the numbers."""


@dataclass
class Question:
    """One question of the master: its declared points and its tests' points."""

    name: str
    manual: bool
    declared: float | None
    public: list[float] = field(default_factory=list)
    hidden: list[float] = field(default_factory=list)

    @property
    def points(self) -> float:
        """What the question is worth: its tests' sum, or the declared points when written."""
        if self.manual:
            return self.declared or 0.0
        return sum(self.public) + sum(self.hidden)


def _config(source: str) -> dict[str, str]:
    return dict(_CONFIG_LINE.findall(source))


def question_config(cell: nbformat.NotebookNode) -> dict[str, str] | None:
    """The ``name:``, ``points:``, ``manual:`` lines of a ``# BEGIN QUESTION`` cell, else None."""
    source = cell.source.strip()
    if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
        return _config(source)
    return None


def cell_test(cell: nbformat.NotebookNode) -> tuple[float, bool, str] | None:
    """A test cell's points, whether it is hidden, and its code; None for any other cell."""
    source = cell.source.strip()
    if cell.cell_type != "code" or "# BEGIN TEST CONFIG" not in source:
        return None
    head, _, code = source.partition("# END TEST CONFIG")
    config = _config(head)
    return float(config.get("points", 0)), config.get("hidden", "false").lower() == "true", code


def questions(master: nbformat.NotebookNode) -> list[Question]:
    """The master's questions in order, with each test's points."""
    found: list[Question] = []
    for cell in master.cells:
        if (config := question_config(cell)) is not None:
            declared = float(config["points"]) if "points" in config else None
            found.append(Question(config["name"], config.get("manual") == "true", declared))
        elif (test := cell_test(cell)) and found:
            points, hidden, _ = test
            (found[-1].hidden if hidden else found[-1].public).append(points)
    return found


@dataclass(frozen=True)
class MasterTest:
    """One test cell of the master: its question, name, points, and the check it calls."""

    question: str
    name: str
    points: float
    hidden: bool
    check: str  # the function of the lab's checks it calls, e.g. ``early_stopping``
    arguments: tuple  # after ``env``, e.g. ``("autoencoder",)``
    cell: int  # its index in the master

    @property
    def call(self) -> str:
        """The call, e.g. ``early_stopping(env, "autoencoder")``."""
        return f"{self.check}({', '.join(['env', *map(repr, self.arguments)])})"


def read_tests(master: nbformat.NotebookNode, checks: str) -> list[MasterTest]:
    """Every test cell of the master, in order; each must call one check of ``checks``.

    :class:`MasterError` names a test cell that does anything else: its logic belongs in
    the checks, where the build can see what it reads and students never see hidden ones.
    """
    found, question = [], ""
    for index, cell in enumerate(master.cells):
        if (config := question_config(cell)) is not None:
            question = config.get("name", "")
        if (test := cell_test(cell)) is None:
            continue
        points, hidden, code = test
        try:
            (function,) = [n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
            check, arguments = _called_check(function, checks)
        except (SyntaxError, ValueError) as error:
            raise MasterError(
                f"{question}: the test in cell {index} {error}: a test cell is "
                f"'def test_name(env):' with 'import {checks}' and '{checks}.a_check(env)' "
                f"(its logic a function of {checks}; docs/instructor.md: Add a check)"
            ) from None
        found.append(MasterTest(question, function.name, points, hidden, check, arguments, index))
    return found


def _called_check(function: ast.FunctionDef, checks: str) -> tuple[str, tuple]:
    """``(check, arguments)`` of a test function whose last statement calls ``checks.check``."""
    last = function.body[-1] if function.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and ast.unparse(call.func.value) == checks
        and call.args
        and ast.unparse(call.args[0]) == "env"
        and not call.keywords
        and len(function.body) == 2
    ):
        raise ValueError(f"({function.name}) is not a call to one of {checks}'s checks")
    try:
        return call.func.attr, tuple(ast.literal_eval(a) for a in call.args[1:])
    except ValueError:
        raise ValueError(f"({function.name}) passes its check more than literals") from None


def check_points(master: nbformat.NotebookNode, expected: float) -> list[Question]:
    """The questions, once their points agree with their tests' and the total with ``expected``.

    :class:`MasterError` names each disagreement otherwise.
    """
    found = questions(master)
    problems = []
    for question in found:
        tests = question.public + question.hidden
        if question.manual or question.declared is None:
            continue
        if abs(sum(tests) - question.declared) > 1e-9:
            listed = " + ".join(f"{p:g}" for p in tests) or "no tests"
            problems.append(
                f"{question.name} says points: {question.declared:g}, but its tests add up to "
                f"{sum(tests):g} ({listed}): change one so that they agree"
            )
    total = sum(q.points for q in found if not q.manual)
    if abs(total - expected) > 1e-9 and not problems:
        problems.append(
            f"the autograded questions add up to {total:g} points, but lab.toml says "
            f"points = {expected:g}: change one so that they agree"
        )
    if problems:
        raise MasterError("; ".join(problems))
    return found


def written_questions(master: nbformat.NotebookNode) -> list[dict]:
    """The master's manually graded questions: name, prompt, points and reference answer."""
    written, current, part = [], None, "prompt"
    for cell in master.cells:
        source = cell.source.strip()
        if (config := question_config(cell)) is not None:
            current = None
            if config.get("manual") == "true":
                current, part = {"name": config["name"], "prompt": "", "reference": ""}, "prompt"
                current["points"] = float(config.get("points", 0))
                written.append(current)
        elif current is not None and cell.cell_type == "raw":
            part = {"# BEGIN SOLUTION": "reference", "# END QUESTION": None}.get(source, part)
            current = None if part is None else current
        elif current is not None and cell.cell_type == "markdown":
            current[part] = f"{current[part]}\n\n{source}".strip()
    return written


def given_cells(master: nbformat.NotebookNode) -> dict[str, list[str]]:
    """The given code of each autograded question: its block's code outside solutions and tests.

    These cells (a plot of the answer, a helper) are part of the question's contract: an answer
    that makes one of them fail loses the question's points when graded.
    """
    given: dict[str, list[str]] = {}
    question, block = None, None
    for cell in master.cells:
        source = cell.source.strip()
        if cell.cell_type == "raw":
            if (config := question_config(cell)) is not None:
                question = None if config.get("manual") == "true" else config["name"]
            elif source == "# END QUESTION":
                question = None
            elif source in ("# BEGIN SOLUTION", "# BEGIN TESTS"):
                block = source
            elif source in ("# END SOLUTION", "# END TESTS"):
                block = None
        elif cell.cell_type == "code" and question and block is None and source:
            given.setdefault(question, []).append(source)
    return given
