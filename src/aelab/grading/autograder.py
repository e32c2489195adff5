"""The grader's own copy of the autograder: its tests, their points, the checks and their messages.

Everything that decides a score comes from here, never from the submission's side: which
tests exist, which check each one calls and how many points it is worth, the checks
themselves (run by the grader, see ``judge``), and which failure messages a test may show.
A failed test's feedback is rendered here from a message template of the checks and values
that are numbers or the checks' own words, so that nothing a submission returns, prints or
raises reaches a student's feedback page but the numbers a check chose to show.
"""

from __future__ import annotations

import ast
import builtins
import gzip
import hashlib
import json
import re
import string
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from aelab.lab import Lab, lab_from_json
from aelab.record import key_of_test

LAB_MEMBER = "lab.json"  # the lab's description (see aelab.lab), written by aelab build
SCAFFOLD_MEMBER = "scaffold.json"  # the student notebook's code cells, as handed out
GIVEN_MEMBER = "given_cells.json"  # each question's given code (see aelab.master.given_cells)
QUESTIONS_MEMBER = "written_questions.json"  # the manually graded questions
CHECKS_FOLDER = "files/"  # beside a notebook graded by otter: the checks, the lab's data
DATA_FOLDER = "files/data/"  # what each graded notebook finds in ./data (read-only)
MESSAGE_LIMIT = 500  # characters of one test's failure message in feedback
HIDDEN_VALUE = "…"
# Exceptions a message may name: Python's and torch's own (a student's class names may say
# anything, so they show as "…").
EXCEPTIONS = frozenset(
    name for module in (builtins, torch) for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)  # fmt: skip


class AutograderError(ValueError):
    """The file is not an autograder this grader can use; the message says why."""


@dataclass(frozen=True)
class TestSpec:
    """One test case: its question, name, points, visibility, and the check it calls."""

    question: str
    function: str
    points: float
    hidden: bool
    check: str  # the checks' function it calls, e.g. ``early_stopping``
    arguments: tuple = ()  # after ``env``, e.g. ``("autoencoder",)``

    @property
    def key(self) -> str:
        """Unique name across the assignment, e.g. ``q3/test_train_autoencoder_early_stopping``."""
        return key_of_test(self.question, self.function)


@dataclass(frozen=True)
class WrittenQuestion:
    """A manually graded question: its name, prompt, points and reference answer."""

    name: str
    prompt: str
    points: float
    reference: str


@dataclass
class Autograder:
    """What a grading run needs from ``autograder.zip``, read once."""

    path: Path
    assignment: str | None
    lab: Lab
    tests: list[TestSpec]
    checks: dict[str, str]  # the checks' files by path (``lab_checks/p01_data.py``)
    digest: str
    templates: frozenset[str] = field(default_factory=frozenset)
    literals: frozenset[str] = field(default_factory=frozenset)
    scaffold: list[str] = field(default_factory=list)  # the code cells every student was given
    given: dict[str, list[str]] = field(default_factory=dict)  # question → its given code cells
    written: list[WrittenQuestion] = field(default_factory=list)

    @property
    def questions(self) -> dict[str, float]:
        """Points available per question, in the notebook's order."""
        points: dict[str, float] = {}
        for test in self.tests:
            points[test.question] = points.get(test.question, 0) + test.points
        return points

    @property
    def doubles(self) -> str:
        """The checks' test doubles (``<checks>/doubles.py``): all of them a sandbox receives."""
        package = Path(self.lab.checks).stem
        return self.checks.get(f"{package}/doubles.py", "")

    @property
    def written_points(self) -> float:
        """Points of the written questions."""
        return sum(question.points for question in self.written)

    def unpack_data(self, dest: Path) -> Path | None:
        """The lab's data, unpacked once per run into ``dest`` (None when it ships none).

        Each sandbox mounts ``dest`` read-only as the notebook's ``data`` folder;
        ``.gz`` files are unpacked, as torchvision's datasets would on first use.
        """
        with zipfile.ZipFile(self.path) as archive:
            members = [m for m in archive.infolist() if m.filename.startswith(DATA_FOLDER)]
            for member in members:
                if member.is_dir():
                    continue
                target = dest / member.filename.removeprefix(DATA_FOLDER).removesuffix(".gz")
                target.parent.mkdir(parents=True, exist_ok=True)
                content = archive.read(member)
                gz = member.filename.endswith(".gz")
                target.write_bytes(gzip.decompress(content) if gz else content)
        if not members:
            return None
        for path in [dest, *dest.rglob("*")]:  # readable by a container's user (65534)
            path.chmod(0o755 if path.is_dir() else 0o644)
        return dest

    def render(self, failure: BaseException) -> str:
        """A failed check's message for feedback, from trusted parts only."""
        template, values = getattr(failure, "template", None), getattr(failure, "values", None)
        if isinstance(template, str) and template in self.templates and isinstance(values, dict):
            return _Trusted(self.literals).format(template, **values)[:MESSAGE_LIMIT]
        return stopped_message(type(failure).__name__)


