"""The master notebook's code run in this process, and its tests as calls into lab_checks.

Fast: no otter, no kernel, no notebook build. The two long training runs are cut short as
grading cuts them (1 epoch of 4 batches per pass): no check needs a trained model.
"""

from __future__ import annotations

import contextlib
import linecache
import os
from dataclasses import dataclass
from pathlib import Path

import lab_checks
import matplotlib
import nbformat

from aelab.data import default_root
from aelab.grading.runner import RunOptions
from aelab.lab import load_lab
from aelab.master import given_cells, read_tests
from aelab.student_side.objects import InProcess
from aelab.student_side.worker import BatchCap

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
LAB = load_lab(ROOT / "notebooks" / "autoencoders_mnist")  # this project's lab
MASTER = LAB.master_path
NOTEBOOK_NAME = LAB.master


@dataclass(frozen=True)
class MasterTest:
    """One test cell of the master: its question, name, points and the check it calls."""

    question: str
    name: str
    points: float
    hidden: bool
    call: str  # e.g. 'early_stopping(env, "autoencoder")'

    def run(self, env: dict) -> None:
        """Run the check on ``env`` (beside the project's MNIST, as the grader's judge runs it
        beside its own); raises what the check raises."""
        student = InProcess(env, data_root=str(default_root()))
        eval(f"lab_checks.{self.call}", {"lab_checks": lab_checks, "env": student})


def master_cells() -> list[nbformat.NotebookNode]:
    return nbformat.read(MASTER, as_version=4).cells


def master_tests() -> list[MasterTest]:
    """Every test cell of the master, in order (read as the build reads them)."""
    found = read_tests(nbformat.read(MASTER, as_version=4), LAB.checks_module)
    return [MasterTest(t.question, t.name, t.points, t.hidden, t.call) for t in found]


def code_cells(cells: list[nbformat.NotebookNode]) -> list[str]:
    """The lab's own code cells (solutions included; tests, otter's cells and magics left out)."""
    sources = []
    for cell in cells:
        if cell.cell_type != "code" or "# BEGIN TEST CONFIG" in cell.source:
            continue
        if "otter_ignore" in cell.metadata.get("tags", []):  # otter's set-up and the export
            continue
        lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith("%")]
        sources.append("\n".join(lines))
    return sources


def run_lab(sources: list[str], env: dict | None = None) -> dict:
    """Execute ``sources`` in order in ``env`` (a new namespace by default) and return it."""
    os.environ.setdefault("AELAB_DATA_ROOT", str(default_root()))
    os.environ["AELAB_EPOCH_CAP"] = "1"
    env = {"__name__": "__main__"} if env is None else env
    cap = BatchCap(RunOptions().batch_cap)
    for source in sources:
        # as IPython does: the cell's source in linecache, so that inspect.getsource works
        filename = f"<lab cell {len(linecache.cache)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        with cap if LAB.cap_marker in source else contextlib.nullcontext():
            exec(compile(source, filename, "exec"), env)
    import matplotlib.pyplot as plt

    plt.close("all")
    return env


def with_mistake(sources: list[str], env: dict, mistake) -> tuple[dict, bool]:
    """The namespace after ``mistake``'s cell ran instead of the master's, then its question's
    given cells (grading runs them after the answer), and whether one of those raised."""
    (index,) = [i for i, source in enumerate(sources) if mistake.matches(source)]
    made = run_lab([mistake.apply(sources[index])], dict(env))
    try:
        run_lab(given_cells(nbformat.read(MASTER, as_version=4)).get(mistake.question, []), made)
    except Exception:  # any error of a given cell costs the question
        return made, True
    return made, False


def mistake_cost(own: list[MasterTest], failed: set[str], given_failed: bool) -> float:
    """What a mistake costs: its question's failed tests, or all of them when a given cell broke."""
    return sum(test.points for test in own if given_failed or test.name in failed)


def question_points() -> dict[str, float]:
    """Each autograded question's points, from the master's tests (as the build counts them)."""
    points: dict[str, float] = {}
    for test in master_tests():
        points[test.question] = points.get(test.question, 0.0) + test.points
    return points


def score(points: float) -> str:
    """A score as results.csv and the gradebook import write it (``38``, ``34.5``)."""
    return f"{points:g}"


def score_with_mistakes(questions: set[str], number: int = 0) -> float:
    """What the solution with round ``number``'s mistakes of ``questions`` scores."""
    from student_work import mistake_round  # student_work imports this module

    lost = sum(m.points_lost for m in mistake_round(number) if m.question in questions)
    return LAB.points - lost
