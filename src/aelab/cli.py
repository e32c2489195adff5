"""The ``aelab`` command: train the reference models, build the assignment, grade submissions."""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path


def _reference(args: argparse.Namespace) -> int:
    from aelab.reference import run_reference

    metrics = run_reference(args.out, args.ae_epochs, args.vae_epochs, args.seed, args.device)
    print(json.dumps(metrics["test_mse"], indent=2))
    print(f"Figures and metrics.json written to {args.out}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from aelab.build import BuildError, build_assignment

    try:
        report = build_assignment(args.out)
    except BuildError as error:
        print(f"Build failed: {error}", file=sys.stderr)
        return 1
    print(f"Student notebook: {report.student_notebook}")
    print(f"Autograder:       {report.autograder_zip}")
    print(
        f"Reference solution scores {report.solution_score:g}/{report.possible:g}; "
        f"blank notebook scores {report.blank_score:g}. Built in {report.seconds:.0f} s."
    )
    return 0


def _grade(args: argparse.Namespace) -> int:
    from aelab.canvas import GradebookError, read_gradebook
    from aelab.grading import GradingOptions, grade_submissions

    if not args.autograder.is_file():
        print(f"No autograder at {args.autograder}: run `aelab build` first.", file=sys.stderr)
        return 1
    if not args.submissions.exists():
        print(f"No submissions at {args.submissions}.", file=sys.stderr)
        return 1
    if args.submissions.is_file() and not zipfile.is_zipfile(args.submissions):
        print(f"{args.submissions} is neither a folder nor a zip file.", file=sys.stderr)
        return 1
    gradebook = column = None
    if args.gradebook:
        try:
            gradebook = read_gradebook(args.gradebook)
            column = gradebook.assignment_column(args.assignment)
        except (GradebookError, OSError) as error:
            print(f"Gradebook: {error}", file=sys.stderr)
            return 1
    options = GradingOptions(
        autograder_zip=args.autograder,
        workers=args.workers,
        timeout=args.timeout or (1800 if args.full_length else 300),
        memory_gb=args.memory_gb,
        epoch_cap=None if args.full_length else args.epoch_cap,
        docker=args.docker,
    )
    try:
        summary = grade_submissions(args.submissions, args.out, options, gradebook, column)
    except KeyboardInterrupt:
        print("\nStopped. Run the same command again to grade what is left.", file=sys.stderr)
        return 130
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts().items()))
    print(
        f"{len(summary.rows)} files: {counts}. {summary.graded_now} graded in this run, "
        f"{summary.seconds:.0f} s."
    )
    for conflict in summary.conflicts:
        print(f"Conflict: {conflict}")
    print(f"Results: {args.out / 'results.csv'}; feedback: {args.out / 'feedback'}/")
    if column:
        print(f"Canvas import ({column}): {args.out / 'gradebook_import.csv'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, one sub-command per job."""
    parser = argparse.ArgumentParser(prog="aelab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "build", help="regenerate the student notebook and autograder from the master notebook"
    )
    build.add_argument("--out", type=Path, default=Path("autograder"))
    build.set_defaults(run=_build)

    grade = commands.add_parser(
        "grade",
        help="grade a Canvas 'Download Submissions' zip (or folder): results, feedback, gradebook",
        description="Grade every submission without Docker: each notebook runs in its own "
        "folder and process with a timeout, a memory limit and a scrubbed environment. "
        "This guards against accidents, not attacks: students' code runs as you.",
    )
    grade.add_argument("submissions", type=Path, help="submissions.zip from Canvas, or a folder")
    grade.add_argument("--gradebook", type=Path, help="the gradebook CSV exported from Canvas")
    grade.add_argument("--assignment", help="the gradebook column to fill (title or id)")
    grade.add_argument("--autograder", type=Path, default=Path("autograder/autograder.zip"))
    grade.add_argument("--out", type=Path, default=Path("grades"))
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    grade.add_argument(
        "--timeout",
        type=float,
        help="seconds per submission (default 300; 1800 with --full-length)",
    )
    grade.add_argument("--memory-gb", type=float, default=6.0, help="memory limit per submission")
    grade.add_argument("--epoch-cap", type=int, default=1, help="cap on the long training runs")
    grade.add_argument(
        "--full-length", action="store_true", help="no epoch cap (as slow as the students' runs)"
    )
    grade.add_argument(
        "--docker",
        action="store_true",
        help="grade in otter's Docker containers (no network) instead of sandboxed processes",
    )
    grade.set_defaults(run=_grade)

    reference = commands.add_parser(
        "reference", help="train the reference AE and VAE; write figures and metrics.json"
    )
    reference.add_argument("--out", type=Path, default=Path("out/reference"))
    reference.add_argument("--ae-epochs", type=int, default=100)
    reference.add_argument("--vae-epochs", type=int, default=100)
    reference.add_argument("--seed", type=int, default=0)
    reference.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    reference.set_defaults(run=_reference)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``aelab`` console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
