"""Grading speed on a class like a real one, where the time goes, and agreement with full length.

A class is mostly finished notebooks (the reference solution and the realistic mistakes of
``tests/student_work.py``) with a few blank or broken ones. The benchmark builds the lab,
grades the class with ``aelab grade``'s machinery (sandbox on, default workers), reports
wall and CPU seconds per submission and the projection for 100 and 200 submissions,
breaks one complete submission down (sandbox and imports, notebook cells, each question's
tests), and grades one notebook of each kind without the epoch cap to check that every
score is the same. ``--baseline REV`` grades the same class with the code of git revision
REV (its own build and grader, from a worktree) in the same run. ``--cluster [ADDRESS]`` grades
it ``--rounds`` more times through ``aelab grade --cluster`` (by default on a Dask
``LocalCluster`` here: one worker process with the local pool's threads) and as often on the
local pool, alternately, and reports the cluster's overhead (the difference of the means).

    .venv/bin/python benchmarks/grading_speed.py [--size 20] [--complete] [--baseline REV]
        [--full-length] [--cluster [ADDRESS]] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "notebooks" / "autoencoders_mnist"  # the lab benchmarked: its folder
sys.path[:0] = [str(ROOT / "tests"), str(LAB)]  # student_work: realistic work

import student_work as work  # noqa: E402

from aelab.build import build_assignment  # noqa: E402
from aelab.data import unpack_mnist  # noqa: E402
from aelab.grading.autograder import read_autograder  # noqa: E402
from aelab.grading.pipeline import GradingOptions, grade_submissions  # noqa: E402
from aelab.grading.runner import RunOptions, grade_notebook  # noqa: E402
from aelab.lab import load_lab  # noqa: E402


def make_class(built: Path, size: int, folder: Path, complete: bool = False) -> dict[str, str]:
    """``size`` Canvas-named files: 80 % complete (solution or a round of mistakes), the rest
    blank or broken (or all complete); their kinds by file name."""
    folder.mkdir(parents=True)
    every = {mistake.question for mistake in work.MISTAKES}
    rounds = max(len([m for m in work.MISTAKES if m.question == q]) for q in every)
    kinds = {}
    for index in range(size):
        user_id = 1000 + index
        name = f"student{index}_{user_id}_{5000 + index}_autoencoders_mnist.ipynb"
        if index % 10 == 8 and not complete:
            kinds[name], notebook = "blank", work.blank(built)
        elif index % 10 == 9 and not complete:
            kinds[name], notebook = "broken", None
        elif index % 2 == 0:
            kinds[name], notebook = "solution", work.solution(built)
        else:
            number = (index // 2) % rounds
            kinds[name], notebook = f"mistakes-{number}", work.with_mistakes(built, every, number)
        if notebook is None:
            (folder / name).write_text('{"cells": [')
        else:
            work.write(
                work.with_team(notebook, [(f"Student {index}", str(user_id))]), folder / name
            )
    return kinds


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``): sandboxed
    kernels are not this process's waited-for children, so only the machine sees them all.
    Run the benchmark on an otherwise idle machine."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def grade(download: Path, out: Path, options: GradingOptions) -> tuple[float, float, dict]:
    """Wall and CPU (grader and sandboxes) seconds, and every row's per-question scores."""
    cpu, started = machine_cpu(), time.perf_counter()
    summary = grade_submissions(download, out, options, progress=False)
    wall = time.perf_counter() - started
    cpu = machine_cpu() - cpu
    return wall, cpu, {row.file: row for row in summary.rows}


def breakdown(built: Path, mnist: Path, threads: int) -> dict[str, float]:
    """Seconds of one complete submission by phase, as the grader measured them."""
    autograder = read_autograder(built / "autograder.zip")
    grade = grade_notebook(work.solution(built), autograder, mnist, RunOptions(threads=threads))
    return {**grade.phases, "total": round(grade.seconds, 2)}


def baseline(revision: str, scratch: Path, download: Path) -> dict[str, float]:
    """The same class graded by the code of ``revision`` (its own build and grader)."""
    tree = scratch / f"baseline-{revision}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision],
                   check=True, capture_output=True)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    try:
        script = f"""
import inspect, sys, time
from pathlib import Path
from aelab.build import build_assignment
from aelab.grading.pipeline import GradingOptions, grade_submissions
out = Path({str(scratch / "baseline-build")!r})
if len(inspect.signature(build_assignment).parameters) > 1:  # revisions with lab.toml
    from aelab.lab import load_lab
    build_assignment(out, load_lab())  # the revision's own default lab
else:
    build_assignment(out)
options = GradingOptions(autograder_zip=out / "autograder.zip")
grades = Path({str(scratch / "baseline-grades")!r})
import os
{inspect.getsource(machine_cpu)}
started, cpu = time.perf_counter(), machine_cpu()
grade_submissions(Path({str(download)!r}), grades, options, progress=False)
print(time.perf_counter() - started, machine_cpu() - cpu)
"""
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tree,
                              check=True, capture_output=True, text=True)  # fmt: skip
        wall, cpu = map(float, done.stdout.split()[-2:])
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)  # fmt: skip
    return {"wall": wall, "cpu": cpu}


