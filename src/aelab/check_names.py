"""The notebook's names each check may read: declared beside the checks, verified by the build.

A hidden test that reads a name the problem never gives students (``full_trainset``, a
variable of the reference solution) fails every correct notebook written another way. So
each checks module declares, near its top, the names each of its checks reads::

    READS = {"dataset_sizes": ("train_dataset", "val_dataset", "test_dataset"), ...}
    GIVEN = ("latent_mu",)  # names the handout's answer cells bind for students (rare)

The build refuses a test whose check has no entry, a declared name that the problem text
(the master's Markdown up to the end of the test's question, or its given code) never
names, and, once the solution is graded, a name a check read that it did not declare.
``GIVEN`` tells the leak check (``aelab.handout``) which names handed-out code may bind.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import nbformat

from aelab.lab import Lab
from aelab.master import MasterTest, question_config

SOLUTION_BLOCK = re.compile(r"^\s*# BEGIN SOLUTION\s*$.*?^\s*# END SOLUTION\s*$", re.S | re.M)


@dataclass
class Declared:
    """What the checks declare: names read per check, given names, and where each check is."""

    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    module: dict[str, str] = field(default_factory=dict)  # check → its file (lab_checks/p01…)


def declared(lab: Lab) -> Declared:
    """Read every checks module's ``READS`` and ``GIVEN`` (literals, read without importing)."""
    found = Declared()
    for path, data in lab.checks_files().items():
        for node in ast.parse(data.decode("utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                found.module.setdefault(node.name, path)
            targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if targets in (["READS"], ["GIVEN"]):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    raise ValueError(f"{path}: {targets[0]} must be written as literals") from None
                if targets == ["READS"]:
                    found.reads.update({check: tuple(names) for check, names in value.items()})
                else:
                    found.given.update(value)
    return found


def problem_text(master: nbformat.NotebookNode) -> dict[str, str]:
    """Per question, what students are told up to its end: Markdown and given code so far.

    Reference answers (Markdown between raw solution markers) are not told.
    """
    seen, texts, question, answer = [], {}, "", False
    for cell in master.cells:
        source = cell.source
        if (config := question_config(cell)) is not None:
            question = config["name"]
        elif cell.cell_type == "raw" and source.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
            answer = source.strip() == "# BEGIN SOLUTION"
        elif cell.cell_type == "markdown" and not answer:
            seen.append(source)
        elif cell.cell_type == "code" and "# BEGIN TEST CONFIG" not in source:
            seen.append(SOLUTION_BLOCK.sub("", source))
        if question:
            texts[question] = "\n".join(seen)
    return texts


def declaration_problems(
    master: nbformat.NotebookNode, tests: list[MasterTest], names: Declared, checks: str
) -> list[str]:
    """One line per check with no declaration, or declaring a name students are never given.

    A check some tests call with different arguments (Problems 3 and 9 share the training
    checks) may declare the names of every use: each is looked for up to its last use.
    """
    problems, texts, last = [], problem_text(master), {}
    for test in tests:
        last[test.check] = test
    for check, test in last.items():
        where = names.module.get(check, f"{checks}/")
        if check not in names.reads:
            problems.append(
                f"{test.question} {test.name}: {check} declares no names: add "
                f'"{check}": (the names it reads,) to READS in {where}'
            )
            continue
        for name in names.reads[check]:
            if not _given(name, texts.get(test.question, "")):
                problems.append(_not_given(test.question, test.name, name, check, where))
    return problems


def _given(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def _not_given(question: str, test: str, name: str, check: str, where: str) -> str:
    return (
        f"{question} {test} reads `{name}` ({check}, {where}), which the problem text never "
        f"gives students: name it in the problem, or check what the problem asks for instead"
    )


def read_problems(
    master: nbformat.NotebookNode, graded: list[dict], tests: list[MasterTest], names: Declared
) -> list[str]:
    """One line per name a check read (grading the solution) that it did not declare.

    Also a name its test's problem text (up to that question) never gives.
    """
    checks = {(t.question, t.name): t.check for t in tests}
    texts, problems = problem_text(master), []
    for test in graded:
        check = checks.get((test["question"], test["name"]), "?")
        where = names.module.get(check, "?")
        read = dict.fromkeys(name for kind, name, _ in test.get("reads", []) if kind == "name")
        for name in read:
            if name not in names.reads.get(check, ()):
                problems.append(
                    f"{test['question']} {test['name']} read `{name}`, which {check} does not "
                    f"declare in READS ({where}): declare it (the build then checks that the "
                    "problem gives it) or stop reading it"
                )
            elif not _given(name, texts.get(test["question"], "")):
                problems.append(_not_given(test["question"], test["name"], name, check, where))
    return problems
