"""Build the assignment from the master notebook: student notebook, autograder, and proof.

``otter assign`` splits the master into a student notebook and an autograder. The build
then makes the outputs reproducible (stable cell ids, a fixed zip name) and grades the
reference solution and the untouched student notebook with the new autograder: the
solution must earn every autograded point and the blank notebook none.
"""

from __future__ import annotations

import json
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
from aelab.data import verify_raw_files
from aelab.otter_run import GradingError, extract_mnist, grade_notebook, grading_environment

PROJECT = Path(__file__).resolve().parents[2]
MASTER = PROJECT / "notebooks" / "autoencoders_mnist.ipynb"
NOTEBOOK_NAME = MASTER.name


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


def _add_mnist(autograder_zip: Path) -> None:
    """Ship the MNIST archives in the autograder (its ``files/`` land next to the notebook).

    A grading container then finds ``data/MNIST/raw`` where the notebook looks by default
    and needs no network; torchvision checks their MD5s and unpacks them.
    """
    with zipfile.ZipFile(autograder_zip, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(verify_raw_files().glob("*.gz")):
            member = zipfile.ZipInfo(f"files/data/MNIST/raw/{path.name}", (1980, 1, 1, 0, 0, 0))
            archive.writestr(member, path.read_bytes())


def build_assignment(out: Path, master: Path = MASTER) -> BuildReport:
    """Run ``otter assign`` on ``master`` into ``out`` and verify the autograder."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aelab-build-") as scratch:
        scratch = Path(scratch)
        mnist = extract_mnist(scratch / "mnist")
        dist = scratch / "dist"
        # --no-run-tests: otter would grade the solution too; the proof below does it once.
        assign = subprocess.run(
            [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(master), str(dist)],
            env=grading_environment(scratch, mnist),
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
        _add_mnist(out / "autograder.zip")
        for notebook in (out / "student" / NOTEBOOK_NAME, out / "solution" / NOTEBOOK_NAME):
            _stable_cell_ids(notebook)
        try:
            solution, blank = (
                grade_notebook(
                    out / "autograder.zip", out / kind / NOTEBOOK_NAME, scratch / kind, mnist
                )
                for kind in ("solution", "student")
            )
        except GradingError as error:
            raise BuildError(f"Grading with the new autograder failed: {error}") from error
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
        lost = {q: s for q, s in solution.scores.items() if s < solution.max_scores[q]}
        raise BuildError(f"The reference solution loses points: {lost}")
    if blank.total != 0:
        raise BuildError(f"The blank student notebook earns {blank.total} points: {blank.scores}")
    return report
