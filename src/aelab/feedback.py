"""Per-student feedback: each test's verdict and message, and the written answers to grade.

Hidden tests appear by name and message only: otter's report quotes the failing line of
the test's source, which is dropped here.
"""

from __future__ import annotations

import ast
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aelab.submissions import WrittenAnswer

_CASE_HEADER = re.compile(r"^\s*(?P<question>\S+) - (?P<index>\d+) result:\s*$")
_SOURCE_QUOTE = re.compile(r"^\s*Error at line \d+ in test \S+:\s*$")


@dataclass(frozen=True)
class CaseSpec:
    """One test case of the autograder, as its test file declares it."""

    name: str
    points: float | None
    hidden: bool


@dataclass(frozen=True)
class CaseVerdict:
    """How one test case went for one submission."""

    spec: CaseSpec
    passed: bool
    message: str


def read_test_specs(autograder_zip: Path) -> dict[str, list[CaseSpec]]:
    """Each question's test cases in order, read (not run) from the autograder's ``tests/``."""
    specs = {}
    with zipfile.ZipFile(autograder_zip) as archive:
        for member in sorted(archive.namelist()):
            if member.startswith("tests/") and member.endswith(".py"):
                tree = ast.parse(archive.read(member).decode())
                specs[Path(member).stem] = [_spec(node) for node in tree.body if _is_case(node)]
    return dict(sorted(specs.items(), key=lambda item: question_order(item[0])))


def question_order(name: str) -> tuple:
    """Sort key putting q2 before q10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _is_case(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and getattr(d.func, "id", "") == "test_case"
        for d in node.decorator_list
    )


def _spec(node: ast.FunctionDef) -> CaseSpec:
    (decorator,) = [d for d in node.decorator_list if isinstance(d, ast.Call)]
    options = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords}
    return CaseSpec(node.name, options.get("points"), bool(options.get("hidden", False)))


def parse_verdicts(output: str, specs: list[CaseSpec]) -> list[CaseVerdict]:
    """Split otter's report for one question into one verdict per test case."""
    if "All test cases passed!" in output:
        return [CaseVerdict(spec, True, "") for spec in specs]
    blocks: dict[int, list[str]] = {}
    current = None
    for line in output.splitlines():
        header = _CASE_HEADER.match(line)
        if header:
            current = int(header["index"]) - 1
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    verdicts = []
    for index, spec in enumerate(specs):
        lines = blocks.get(index, [])
        passed = any("Test case passed" in line for line in lines)
        verdicts.append(CaseVerdict(spec, passed, "" if passed else _failure_message(lines)))
    return verdicts


def _failure_message(lines: list[str]) -> str:
    """The exception line(s) of a failure, without otter's quote of the test's source."""
    kept, skip_next = [], False
    for line in lines:
        if skip_next:
            skip_next = False
        elif _SOURCE_QUOTE.match(line):
            skip_next = True
        elif "Test case failed" not in line and line.strip():
            kept.append(line.strip())
    return " ".join(kept) or "failed"


def render_feedback(
    heading: str,
    details: list[str],
    scores: dict[str, float],
    max_scores: dict[str, float],
    verdicts: dict[str, list[CaseVerdict]],
    answers: list[WrittenAnswer],
) -> str:
    """One student's feedback page in Markdown."""
    lines = [f"# {heading}", "", *[f"- {detail}" for detail in details], ""]
    if scores:
        total, possible = sum(scores.values()), sum(max_scores.values())
        lines += [f"**Autograded score: {total:g} / {possible:g}**", ""]
        lines += ["| Question | Score | Out of |", "|---|---|---|"]
        lines += [f"| {q} | {scores[q]:g} | {max_scores[q]:g} |" for q in scores]
        lines.append("")
        for question, cases in verdicts.items():
            lines += [
                f"## {question}: {scores.get(question, 0):g} / {max_scores.get(question, 0):g}"
            ]
            for verdict in cases:
                mark = "passed" if verdict.passed else "FAILED"
                kind = "hidden" if verdict.spec.hidden else "public"
                text = f"- {mark}: `{verdict.spec.name}` ({kind} test)"
                lines.append(text + (f": {verdict.message}" if verdict.message else ""))
            lines.append("")
    lines += ["## Written answers (manually graded)", ""]
    if not answers:
        lines += ["No written answers were found in this submission.", ""]
    for answer in answers:
        points = f" ({answer.points} points)" if answer.points else ""
        lines += [f"### {answer.prompt}{points}", ""]
        text = answer.answer or "*(no answer)*"
        lines += ["> " + line for line in text.splitlines()] + [""]
    return "\n".join(lines)
