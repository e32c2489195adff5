"""The ``aelab`` command: train the reference models, build the assignment, grade submissions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _reference(args: argparse.Namespace) -> int:
    from aelab.reference import run_reference

    metrics = run_reference(args.out, args.ae_epochs, args.vae_epochs, args.seed, args.device)
    print(json.dumps(metrics["test_mse"], indent=2))
    print(f"Figures and metrics.json written to {args.out}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from aelab.build import BuildError, build_assignment
    from aelab.lab import LabError, load_lab

    try:
        lab = load_lab(args.lab)
    except LabError as error:
        print(f"Build failed: {error}", file=sys.stderr)
        return 1
    print(f"Lab:    {lab.title} ({lab.folder / 'lab.toml'})")
    print(f"Master: {lab.master_path} (sha256 {lab.master_sha256()[:16]})")
    try:
        report = build_assignment(args.out, lab)
    except BuildError as error:
        print(f"Build failed: {error}", file=sys.stderr)
        if args.verbose and error.details:
            print(error.details, file=sys.stderr)
        elif error.details:
            print("(--verbose shows the tool's whole output)", file=sys.stderr)
        print(f"Nothing of an earlier build is left in {args.out}.", file=sys.stderr)
        return 1
    for name, question in report.questions.items():
        split = (
            "written"
            if question.get("written")
            else f"public {question['public']:g} + hidden {question['hidden']:g}"
        )
        print(f"  {name:12s} {question['points']:4g} points ({split})")
    for title, lines in (
        ("Given code changed since the last build (read it: students get all of it)",
         report.given_changes),
        ("Points changed since the last build", report.points_changes),
    ):  # fmt: skip
        if lines:
            print(f"{title}:")
            print("\n".join(f"  {line}" for line in lines))
    print(f"Student notebook: {report.student_notebook}")
    print(f"Autograder:       {report.autograder_zip}")
    print(f"Filled handout:   {report.filled_notebook} (a finished student's notebook)")
    column = report.canvas_assignment or "(none in lab.toml: aelab grade needs --assignment)"
    print(f"Canvas column:    {column} (aelab grade fills it)")
    independent = ", ".join(f"{k.split(' ', 1)[1]} {v:g}" for k, v in report.independent.items())
    print(
        f"Reference solution scores {report.solution_score:g}/{report.possible:g} autograded "
        f"(+ {report.written_points:g} written); blank notebook scores {report.blank_score:g}"
        + (f"; independently written notebooks: {independent}" if independent else "")
        + f". Built in {report.seconds:.0f} s."
    )
    return 0


def _grade(args: argparse.Namespace) -> int:
    from aelab.grading.pipeline import GradingError, grade_submissions

    try:
        options, gradebook, column, autograder = _grading_inputs(args)
        summary = grade_submissions(
            args.submissions, args.out, options, gradebook, column, autograder=autograder
        )
    except GradingError as error:  # every problem that stops a run ends here
        print(f"{error}\n{error.kept}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped. Run the same command again to grade what is left.", file=sys.stderr)
        return 130
    _say_what_happened(summary, args, options.run.isolation, column)
    print(f"Class report: {summary.report} (numbers in {summary.report.with_suffix('.json')})")
    return 0


def _grading_inputs(args: argparse.Namespace):
    """The run's options, gradebook, column and autograder from the command line.

    Raises ``GradingError`` when an input is missing or wrong; a points mismatch is printed
    at once (the run is long).
    """
    from aelab.canvas import GradebookError, read_gradebook
    from aelab.grading.container import image_problem
    from aelab.grading.credit import read_groups
    from aelab.grading.gradebook_import import LatePolicy, points_mismatch
    from aelab.grading.pipeline import (
        GradingError,
        GradingOptions,
        check_paths,
        open_autograder,
    )
    from aelab.grading.runner import RunOptions
    from aelab.grading.sandbox import Limits, bwrap_available, bwrap_missing_message

    check_paths(args.autograder, args.submissions)
    isolation = "docker" if args.docker else "none" if args.unsafe_no_sandbox else "bwrap"
    if args.cluster:  # the sandboxes run on the workers: each checks its own before grading
        from aelab.grading.cluster import require_distributed

        require_distributed()
    elif isolation == "bwrap" and not bwrap_available():
        raise GradingError(bwrap_missing_message())
    elif isolation == "docker" and (problem := image_problem(args.docker)):
        raise GradingError(problem)
    column = None
    try:
        gradebook = read_gradebook(args.gradebook) if args.gradebook else None
    except (GradebookError, OSError) as error:
        raise GradingError(f"Gradebook: {error}") from error
    autograder = open_autograder(args.autograder)
    try:
        if gradebook is not None:
            column = gradebook.assignment_column(
                args.assignment or autograder.lab.canvas_assignment or None
            )
            possible = sum(autograder.questions.values())
            if warning := points_mismatch(gradebook, column, possible, autograder.written_points):
                print(f"Warning: {warning}.")
    except (GradebookError, OSError) as error:
        raise GradingError(f"Gradebook: {error}") from error
    try:
        groups = read_groups(args.groups) if args.groups else {}
    except (OSError, ValueError) as error:
        raise GradingError(f"Groups: {error}") from error
    run = RunOptions.for_grading(
        isolation=isolation,
        image=args.docker or "",
        limits=Limits(memory_gb=args.memory_gb),
        epoch_cap=args.epoch_cap or autograder.lab.epoch_cap,
        full_length=args.full_length,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        test_timeout=args.test_timeout,
    )
    options = GradingOptions(
        args.autograder,
        workers=args.workers,
        run=run,
        replace_existing=args.replace_existing,
        manual=args.manual,
        groups=groups,
        policy=LatePolicy(args.late_deduction, args.late_lowest, args.missing_grade),
        cluster=args.cluster or "",
    )
    return options, gradebook, column, autograder


def _say_what_happened(summary, args: argparse.Namespace, isolation: str, column: str | None):
    """The closing message: counts, conflicts, what to upload to Canvas and how."""
    from aelab.grading.gradebook_import import summary_line
    from aelab.record import REVIEW

    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts().items()))
    print(
        f"{len(summary.rows)} files: {counts}. {summary.graded_now} graded in this run "
        f"({isolation} isolation{f', on {args.cluster}' if args.cluster else ''}), "
        f"{summary.seconds:.0f} s."
    )
    for conflict in summary.conflicts:
        print(f"Conflict: {conflict}")
    for row in summary.rows:
        if row.status == REVIEW:
            print(f"Needs review: {row.file}: {row.reason}")
    print(f"Results: {args.out / 'results.csv'}; feedback pages: {args.out / 'feedback'}/")
    upload = args.out / "feedback_upload.zip"
    print(
        f"  for Canvas: {upload} (Gradebook: the assignment's column ⋮ → Re-Upload Submissions). "
        "Students see these comments at once unless the assignment's Grade Posting Policy is "
        "Manually (set it before uploading); then they see them when you post grades."
    )
    if summary.undeliverable:
        ids = ", ".join(sorted(set(summary.undeliverable)))
        print(f"  students without an uploaded file of their own, pages in feedback/ only: {ids}")
    if args.groups:
        print("  group assignment: Canvas gives each group's page to every member of the group")
    if summary.anonymous:
        print(
            f"  {summary.anonymous} anonymous files: their pages are in the zip under Canvas's "
            "anon_ names; Canvas takes no imported grades while anonymous grades are unposted "
            "(docs/grading.md: Anonymous grading)"
        )
    waiting = summary.written_waiting
    print(
        f"Written answers: a page per question in {args.out / 'written'}/; scores go in "
        f"{args.out / 'manual_scores.csv'} ({waiting} still ungraded), then rerun with --manual."
    )
    if summary.import_refused:
        print(f"Canvas import: none. {summary.import_refused}")
    elif column:
        print(f"Canvas import ({column}): {args.out / 'gradebook_import.csv'}")
        print(f"  {summary_line(summary.changes)}; every cell in {args.out / 'changes.csv'}")
    for warning in summary.warnings:
        print(f"Warning: {warning}.")


def _report(args: argparse.Namespace) -> int:
    from aelab.report.class_report import ReportError, write_report

    try:
        page = write_report(args.out)
    except ReportError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Class report: {page} (numbers in {page.with_suffix('.json')})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, one sub-command per job; defaults come from the library."""
    from aelab.grading.runner import FULL_LENGTH, WORKERS, RunOptions
    from aelab.grading.sandbox import Limits

    parser = argparse.ArgumentParser(prog="aelab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "build", help="regenerate the student notebook and autograder from the master notebook"
    )
    build.add_argument("--out", type=Path, default=Path("autograder"))
    build.add_argument(
        "--lab",
        type=Path,
        help="the lab's lab.toml (or its folder); default: the only notebooks/*/lab.toml here",
    )
    build.add_argument("--verbose", action="store_true", help="show otter's whole output on errors")
    build.set_defaults(run=_build)

    grade = commands.add_parser(
        "grade",
        help="grade a Canvas 'Download Submissions' zip (or folder): results, feedback, gradebook",
        description="Grade every submission, each in its own bubblewrap sandbox: no network, "
        "no access to your files or to other submissions, limited memory, processes and disk. "
        "Scores come from the grader's copy of the tests; code aimed at the grader is put up "
        "for review instead of scored.",
    )
    grade.add_argument("submissions", type=Path, help="submissions.zip from Canvas, or a folder")
    grade.add_argument("--gradebook", type=Path, help="the gradebook CSV exported from Canvas")
    grade.add_argument(
        "--assignment",
        help="the gradebook column to fill, title (or part of it) or id; default: the lab's "
        "canvas_assignment (lab.toml)",
    )
    grade.add_argument("--autograder", type=Path, default=Path("autograder/autograder.zip"))
    grade.add_argument("--out", type=Path, default=Path("grades"))
    grade.add_argument("--workers", type=int, default=WORKERS)
    grade.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on the workers of a running Dask scheduler, e.g. tcp://host:8786 "
        "(pip install 'aelab[cluster]'; docs/cluster.md)",
    )
    grade.add_argument(
        "--timeout",
        type=float,
        help=f"seconds per notebook, all of it (default {RunOptions.timeout:g}; "
        f"{RunOptions.timeout * FULL_LENGTH['timeout']:g} with --full-length)",
    )
    grade.add_argument(
        "--cell-timeout",
        type=float,
        help=f"seconds per cell (default {RunOptions.cell_timeout:g}; "
        f"{RunOptions.cell_timeout * FULL_LENGTH['cell_timeout']:g} with --full-length): "
        "a cell past it is left out",
    )
    grade.add_argument(
        "--test-timeout",
        type=float,
        default=RunOptions.test_timeout,
        help="seconds per test: a test past it costs its own points",
    )
    grade.add_argument(
        "--memory-gb", type=float, default=Limits.memory_gb, help="memory limit per notebook"
    )
    grade.add_argument(
        "--epoch-cap",
        type=int,
        help="epochs of the long training runs while grading; default: the lab's (lab.toml)",
    )
    grade.add_argument(
        "--full-length", action="store_true", help="no epoch cap (as slow as the students' runs)"
    )
    grade.add_argument(
        "--groups",
        type=Path,
        help="Canvas's groups export, for a group assignment: each group's members get one score",
    )
    grade.add_argument(
        "--manual",
        type=Path,
        help="manual_scores.csv with the written answers' scores filled in (adds them to totals)",
    )
    grade.add_argument(
        "--late-deduction",
        type=float,
        metavar="PERCENT",
        help="the course's late policy, 'Deduct N%% for each late day (or hour)': a regrade "
        "then recognises its own earlier scores after Canvas deducted from them",
    )
    grade.add_argument(
        "--late-lowest",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="the late policy's 'Lowest possible grade', in percent (default 0)",
    )
    grade.add_argument(
        "--missing-grade",
        type=float,
        metavar="PERCENT",
        help="the course's missing policy, 'Grade for missing submissions': a score Canvas "
        "filled in for missing work may then be replaced",
    )
    grade.add_argument(
        "--replace-existing",
        action="store_true",
        help="let new scores replace grades set in Canvas (each one is listed in changes.csv)",
    )
    isolation = grade.add_mutually_exclusive_group()
    isolation.add_argument(
        "--docker",
        metavar="IMAGE",
        help="grade in Docker containers of IMAGE (make docker-image builds aelab-grader) instead",
    )
    isolation.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without isolation: students' code runs as you, with your files and network",
    )
    grade.set_defaults(run=_grade)

    report = commands.add_parser(
        "report",
        help="rebuild the class report of a finished grading run, without grading again",
    )
    report.add_argument("out", type=Path, metavar="GRADES_FOLDER", help="aelab grade's --out")
    report.set_defaults(run=_report)

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
