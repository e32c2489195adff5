"""Grading speed: seconds per submission for 1, 10 and 50 submissions, and full-length agreement.

Builds the assignment (or uses --autograder), makes Canvas-named submissions from the reference
solution, realistic wrong variants and the blank notebook, grades them with `aelab grade`'s
machinery (default workers) in each isolation asked for (bwrap: the default sandbox; none:
--unsafe-no-sandbox, for comparison), then grades one of each variant at full length (no
epoch cap: the students' own 100 + 5 epochs) and checks every score is identical.

    .venv/bin/python benchmarks/grading_speed.py [--sizes 1 10 50] [--isolation bwrap none]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # student_work: realistic submissions

import student_work as work  # noqa: E402

from aelab.build import build_assignment  # noqa: E402
from aelab.grading import GradingOptions, grade_submissions  # noqa: E402
from aelab.grading.runner import RunOptions  # noqa: E402
from aelab.lab import load_lab  # noqa: E402


def variants(built: Path) -> dict:
    every = {mistake.question for mistake in work.MISTAKES}
    return {
        "solution": work.solution(built),
        "blank": work.blank(built),
        "all-mistakes": work.with_mistakes(built, every),
        "loader-and-interpolation": work.with_mistakes(built, {"q1", "q6"}),
        "kl-and-prior": work.with_mistakes(built, {"q9", "q10"}),
    }


def make_download(built: Path, count: int, folder: Path) -> Path:
    folder.mkdir(parents=True)
    kinds = variants(built)
    for index in range(count):
        kind = list(kinds)[index % len(kinds)]
        user_id = 1000 + index
        notebook = work.with_team(kinds[kind], [(f"Student {index}", str(user_id))])
        work.write(notebook, folder / f"student{index}_{user_id}_{5000 + index}_{kind}.ipynb")
    return folder


def grade(download: Path, out: Path, options: GradingOptions) -> tuple[float, dict]:
    started = time.perf_counter()
    summary = grade_submissions(download, out, options, progress=False)
    seconds = time.perf_counter() - started
    return seconds, {row.file: row.scores for row in summary.rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--autograder", type=Path, help="a built assignment folder to reuse")
    parser.add_argument("--isolation", nargs="+", default=["bwrap"], choices=["bwrap", "none"])
    parser.add_argument("--skip-full-length", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="aelab-grading-bench-"))
    built = args.autograder or scratch / "autograder"
    if not args.autograder:
        build_assignment(built, load_lab(ROOT / "notebooks"))
    options = GradingOptions(autograder_zip=built / "autograder.zip")
    print(f"{os.cpu_count()} cores, {options.workers} workers, epoch cap {options.run.epoch_cap}")
    report = {"cores": os.cpu_count(), "workers": options.workers, "runs": []}
    for size in args.sizes:
        download = make_download(built, size, scratch / f"download-{size}")
        for isolation in args.isolation:
            run = GradingOptions(options.autograder_zip, run=RunOptions(isolation=isolation))
            seconds, _ = grade(download, scratch / f"grades-{size}-{isolation}", run)
            line = {"submissions": size, "isolation": isolation, "seconds": round(seconds, 1)}
            report["runs"].append(line)
            print(
                f"{size:3d} submissions, {isolation:5s}: {seconds:7.1f} s total, "
                f"{seconds / size:5.1f} s each"
            )
    if not args.skip_full_length:
        count = len(variants(built))
        download = make_download(built, count, scratch / "download-full")
        long_run = RunOptions(epoch_cap=None, cell_timeout=7200, timeout=10800)
        full = GradingOptions(autograder_zip=built / "autograder.zip", run=long_run)
        seconds, scores = grade(download, scratch / "grades-full", full)
        _, short = grade(download, scratch / "grades-short", options)
        same = all(scores[name] == short[name] for name in scores)
        report["full_length"] = {
            "submissions": count,
            "seconds": round(seconds, 1),
            "identical_scores": same,
            "totals": {name: sum(s.values()) for name, s in scores.items()},
        }
        print(f"full length: {seconds:.0f} s for {count} submissions; scores identical: {same}")
        for name in scores:
            capped_total, full_total = sum(short[name].values()), sum(scores[name].values())
            print(f"  {name}: capped {capped_total:g}, full {full_total:g}")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