def stopped_message(kind: str) -> str:
    """The message of a test stopped by an exception (named only if Python or torch names it)."""
    shown = kind if kind in EXCEPTIONS else "an exception"
    return f"The test stopped with {shown} raised while it ran your code."


def given_cell_message(source: str, kind: str) -> str:
    """The message of a question whose given cell (``source``) raised ``kind`` after the answer."""
    first = source.strip().splitlines()[0][:80]
    shown = kind if kind in EXCEPTIONS else "an exception"
    return (
        f"The given cell that starts `{first}` stopped with {shown} when it ran after your "
        "answer, so this problem earns none of its points: your answer should give that cell "
        "what the problem asks for (the names it uses, with the shapes and types stated)."
    )


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
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            return str(type(value)(value[:20]))
        if isinstance(value, str) and (value in self.literals or value in EXCEPTIONS):
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
            checks = {
                member.removeprefix(CHECKS_FOLDER): archive.read(member).decode()
                for member in names
                if member.endswith(".py")
                and member.removeprefix(CHECKS_FOLDER).split("/")[0] == lab.checks
            }
            scaffold = json.loads(archive.read(SCAFFOLD_MEMBER))
            # absent from an autograder built before given cells were judged: none, then
            given = json.loads(archive.read(GIVEN_MEMBER)) if GIVEN_MEMBER in names else {}
            written = [
                WrittenQuestion(**question)
                for question in json.loads(archive.read(QUESTIONS_MEMBER) or b"[]")
            ] if QUESTIONS_MEMBER in names else []  # fmt: skip
    except (
        OSError, KeyError, TypeError, SyntaxError, zipfile.BadZipFile, json.JSONDecodeError
    ) as error:  # fmt: skip
        raise AutograderError(
            f"{path} is not an autograder built by aelab build: {error}"
        ) from error
    if not tests:
        raise AutograderError(f"{path} holds no tests (tests/*.py)")
    if not checks:
        raise AutograderError(f"{path} holds no checks (files/{lab.checks})")
    templates, literals = _message_parts(checks.values())
    return Autograder(
        path=path,
        assignment=config.get("assignment_name"),
        lab=lab,
        tests=tests,
        checks=checks,
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        templates=templates,
        literals=literals,
        scaffold=scaffold,
        given=given,
        written=written,
    )


def add_grader_files(
    autograder_zip: Path,
    lab: Lab,
    written: list[dict[str, Any]],
    scaffold: list[str],
    given: dict[str, list[str]],
    data: dict[str, bytes],
) -> None:
    """Add to otter's ``autograder.zip`` what only this grader reads (see ``read_autograder``).

    The hidden tests import the checks (``files/`` lands beside a notebook graded by otter);
    ``data`` (path under the notebook's ``data`` folder → bytes) goes where each graded
    notebook finds it; the written questions with their reference answers, the lab's
    description, the code handed out (which the similarity report sets aside) and each
    question's given cells (which must run after its answer) stay outside ``files/``.
    """
    shipped = {f"{CHECKS_FOLDER}{name}": text for name, text in lab.checks_files().items()}
    shipped.update({f"{DATA_FOLDER}{name}": content for name, content in data.items()})
    for member, value in (
        (QUESTIONS_MEMBER, written), (SCAFFOLD_MEMBER, scaffold), (GIVEN_MEMBER, given)
    ):  # fmt: skip
        shipped[member] = json.dumps(value, indent=1, ensure_ascii=False).encode()
    shipped[LAB_MEMBER] = lab.to_json().encode()
    with zipfile.ZipFile(autograder_zip, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(shipped.items()):
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content)


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
        check, arguments = _check_call(node)
        cases.append(
            TestSpec(
                question=question,
                function=node.name,
                points=float(options.get("points") or 0),
                hidden=bool(options.get("hidden", False)),
                check=check,
                arguments=arguments,
            )
        )
    return cases


def _check_call(test: ast.FunctionDef) -> tuple[str, tuple]:
    """The check a test calls, as its last statement: ``[checks.]name(env, *literals)``."""
    last = test.body[-1] if test.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    if not isinstance(call, ast.Call) or not isinstance(call.func, (ast.Name, ast.Attribute)):
        raise SyntaxError(f"{test.name} does not end with a call to a check")
    name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
    first = call.args[0] if call.args else None
    if not (isinstance(first, ast.Name) and first.id == "env") or call.keywords:
        raise SyntaxError(f"{test.name} should call its check as {name}(env, ...)")
    return name, tuple(ast.literal_eval(argument) for argument in call.args[1:])


def _message_parts(sources: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The checks' message templates, and all their string literals.

    A message may quote a literal (``"train_loader"``, ``"the mean squared error"``).
    """
    literals = {
        node.value
        for source in sources
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    templates = {text for text in literals if "{" in text or len(text.split()) > 3}
    return frozenset(templates), frozenset(literals)
