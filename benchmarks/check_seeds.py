"""Do the checks depend on a lucky draw? Every check on the solution, and every known mistake's
cost, under many seeds, each test seeded as the grader's judge seeds it.

The judge draws each check's inputs afresh for each notebook (``torch.manual_seed(seed +
index)`` before test ``index``), so a check that passes the solution, or charges a mistake
its points, only for some seeds would grade by luck. This runs the master's code in this
process (as the fast tests do, beside the project's MNIST) and counts, per test, the seeds on
which the solution fails, and per mistake, the seeds on which it does not cost exactly its
points.

    .venv/bin/python benchmarks/check_seeds.py [--seeds 40] [--mistake-seeds 8]
        [--questions q1,q2,...] [--tests test_a,test_b] [--styles]

``--styles``: the correct notebooks of tests/independent_work.py too, each like the solution.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "notebooks" / "autoencoders_mnist"  # the lab benchmarked: its folder
sys.path[:0] = [str(ROOT / "tests"), str(LAB)]

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from independent_work import VARIANTS, style_sources  # noqa: E402
from lab_env import (  # noqa: E402
    code_cells,
    master_cells,
    master_tests,
    mistake_cost,
    run_lab,
    with_mistake,
)
from student_work import MISTAKES  # noqa: E402


def failures(tests, env, seed: int) -> dict[str, str]:
    """The tests that fail on ``env`` with the judge's seeding for ``seed``, and why."""
    failed = {}
    for index, test in tests:
        torch.manual_seed(seed + index)
        try:
            test.run(env)
        except Exception as error:
            failed[test.name] = str(error)[:160]
    plt.close("all")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=40, help="seeds for the solution")
    parser.add_argument("--mistake-seeds", type=int, default=8, help="seeds for each mistake")
    parser.add_argument("--questions", help="only these questions' mistakes (comma-separated)")
    parser.add_argument("--tests", help="only these tests (names, comma-separated)")
    parser.add_argument(
        "--styles", action="store_true", help="the independently written styles, like the solution"
    )
    args = parser.parse_args()
    everything = list(enumerate(master_tests()))
    tests = everything
    if args.tests:
        tests = [(index, test) for index, test in tests if test.name in args.tests.split(",")]
    sources = code_cells(master_cells())
    env = run_lab(sources)
    correct = {"solution": env}
    if args.styles:
        correct.update({name: run_lab(style_sources(sources, name)) for name in VARIANTS})
    for name, notebook in correct.items():
        solution = collections.Counter()
        for seed in range(args.seeds):
            for test, why in failures(tests, notebook, seed * 1000).items():
                solution[test] += 1
                print(f"{name}, seed {seed}: {test} failed: {why}", flush=True)
        failed = sum(solution.values())
        print(f"{name}: {failed} failures in {args.seeds} seeds x {len(tests)} tests", flush=True)
    wanted = set(args.questions.split(",")) if args.questions else None
    wrong = collections.Counter()
    for number, mistake in enumerate(MISTAKES):
        if wanted and mistake.question not in wanted:
            continue
        made, given_failed = with_mistake(sources, env, mistake)
        own = [(index, test) for index, test in everything if test.question == mistake.question]
        for seed in range(args.mistake_seeds):
            failed = failures(own, made, seed * 1000)
            lost = mistake_cost([test for _, test in own], set(failed), given_failed)
            if lost != mistake.points_lost:
                wrong[number] += 1
                print(f"mistake {number} ({mistake.question}), seed {seed}: cost {lost:g}, not "
                      f"{mistake.points_lost:g}: {sorted(failed)}", flush=True)  # fmt: skip
    print(f"mistakes: {sum(wrong.values())} wrong costs in {args.mistake_seeds} seeds each")


if __name__ == "__main__":
    main()
