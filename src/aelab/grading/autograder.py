"""The grader's own copy of the autograder: its tests, their points, the checks and their messages.

Everything that decides a score comes from here, never from the submission's side: which
tests exist, how many points each is worth, and which failure messages a test may show.
A hidden test's feedback is rendered here from a message template of the checks module and
values that are numbers or the module's own words, so that nothing a submission prints or
raises (such as text read from a hidden test) reaches a student's feedback page.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import re
import string
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.lab import Lab, lab_from_json

LAB_MEMBER = "lab.json"  # the lab's description (see aelab.lab), written by aelab build
SCAFFOLD_MEMBER = "scaffold.json"  # the student notebook's code cells, as handed out
MESSAGE_LIMIT = 500  # characters of one test's failure message in feedback
HIDDEN_VALUE = "…"
_EXCEPTIONS = {
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}  # fmt: skip


class AutograderError(ValueError):
    """The file is not an autograder this grader can use; the message says why."""


@dataclass(frozen=True)
class TestSpec:
    """One test case: its question, function name, points, visibility and source."""

    question: str
    function: str
    points: float
    hidden: bool
    source: str  # the test function, without otter's decorator

    @property
    def key(self) -> str:
        """Unique name across the assignment, e.g. ``q3/test_train_autoencoder_early_stopping``."""
        return f"{self.question}/{self.function}"


@dataclass
class Autograder:
    """What a grading run needs from ``autograder.zip``, read once."""

    path: Path
    assignment: str | None
    lab: Lab
    tests: list[TestSpec]
    checks_source: str
    digest: str
    templates: frozenset[str] = field(default_factory=frozenset)
    literals: frozenset[str] = field(default_factory=frozenset)
    scaffold: list[str] = field(default_factory=list)  # the code cells every student was given

    @property
    def questions(self) -> dict[str, float]:
        """Points available per question, in the notebook's order."""
        points: dict[str, float] = {}
        for test in self.tests:
            points[test.question] = points.get(test.question, 0) + test.points
        return points

    def job_tests(self) -> list[dict[str, str]]:
        """The tests as the sandbox's worker runs them."""
        return [{"name": t.key, "function": t.function, "source": t.source} for t in self.tests]

    def message(self, verdict: dict[str, Any]) -> str:
        """A failed test's message for feedback, from trusted parts only."""
        if verdict.get("error") == "TimeLimit":
            return "The test ran out of time: does your code finish (e.g. respect num_epochs)?"
        template = verdict.get("template")
        if isinstance(template, str) and template in self.templates:
            values = verdict.get("values") if isinstance(verdict.get("values"), dict) else {}
            text = _Trusted(self.literals).format(template, **values)
        elif verdict.get("error"):
            kind = verdict["error"] if verdict["error"] in _EXCEPTIONS else "an error"
            text = f"The test stopped with {kind} raised while it ran your code."
        else:
            text = "failed"
        return text[:MESSAGE_LIMIT]


class _Trusted(string.Formatter):
    """Fill a template with numbers and the checks' own words; anything else shows as ``…``."""

    def __init__(self, literals: frozenset[str]) -> None:
        self.literals = literals

    def get_value(self, key: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return kwargs.get(key, HIDDEN_VALUE) if isinstance(key, str) else HIDDEN_VALUE

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, (int, float)):
            try:
                return format(value, format_spec)
            except ValueError:
                return str(value)
        if isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            return str(value[:20])
        if isinstance(value, str) and (value in self.literals or value in _EXCEPTIONS):
            return value
        return HIDDEN_VALUE


def read_autograder(path: Path) -> Autograder:
    """Read ``autograder.zip``: tests and points from ``tests/``, the checks from ``files/``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            config = json.loads(archive.read("otter_config.json"))
            lab = lab_from_json(archive.read(LAB_MEMBER).decode(), path.parent)
            tests = [
                test
                for member in sorted(names, key=_question_order)
                if member.startswith("tests/") and member.endswith(".py")
                for test in _test_cases(Path(member).stem, archive.read(member).decode())
            ]
            checks = archive.read(f"files/{lab.checks}").decode()
            scaffold = json.loads(archive.read(SCAFFOLD_MEMBER))
    except (OSError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise AutograderError(
            f"{path} is not an autograder built by aelab build: {error}"
        ) from error
    if not tests:
        raise AutograderError(f"{path} holds no tests (tests/*.py)")
    templates, literals = _message_parts(checks)
    return Autograder(
        path=path,
        assignment=config.get("assignment_name"),
        lab=lab,
        tests=tests,
        checks_source=checks,
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        templates=templates,
        literals=literals,
        scaffold=scaffold,
    )


def _question_order(member: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", Path(member).stem))


def _test_cases(question: str, source: str) -> list[TestSpec]:
    cases = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [d for d in node.decorator_list if isinstance(d, ast.Call)]
        if not any(getattr(d.func, "id", "") == "test_case" for d in decorators):
            continue
        options = {k.arg: ast.literal_eval(k.value) for k in decorators[0].keywords}
        node.decorator_list = []
        cases.append(
            TestSpec(
                question=question,
                function=node.name,
                points=float(options.get("points") or 0),
                hidden=bool(options.get("hidden", False)),
                source=ast.unparse(node),
            )
        )
    return cases


def _message_parts(checks_source: str) -> tuple[frozenset[str], frozenset[str]]:
    """The checks' message templates, and all their string literals.

    A message may quote a literal (``"train_loader"``, ``"the mean squared error"``).
    """
    if not checks_source:
        return frozenset(), frozenset()
    literals = {
        node.value
        for node in ast.walk(ast.parse(checks_source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    templates = {text for text in literals if "{" in text or len(text.split()) > 3}
    return frozenset(templates), frozenset(literals)
