"""Time to write the class report for a class of 200, beyond grading.

A small class is graded for real (the solution, two independently written correct notebooks,
two rounds of mistakes, a blank one); its record is then grown to ``--size`` rows, each
student's code a new mix: every answer written in one of the three styles at random, and
one student in twenty handing in a renamed, reordered copy of another's notebook. That
is far more alike than a real class (three ways to write each answer), so the similarity
check compares many more pairs in full than it would in a real one.

    .venv/bin/python benchmarks/report_speed.py [--size 200]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "notebooks" / "autoencoders_mnist"  # the lab benchmarked: its folder
sys.path[:0] = [str(ROOT / "tests"), str(LAB)]

import independent_work as independent  # noqa: E402
import student_work as work  # noqa: E402

from aelab.build import build_assignment  # noqa: E402
from aelab.grading.pipeline import GradingOptions, grade_submissions  # noqa: E402
from aelab.lab import load_lab  # noqa: E402
from aelab.record import RECORD  # noqa: E402
from aelab.report.class_report import write_report  # noqa: E402
from aelab.submissions import read_student_code  # noqa: E402


def mixed(built: Path, rng: random.Random):
    """The solution with each answer written in one of the three styles, chosen at random."""
    styles = {marker: rng.choice([None, *independent.VARIANTS]) for marker in independent.LOOPS}
    answers = {m: independent.VARIANTS[s][m] for m, s in styles.items() if s}
    return independent.with_answers(built, answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="aelab-report-bench-"))
    built = scratch / "autograder"
    build_assignment(built, load_lab(LAB))
    download = scratch / "class"
    download.mkdir()
    every = {m.question for m in work.MISTAKES}
    small = [work.solution(built), work.blank(built)]
    small += [independent.variant(built, name) for name in independent.VARIANTS]
    small += [work.with_mistakes(built, every, n) for n in range(2)]
    for index, notebook in enumerate(small):
        name = f"student{index}_{500 + index}_{900 + index}_autoencoders_mnist.ipynb"
        work.write(notebook, download / name)
    grades = scratch / "grades"
    grade_submissions(download, grades, GradingOptions(built / "autograder.zip"), progress=False)

    record = json.loads((grades / RECORD).read_text())
    scaffold = record["scaffold"]
    graded = [row for row in record["rows"] if row["status"] == "graded"]
    rng = random.Random(0)
    rows, notebooks = [], []
    for index in range(args.size):
        if index % 20 == 19:
            notebook = independent.disguised(notebooks[rng.randrange(len(notebooks))])
        else:
            notebook = mixed(built, rng)
        notebooks.append(notebook)
        row = dict(graded[index % len(graded)])
        row.update(student=f"student{index}", user_id=str(1000 + index), team=[],
                   file=f"student{index}_{1000 + index}_{5000 + index}_x.ipynb",
                   code=read_student_code(notebook, scaffold))  # fmt: skip
        rows.append(row)
    record["rows"] = rows
    folder = scratch / "big"
    folder.mkdir()
    (folder / RECORD).write_text(json.dumps(record))
    started = time.perf_counter()
    write_report(folder)
    seconds = time.perf_counter() - started
    report = json.loads((folder / "report.json").read_text())
    size = (folder / "report.html").stat().st_size / 1e6
    print(
        f"{args.size} submissions: report in {seconds:.1f} s; {len(report['similar']['pairs'])} "
        f"similar pairs in {len(report['similar']['groups'])} groups; report.html {size:.1f} MB"
    )


if __name__ == "__main__":
    main()
