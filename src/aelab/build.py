"""Build a lab: master notebook → student notebook + autograder, with proof that it grades right.

Steps: check that the master's points agree (``master.check_points``), that every test
cell calls a check and that each check declares the names it reads, all given in the
problem text (``check_names``); copy each public test's check into its cell and the term's
heading into the notebook; ``otter assign``; refuse wrong cell locks; add the checks, the
data, the written questions and the lab's description to the autograder; write a filled
handout (``fill``); grade the reference solution, the untouched handout and the lab's
independently written correct notebooks exactly as ``aelab grade`` does (``proof``); refuse
a handout that gives away what a hidden test checks (``handout``). The outputs replace the
previous build's only when all of that succeeded; they are removed as soon as a build
starts, so a failed build leaves nothing old that could be handed out by mistake. What
changed since that build (given code, points) is reported.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from aelab import check_names, handout, proof
from aelab.cell_locks import lock_problems
from aelab.data import verify_raw_files
from aelab.fill import filled
from aelab.grading.autograder import add_grader_files, read_autograder
from aelab.lab import Lab
from aelab.master import MasterError, check_points, given_cells, read_tests, written_questions
from aelab.public_checks import checks_sources, inline_public_tests

OUTPUTS = ("build_report.json", "autograder.zip", "student", "solution", "filled")
# The last successful build's report, kept through failed builds: what changes are counted from.
BASELINE = ".last_build_report.json"


@dataclass
class BuildReport:
    """What a build produced, from which master, and how the reference and blank scored."""

    lab: str
    master: str
    master_sha256: str
    student_notebook: str
    solution_notebook: str
    autograder_zip: str
    filled_notebook: str
    canvas_assignment: str
    solution_score: float
    blank_score: float
    possible: float
    written_points: float
    seconds: float
    questions: dict[str, dict] = field(default_factory=dict)
    tests: dict[str, float] = field(default_factory=dict)  # "q1 test_name" → points
    independent: dict[str, float] = field(default_factory=dict)  # style → score
    given_code: list[str] = field(default_factory=list)  # the handout's code cells
    given_changes: list[str] = field(default_factory=list)  # since the last build
    points_changes: list[str] = field(default_factory=list)  # since the last build


class BuildError(RuntimeError):
    """The lab could not be built, or its autograder grades wrongly.

    ``str()`` says what went wrong first; ``details`` holds the tool's own output.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def build_assignment(out: Path, lab: Lab) -> BuildReport:
    """Build ``lab`` into ``out``: handout, autograder, solution, filled handout and report."""
    started = time.perf_counter()
    previous = _previous_report(out)
    if previous:
        (out / BASELINE).write_text(json.dumps(previous), encoding="utf-8")
    for name in OUTPUTS:  # nothing of an earlier build survives a failed one
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).unlink(missing_ok=True)
    master = nbformat.read(lab.master_path, as_version=4)
    try:
        questions = check_points(master, lab.points)
    except MasterError as error:
        raise BuildError(f"Points in {lab.master_path.name}: {error}") from error
    try:
        master_tests = read_tests(master, lab.checks_module)
        declared = check_names.declared(lab)
    except (MasterError, ValueError) as error:
        raise BuildError(f"Tests in {lab.master_path.name}: {error}") from error
    _refuse(
        "The checks' names",
        check_names.declaration_problems(master, master_tests, declared, lab.checks_module),
    )
    notebook_name = lab.master
    with tempfile.TemporaryDirectory(prefix="aelab-build-") as scratch:
        scratch = Path(scratch)
        dist = _assign(lab, nbformat.from_dict(master), scratch)
        locks = lock_problems(nbformat.read(dist / "student" / notebook_name, as_version=4))
        _refuse("The student notebook's cell locks are wrong", locks)
        staged = scratch / "out"
        for kind, source in (("student", "student"), ("solution", "autograder")):
            (staged / kind).mkdir(parents=True)
            shutil.copy(dist / source / notebook_name, staged / kind / notebook_name)
            _stable_cell_ids(staged / kind / notebook_name)
        (zip_path,) = (dist / "autograder").glob("*.zip")
        shutil.copy(zip_path, staged / "autograder.zip")
        student = nbformat.read(staged / "student" / notebook_name, as_version=4)
        solution = nbformat.read(staged / "solution" / notebook_name, as_version=4)
        (staged / "filled").mkdir()
        nbformat.write(filled(student, solution), staged / "filled" / notebook_name)
        _add_files(staged / "autograder.zip", lab, master, student)
        grades = _prove(staged, lab, scratch, master, student, solution, declared, master_tests)
        given = handout.given_code(student)
        points = {f"{t.question} {t.name}": t.points for t in master_tests}
        report = BuildReport(
            lab=str(lab.folder / "lab.toml"),
            master=str(lab.master_path),
            master_sha256=lab.master_sha256(),
            student_notebook=str(out / "student" / notebook_name),
            solution_notebook=str(out / "solution" / notebook_name),
            autograder_zip=str(out / "autograder.zip"),
            filled_notebook=str(out / "filled" / notebook_name),
            canvas_assignment=lab.canvas_assignment,
            solution_score=grades[proof.SOLUTION].total,
            blank_score=grades[proof.BLANK].total,
            possible=grades[proof.SOLUTION].possible,
            written_points=sum(q.points for q in questions if q.manual),
            seconds=time.perf_counter() - started,
            questions={
                q.name: {"points": q.points, "public": sum(q.public), "hidden": sum(q.hidden)}
                if not q.manual
                else {"points": q.points, "written": True}
                for q in questions
            },
            tests=points,
            independent={k: g.total for k, g in grades.items() if k.startswith("independent")},
            given_code=given,
            given_changes=handout.changes(previous["given_code"], student) if previous else [],
            points_changes=_points_changes(previous.get("tests", {}), points) if previous else [],
        )
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS[1:]:
            shutil.move(staged / name, out / name)
    (out / "build_report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    (out / BASELINE).unlink(missing_ok=True)
    return report


def _refuse(what: str, problems: list[str]) -> None:
    """Fail the build with the first problem on the first line, the others after it."""
    if problems:
        more = (
            f"\n({len(problems) - 1} more below)\n" + "\n".join(problems[1:])
            if problems[1:]
            else ""
        )
        raise BuildError(f"{what}: {problems[0]}{more}")


def _previous_report(out: Path) -> dict:
    """The last successful build's report in ``out`` (empty when none this build can read)."""
    for name in ("build_report.json", BASELINE):
        try:
            report = json.loads((out / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and "given_code" in report:
            return report
    return {}


def _points_changes(before: dict[str, float], after: dict[str, float]) -> list[str]:
    """One line per test whose points changed, appeared or went since the last build."""
    lines = []
    for key in [*after, *(key for key in before if key not in after)]:  # the master's order
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            lines.append(f"{key}: new test, {new:g} points")
        elif new is None:
            lines.append(f"{key}: removed (was {old:g} points)")
        else:
            lines.append(
                f"{key}: {old:g} -> {new:g} points: every known mistake that fails it now costs "
                f"{new - old:+g} (tests/student_work.py states each mistake's cost)"
            )
    return lines


def _assign(lab: Lab, master: nbformat.NotebookNode, scratch: Path) -> Path:
    """``otter assign`` on a copy of the master whose public tests hold their checks' code."""
    assignable = scratch / "master"
    assignable.mkdir()
    inline_public_tests(master, checks_sources(lab))
    _put_heading(master, lab)
    shutil.copy(lab.folder / lab.requirements, assignable / lab.requirements)
    nbformat.write(master, assignable / lab.master)
    dist = scratch / "dist"
    # --no-run-tests: otter would grade the solution too; the proof grades it once.
    command = [sys.executable, "-m", "otter", "assign", "--no-run-tests"]
    assign = subprocess.run(
        [*command, str(assignable / lab.master), str(dist)], capture_output=True, text=True
    )
    if assign.returncode != 0:
        details = assign.stdout + assign.stderr
        raise BuildError(f"otter assign failed: {_last_error(details)}", details)
    return dist


def _last_error(output: str) -> str:
    """The last exception line of a traceback, without its module path."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b", line)]
    found = (errors or lines or ["no output"])[-1]
    return re.sub(r"^[\w.]*\.(?=\w+(Error|Exception))", "", found)


def _put_heading(master: nbformat.NotebookNode, lab: Lab) -> None:
    """The first heading of the master becomes the lab's title, the course and term under it."""
    for cell in master.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            rest = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
            header = f"\n\n*{lab.header()}*" if lab.header() else ""
            cell.source = f"# {lab.title}{header}\n{rest}"
            return


def _stable_cell_ids(path: Path) -> None:
    """Renumber cell ids: otter gives the cells it inserts random ones."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
    nbformat.write(notebook, path)


def _add_files(
    autograder_zip: Path, lab: Lab, master: nbformat.NotebookNode, student: nbformat.NotebookNode
) -> None:
    """Ship what grading needs beyond otter's files: checks, data, written questions, handout."""
    raw = verify_raw_files() if lab.data == "mnist" else None
    data = {f"MNIST/raw/{p.name}": p.read_bytes() for p in sorted(raw.glob("*.gz"))} if raw else {}
    scaffold = [cell.source for cell in student.cells if cell.cell_type == "code"]
    add_grader_files(
        autograder_zip, lab, written_questions(master), scaffold, given_cells(master), data
    )


def _prove(
    staged: Path,
    lab: Lab,
    scratch: Path,
    master: nbformat.NotebookNode,
    student: nbformat.NotebookNode,
    solution: nbformat.NotebookNode,
    declared: check_names.Declared,
    master_tests: list,
) -> dict:
    """Grade the solution (all points), the handout (none) and the independent notebooks (all).

    Refusals, most telling first: the solution's own error; a handout that gives away what a
    hidden test checks (which is also why a blank notebook would earn points); a test that
    fails a correct notebook written another way; a name a check read without declaring it.
    """
    answered = without_reference_answers(solution)
    notebooks = {proof.SOLUTION: answered, proof.BLANK: student}
    try:
        notebooks.update(proof.independent_notebooks(lab, answered))
    except (OSError, SyntaxError, AttributeError, ValueError) as error:
        raise BuildError(f"The independent notebooks ({lab.independent}): {error!r}") from error
    data = read_autograder(staged / "autograder.zip").unpack_data(scratch / "data")
    grades = proof.grade(staged / "autograder.zip", lab, data, notebooks)
    stopped = proof.not_graded(grades)
    if stopped:
        raise BuildError(stopped)
    lost = proof.solution_failure(grades[proof.SOLUTION], answered, master)
    if lost:
        raise BuildError(f"The reference solution loses points: {lost}")
    solution_tests = grades[proof.SOLUTION].tests
    _refuse(
        "Solution code in the handout",
        handout.leaks(student, master, solution_tests, declared.given),
    )
    blank = grades[proof.BLANK]
    if blank.total != 0:
        earned = {q: s for q, s in blank.scores.items() if s}
        raise BuildError(f"The blank student notebook earns {blank.total:g} points: {earned}")
    _refuse("A test fails correct work", proof.independent_failures(grades))
    _refuse(
        "The checks' names",
        check_names.read_problems(master, solution_tests, master_tests, declared),
    )
    return grades


def without_reference_answers(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution as a student would hand it in: the written questions' reference answers out."""
    notebook = nbformat.from_dict(solution)
    notebook.cells = [
        cell
        for cell in notebook.cells
        if not (
            cell.cell_type == "markdown"
            and "otter_assign_solution_cell" in cell.metadata.get("tags", [])
        )
    ]
    return notebook
