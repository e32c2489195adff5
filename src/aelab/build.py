"""Build the assignment from the master notebook: student notebook, autograder, and proof.

``otter assign`` splits the master into a student notebook and an autograder. The build
then makes the outputs reproducible (stable cell ids, a fixed zip name) and grades the
reference solution and the untouched student notebook with the new autograder: the
solution must earn every autograded point and the blank notebook none.
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
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from aelab.cell_locks import lock_problems
from aelab.data import unpack_mnist, verify_raw_files
from aelab.grading.autograder import read_autograder
from aelab.grading.runner import GRADED, RunOptions, grade_notebook
from aelab.grading.sandbox import bwrap_available
from aelab.grading.written import QUESTIONS_MEMBER
from aelab.public_checks import inline_public_tests

PROJECT = Path(__file__).resolve().parents[2]
MASTER = PROJECT / "notebooks" / "autoencoders_mnist.ipynb"
NOTEBOOK_NAME = MASTER.name
CHECKS_NAME = "lab_checks.py"  # beside the master; its test cells call it


@dataclass
class BuildReport:
    """What a build produced and how the reference and blank notebooks scored."""

    student_notebook: str
    solution_notebook: str
    autograder_zip: str
    solution_score: float
    blank_score: float
    possible: float
    seconds: float


class BuildError(RuntimeError):
    """The assignment could not be built, or its autograder grades wrongly."""


def _stable_cell_ids(path: Path) -> None:
    """Renumber cell ids: otter gives the cells it inserts random ones."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
    nbformat.write(notebook, path)


def _add_files(autograder_zip: Path, checks: Path, master: nbformat.NotebookNode) -> None:
    """Ship the checks, MNIST and the written questions in the autograder.

    The hidden tests import the checks; a grading container finds ``data/MNIST/raw`` where
    the notebook looks by default and needs no network (torchvision checks the MD5s).
    ``files/`` lands beside a notebook graded by otter; the written questions, with their
    reference answers, stay outside it: they are for the GSI.
    """
    shipped = {f"files/{CHECKS_NAME}": checks.read_bytes()}
    for path in verify_raw_files().glob("*.gz"):
        shipped[f"files/data/MNIST/raw/{path.name}"] = path.read_bytes()
    questions = json.dumps(written_questions(master), indent=1, ensure_ascii=False)
    shipped[QUESTIONS_MEMBER] = questions.encode()
    with zipfile.ZipFile(autograder_zip, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(shipped.items()):
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)


def written_questions(master: nbformat.NotebookNode) -> list[dict]:
    """The master's manually graded questions: name, prompt, points and reference answer."""
    questions, current, part = [], None, "prompt"
    for cell in master.cells:
        source = cell.source.strip()
        if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
            config = dict(re.findall(r"^(\w+):\s*(.+?)\s*$", source, re.MULTILINE))
            current = None
            if config.get("manual") == "true":
                current, part = {"name": config["name"], "prompt": "", "reference": ""}, "prompt"
                current["points"] = float(config.get("points", 0))
                questions.append(current)
        elif current is not None and cell.cell_type == "raw":
            part = {"# BEGIN SOLUTION": "reference", "# END QUESTION": None}.get(source, part)
            current = None if part is None else current
        elif current is not None and cell.cell_type == "markdown":
            current[part] = f"{current[part]}\n\n{source}".strip()
    return questions


def _assignable_master(master: Path, folder: Path) -> Path:
    """A copy of ``master`` whose public tests hold their checks' code, with its side files."""
    notebook = nbformat.read(master, as_version=4)
    inline_public_tests(notebook, (master.parent / CHECKS_NAME).read_text())
    folder.mkdir()
    for side_file in master.parent.iterdir():  # requirements.txt and what the master names
        if side_file.is_file() and side_file != master:
            shutil.copy(side_file, folder / side_file.name)
    nbformat.write(notebook, folder / master.name)
    return folder / master.name


def build_assignment(out: Path, master: Path = MASTER) -> BuildReport:
    """Run ``otter assign`` on ``master`` into ``out`` and verify the autograder."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aelab-build-") as scratch:
        scratch = Path(scratch)
        mnist = unpack_mnist(scratch / "mnist")
        dist = scratch / "dist"
        assignable = _assignable_master(master, scratch / "master")
        # --no-run-tests: otter would grade the solution too; the proof below does it once.
        assign = subprocess.run(
            [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(assignable), str(dist)],
            capture_output=True,
            text=True,
        )
        if assign.returncode != 0:
            raise BuildError(
                "otter assign failed:\n" + assign.stdout[-3000:] + assign.stderr[-3000:]
            )
        locks = lock_problems(nbformat.read(dist / "student" / NOTEBOOK_NAME, as_version=4))
        if locks:
            raise BuildError("The student notebook's cell locks are wrong:\n" + "\n".join(locks))
        for kind in ("student", "solution"):  # replace only what the build makes
            shutil.rmtree(out / kind, ignore_errors=True)
            (out / kind).mkdir(parents=True)
        shutil.copy(dist / "student" / NOTEBOOK_NAME, out / "student" / NOTEBOOK_NAME)
        shutil.copy(dist / "autograder" / NOTEBOOK_NAME, out / "solution" / NOTEBOOK_NAME)
        (zip_path,) = (dist / "autograder").glob("*.zip")
        shutil.copy(zip_path, out / "autograder.zip")
        _add_files(out / "autograder.zip", master.parent / CHECKS_NAME, nbformat.read(master, 4))
        for notebook in (out / "student" / NOTEBOOK_NAME, out / "solution" / NOTEBOOK_NAME):
            _stable_cell_ids(notebook)
        # The proof grades as `aelab grade` does (sandboxed where bubblewrap runs).
        autograder = read_autograder(out / "autograder.zip")
        options = RunOptions(
            isolation="bwrap" if bwrap_available() else "none", threads=os.cpu_count() or 1
        )
        solution, blank = (
            grade_notebook(
                nbformat.read(out / kind / NOTEBOOK_NAME, as_version=4), autograder, mnist, options
            )
            for kind in ("solution", "student")
        )
        for kind, grade in (("solution", solution), ("blank", blank)):
            if grade.status != GRADED:
                raise BuildError(f"Grading the {kind} notebook: {grade.status}: {grade.reason}")
    report = BuildReport(
        student_notebook=str(out / "student" / NOTEBOOK_NAME),
        solution_notebook=str(out / "solution" / NOTEBOOK_NAME),
        autograder_zip=str(out / "autograder.zip"),
        solution_score=solution.total,
        blank_score=blank.total,
        possible=solution.possible,
        seconds=time.perf_counter() - started,
    )
    (out / "build_report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    if solution.total != solution.possible or solution.possible == 0:
        lost = [f"{t['question']} {t['name']}: {t['message']}" for t in solution.tests]
        lost = [line for line, t in zip(lost, solution.tests, strict=True) if not t["passed"]]
        raise BuildError("The reference solution loses points:\n" + "\n".join(lost))
    if blank.total != 0:
        raise BuildError(f"The blank student notebook earns {blank.total} points: {blank.scores}")
    return report