def against_cluster(
    address: str, download: Path, scratch: Path, options: GradingOptions, rounds: int
) -> dict:
    """The class graded ``rounds`` times through ``--cluster`` and as often on the local pool,
    one after the other (a machine that gets busier or quieter counts for neither): at
    ``address``, or ("local") on a LocalCluster here with one worker process running as many
    notebooks at once as the local pool (the same torch threads per notebook). The cluster is
    started before the clocks, as a real one runs before ``aelab grade`` does."""
    from distributed import LocalCluster

    walls: dict[str, list[float]] = {"cluster": [], "local": []}
    first, same = None, True
    with contextlib.ExitStack() as stack:
        if address == "local":
            cluster = LocalCluster(
                n_workers=1, threads_per_worker=options.workers, dashboard_address=None
            )
            address = stack.enter_context(cluster).scheduler_address
        there = replace(options, cluster=address)
        for number in range(rounds):
            for kind, chosen in (("cluster", there), ("local", options)):
                wall, _, rows = grade(download, scratch / f"{kind}-{number}", chosen)
                walls[kind].append(round(wall, 1))
                scores = {name: row.scores for name, row in rows.items()}
                first = first or scores
                same = same and scores == first
    mean = {kind: sum(seconds) / rounds for kind, seconds in walls.items()}
    overhead = 100 * (mean["cluster"] - mean["local"]) / mean["local"]
    return {"walls": walls, "same_scores": same, "overhead_percent": round(overhead, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=20, help="submissions in the class")
    parser.add_argument("--baseline", help="a git revision to grade the same class with")
    parser.add_argument("--full-length", action="store_true", help="check agreement uncapped")
    parser.add_argument("--complete", action="store_true", help="every submission complete")
    parser.add_argument(
        "--cluster", nargs="?", const="local", metavar="ADDRESS",
        help="also grade on a Dask cluster (default: a LocalCluster here)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="of --cluster and local runs")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="aelab-grading-bench-"))
    built = scratch / "autograder"
    started = time.perf_counter()
    build_assignment(built, load_lab(LAB))
    build_seconds = time.perf_counter() - started
    options = GradingOptions(autograder_zip=built / "autograder.zip")
    cores = os.cpu_count() or 1
    report = {"cores": cores, "workers": options.workers, "build_seconds": round(build_seconds, 1)}
    print(f"{cores} cores, {options.workers} workers; build {build_seconds:.0f} s")

    download = scratch / "class"
    kinds = make_class(built, args.size, download, args.complete)
    finished = [name for name, kind in kinds.items() if not kind.startswith(("blank", "broken"))]
    complete = len(finished)
    wall, cpu, graded = grade(download, scratch / "grades", options)
    own = [graded[name].seconds for name in finished]  # each notebook's own wall time
    rows = {"submissions": args.size, "complete": complete, "wall": wall, "cpu": cpu,
            "complete_notebook_own_seconds": round(sum(own) / len(own), 2)}  # fmt: skip
    report["class"] = rows
    each = wall / args.size
    print(f"class of {args.size} ({complete} complete, each {rows['complete_notebook_own_seconds']}"
          f" s on its own): {wall:.1f} s wall, {cpu:.1f} s CPU; "
          f"{each:.2f} s wall and {cpu / args.size:.2f} s CPU per submission; "
          f"100 in {100 * each / 60:.1f} min, 200 in {200 * each / 60:.1f} min")  # fmt: skip
    alone = rows["complete_notebook_own_seconds"] / options.workers
    print(f"a class of complete notebooks only: 100 in {100 * alone / 60:.1f} min, "
          f"200 in {200 * alone / 60:.1f} min")  # fmt: skip

    if args.cluster:
        found = against_cluster(args.cluster, download, scratch, options, args.rounds)
        report["cluster"] = {"address": args.cluster, **found}
        print(f"on the cluster ({args.cluster}) and here, alternately: {found['walls']} s wall; "
              f"the cluster's overhead: {found['overhead_percent']:+.1f} % of the local pool's "
              f"mean; same scores every time: {found['same_scores']}")  # fmt: skip

    mnist = unpack_mnist(scratch / "mnist")
    phases = breakdown(built, mnist, threads=max(1, cores // options.workers))
    report["one_complete_submission"] = {k: round(v, 2) for k, v in phases.items()}
    print("one complete submission, seconds:", json.dumps(report["one_complete_submission"]))

    if args.baseline:
        old = baseline(args.baseline, scratch, download)
        report["baseline"] = {"revision": args.baseline, **old}
        print(f"baseline {args.baseline}: {old['wall']:.1f} s wall, {old['cpu']:.1f} s CPU; "
              f"{old['wall'] / args.size:.2f} s per submission; this code is "
              f"{old['wall'] / wall:.2f}x faster")  # fmt: skip

    if args.full_length:
        sample = scratch / "sample"
        sample.mkdir()
        seen = set()
        for name, kind in kinds.items():
            if kind not in seen and kind != "broken":
                seen.add(kind)
                (sample / name).write_bytes((download / name).read_bytes())
        capped = grade(sample, scratch / "sample-capped", options)[2]
        long_run = RunOptions(epoch_cap=None, cell_timeout=7200, timeout=10800)
        full = GradingOptions(autograder_zip=built / "autograder.zip", run=long_run)
        full_wall, _, uncapped = grade(sample, scratch / "sample-full", full)
        same = {name: capped[name].scores == uncapped[name].scores for name in capped}
        report["full_length"] = {"notebooks": len(same), "seconds": round(full_wall),
                                 "identical": all(same.values())}  # fmt: skip
        print(
            f"full length: {len(same)} notebooks ({', '.join(sorted(seen))}) in "
            f"{full_wall:.0f} s; per-question scores identical to capped: {all(same.values())}"
        )
        for name in sorted(same):
            print(
                f"  {kinds[name]:12s} capped {sum(capped[name].scores.values()):g}, "
                f"full {sum(uncapped[name].scores.values()):g}"
            )
    print(json.dumps(report, indent=2, default=round))


if __name__ == "__main__":
    main()
