"""Build a lab: master notebook → student notebook + autograder, with proof that it grades right.

Steps: check that the master's points agree (``master.check_points``); copy each public
test's check into its cell and the term's heading into the notebook; ``otter assign``;
refuse wrong cell locks; add the checks, the data, the written questions and the lab's
description to the autograder; grade the reference solution and the untouched student
notebook exactly as ``aelab grade`` does. The outputs replace the previous build's only
when all of that succeeded; they are removed as soon as a build starts, so a failed build
leaves nothing old that could be handed out by mistake.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from aelab.cell_locks import lock_problems
from aelab.data import unpack_mnist, verify_raw_files
from aelab.grading.autograder import GIVEN_MEMBER, LAB_MEMBER, SCAFFOLD_MEMBER, read_autograder
from aelab.grading.runner import GRADED, Judges, RunOptions
from aelab.grading.sandbox import bwrap_available
from aelab.grading.written import QUESTIONS_MEMBER
from aelab.lab import Lab
from aelab.master import MasterError, check_points, given_cells, written_questions
from aelab.public_checks import checks_sources, inline_public_tests

OUTPUTS = ("build_report.json", "autograder.zip", "student", "solution")
UNSANDBOXED = (
    "No bubblewrap here: the proof grades the master's solution and the blank handout "
    "unsandboxed (only your own code runs); students' notebooks need aelab grade's sandbox "
    "or --docker."
)


@dataclass
class BuildReport:
    """What a build produced, from which master, and how the reference and blank scored."""

    lab: str
    master: str
    master_sha256: str
    student_notebook: str
    solution_notebook: str
    autograder_zip: str
    solution_score: float
    blank_score: float
    possible: float
    written_points: float
    seconds: float
    questions: dict[str, dict] = field(default_factory=dict)


class BuildError(RuntimeError):
    """The lab could not be built, or its autograder grades wrongly.

    ``str()`` says what went wrong first; ``details`` holds the tool's own output.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def build_assignment(out: Path, lab: Lab) -> BuildReport:
    """Build ``lab`` into ``out``: student notebook, autograder, solution and report."""
    started = time.perf_counter()
    for name in OUTPUTS:  # nothing of an earlier build survives a failed one
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).unlink(missing_ok=True)
    master = nbformat.read(lab.master_path, as_version=4)
    try:
        questions = check_points(master, lab.points)
    except MasterError as error:
        raise BuildError(f"Points in {lab.master_path.name}: {error}") from error
    notebook_name = lab.master
    with tempfile.TemporaryDirectory(prefix="aelab-build-") as scratch:
        scratch = Path(scratch)
        dist = _assign(lab, master, scratch)
        locks = lock_problems(nbformat.read(dist / "student" / notebook_name, as_version=4))
        if locks:
            raise BuildError("The student notebook's cell locks are wrong:\n" + "\n".join(locks))
        staged = scratch / "out"
        for kind, source in (("student", "student"), ("solution", "autograder")):
            (staged / kind).mkdir(parents=True)
            shutil.copy(dist / source / notebook_name, staged / kind / notebook_name)
            _stable_cell_ids(staged / kind / notebook_name)
        (zip_path,) = (dist / "autograder").glob("*.zip")
        shutil.copy(zip_path, staged / "autograder.zip")
        student = nbformat.read(staged / "student" / notebook_name, as_version=4)
        _add_files(staged / "autograder.zip", lab, master, student)
        solution, blank = _prove(staged, lab, scratch)
        report = BuildReport(
            lab=str(lab.folder / "lab.toml"),
            master=str(lab.master_path),
            master_sha256=lab.master_sha256(),
            student_notebook=str(out / "student" / notebook_name),
            solution_notebook=str(out / "solution" / notebook_name),
            autograder_zip=str(out / "autograder.zip"),
            solution_score=solution.total,
            blank_score=blank.total,
            possible=solution.possible,
            written_points=sum(q.points for q in questions if q.manual),
            seconds=time.perf_counter() - started,
            questions={
                q.name: {"points": q.points, "public": sum(q.public), "hidden": sum(q.hidden)}
                if not q.manual
                else {"points": q.points, "written": True}
                for q in questions
            },
        )
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS[1:]:
            shutil.move(staged / name, out / name)
    (out / "build_report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


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
    """Ship the checks, the data, the written questions, the lab's description, the given code.

    The hidden tests import the checks (``files/`` lands beside a notebook graded by otter,
    and a grading container finds ``data/MNIST/raw`` where the notebook looks by default);
    the written questions, with their reference answers, the description, the given code
    (which the similarity report sets aside) and each question's given cells (which must run
    after its answer) stay outside ``files/``: they are for the grader.
    """
    shipped = {f"files/{name}": data for name, data in lab.checks_files().items()}
    if lab.data == "mnist":
        for path in verify_raw_files().glob("*.gz"):
            shipped[f"files/data/MNIST/raw/{path.name}"] = path.read_bytes()
    questions = json.dumps(written_questions(master), indent=1, ensure_ascii=False)
    shipped[QUESTIONS_MEMBER] = questions.encode()
    shipped[LAB_MEMBER] = lab.to_json().encode()
    given = [cell.source for cell in student.cells if cell.cell_type == "code"]
    shipped[SCAFFOLD_MEMBER] = json.dumps(given, indent=1, ensure_ascii=False).encode()
    shipped[GIVEN_MEMBER] = json.dumps(given_cells(master), indent=1, ensure_ascii=False).encode()
    with zipfile.ZipFile(autograder_zip, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(shipped.items()):
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)


def _prove(staged: Path, lab: Lab, scratch: Path):
    """Grade the solution (all points) and the blank notebook (none) as ``aelab grade`` does."""
    autograder = read_autograder(staged / "autograder.zip")
    mnist = unpack_mnist(scratch / "mnist") if lab.data == "mnist" else None
    sandboxed = bwrap_available()
    if not sandboxed:  # the proof runs trusted code only: the same path, without isolation
        print(UNSANDBOXED, flush=True)
    options = RunOptions(
        isolation="bwrap" if sandboxed else "none",
        threads=max(1, (os.cpu_count() or 1) // 2),
        epoch_cap=lab.epoch_cap,
    )
    kinds = ("solution", "student")
    notebooks = [nbformat.read(staged / kind / lab.master, as_version=4) for kind in kinds]
    with Judges(autograder.path, mnist, options, size=2) as judges, ThreadPoolExecutor(2) as pool:
        grades = dict(zip(kinds, pool.map(judges.grade, notebooks), strict=True))
    for kind, grade in grades.items():
        if grade.status != GRADED:
            raise BuildError(f"Grading the {kind} notebook: {grade.status}: {grade.reason}")
    solution, blank = grades["solution"], grades["student"]
    lost = [
        f"{t['question']} {t['name']}: {t['message']}" for t in solution.tests if not t["passed"]
    ]
    if lost or solution.possible == 0:
        raise BuildError("The reference solution loses points:\n" + "\n".join(lost))
    if blank.total != 0:
        earned = {q: s for q, s in blank.scores.items() if s}
        raise BuildError(f"The blank student notebook earns {blank.total:g} points: {earned}")
    return solution, blank
