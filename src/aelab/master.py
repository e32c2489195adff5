"""What a master notebook says: its questions, their points, and its written questions.

Otter Assign format: a raw ``# BEGIN QUESTION`` cell with ``name:``, ``points:`` and
``manual:`` lines opens a question; test cells carry their own ``points:``. When tests carry
points, otter ignores the question's, so the build insists that both agree: one number
is never silently ignored.
"""

from __future__ import annotations

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


def questions(master: nbformat.NotebookNode) -> list[Question]:
    """The master's questions in order, with each test's points."""
    found: list[Question] = []
    for cell in master.cells:
        source = cell.source.strip()
        if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
            config = _config(source)
            declared = float(config["points"]) if "points" in config else None
            found.append(Question(config["name"], config.get("manual") == "true", declared))
        elif cell.cell_type == "code" and "# BEGIN TEST CONFIG" in source and found:
            config = _config(source.split("# END TEST CONFIG")[0])
            hidden = config.get("hidden", "false").lower() == "true"
            points = float(config.get("points", 0))
            (found[-1].hidden if hidden else found[-1].public).append(points)
    return found


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
        if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
            config = _config(source)
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
            if source.startswith("# BEGIN QUESTION"):
                config = _config(source)
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
