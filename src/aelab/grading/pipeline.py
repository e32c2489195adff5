"""Grade a whole Canvas download: the stages of a run, in order, over one record per file.

    collect  the files of the download, and which one of each student's is graded (collect)
    read     each chosen file into its row: notebook, team, written answers (read)
    run      each notebook's cells in a sandbox, scored by a trusted judge; cached (run)
    score    the written answers' scores, from the GSI's filled sheet (written)
    credit   who each score goes to: teams and Canvas groups (credit)
    outputs  results.csv, rows.json, feedback pages, written pages, the import (outputs, ...)
    report   the class report (aelab.report)

Layout of the output folder::

    results.csv            one row per file found, with its status and scores
    gradebook_import.csv   Canvas's gradebook with only this assignment's column filled
    changes.csv            every student's cell: old → new, and why
    feedback/              one page per student who gets a grade or a row to check
    feedback_upload.zip    the pages, named for Canvas's "Re-Upload Submissions"
    written/               a page per written question: every answer, identical ones grouped
    manual_scores.csv      the written answers' scores, to fill in (then --manual)
    rows.json              the run's record: every row, its tests, timings and code
    report.html            the class report (report.json: its numbers)
    submissions/           the files of the Canvas zip (kept for manual grading)
    work/                  one folder per graded file: its grade, saved as soon as known

A run that cannot start raises ``GradingError`` (its message says what to fix); anything a
single submission does only changes its own row.
"""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from aelab.canvas import Change, Gradebook
from aelab.grading.autograder import Autograder, AutograderError, read_autograder
from aelab.grading.collect import collect_files, rows_and_latest
from aelab.grading.credit import credit_groups, credit_teams, group_names
from aelab.grading.gradebook_import import (
    ImportRules,
    LatePolicy,
    points_mismatch,
    remove_import,
    write_import,
)
from aelab.grading.outputs import WrittenPart, write_feedback, write_record, write_results_csv
from aelab.grading.read import read_submission
from aelab.grading.run import grade_notebooks
from aelab.grading.runner import WORKERS, RunOptions
from aelab.grading.written import (
    SHEET,
    ManualScoresError,
    feedback_section,
    read_sheet,
    score_written,
    write_pages,
    write_sheet,
)
from aelab.record import Row
from aelab.report.class_report import write_report


class GradingError(Exception):
    """The run cannot go on: the message says what to fix, ``kept`` what is left of it."""

    def __init__(self, message: str, kept: str = "Nothing was written.") -> None:
        super().__init__(message)
        self.kept = kept


@dataclass
class GradingOptions:
    """How to grade a download: which autograder, how many notebooks at once, how to run each."""

    autograder_zip: Path
    workers: int = WORKERS
    run: RunOptions = field(default_factory=RunOptions)
    replace_existing: bool = False  # new scores may replace grades set in Canvas
    manual: Path | None = None  # manual_scores.csv with written answers' scores filled in
    groups: dict[str, list[str]] = field(default_factory=dict)  # Canvas group → user ids
    policy: LatePolicy = field(default_factory=LatePolicy)  # the course's late policies
    cluster: str = ""  # a Dask scheduler's address: grade on its workers (see grading.cluster)


@dataclass
class Summary:
    """What a grading run did, for the closing message."""

    rows: list[Row]
    conflicts: list[str]
    seconds: float
    graded_now: int
    changes: list[Change] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)  # students without an upload
    written_waiting: int = 0  # written answers not scored yet
    warnings: list[str] = field(default_factory=list)  # for the top of the run
    import_refused: str = ""  # why no gradebook import was written
    anonymous: int = 0  # rows of anonymous submissions (Canvas imports no grades for them)
    report: Path | None = None  # the class report's page

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def check_paths(autograder: Path, source: Path) -> None:
    """A ``GradingError`` unless the autograder and the submissions (zip or folder) exist."""
    if not autograder.is_file():
        raise GradingError(f"No autograder at {autograder}: run `aelab build` first.")
    if not source.exists():
        raise GradingError(f"No submissions at {source}.")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise GradingError(f"{source} is neither a folder nor a zip file.")


def open_autograder(path: Path) -> Autograder:
    """The autograder at ``path``, or a ``GradingError`` saying what is wrong with it."""
    try:
        return read_autograder(path)
    except AutograderError as error:
        raise GradingError(str(error)) from error


def grade_submissions(
    source: Path,
    out: Path,
    options: GradingOptions,
    gradebook: Gradebook | None = None,
    column: str | None = None,
    progress: bool = True,
    autograder: Autograder | None = None,
) -> Summary:
    """Grade every submission in ``source`` (a Canvas zip or folder) into ``out``.

    ``autograder``: ``options.autograder_zip`` when the caller has read it already.
    """
    started = time.perf_counter()
    autograder = autograder or open_autograder(options.autograder_zip)
    run = replace(options.run, threads=max(1, (os.cpu_count() or 1) // max(1, options.workers)))
    students = gradebook.students() if gradebook else {}
    user_ids = set(students) or None
    out.mkdir(parents=True, exist_ok=True)
    try:
        files = collect_files(source, out)
    except zipfile.BadZipFile as error:
        raise GradingError(str(error)) from error
    rows, chosen = rows_and_latest(files, autograder.lab.master, user_ids)
    submissions = [read_submission(item, autograder, user_ids) for item in chosen]
    rows += [submission.row for submission in submissions]
    to_run = [submission for submission in submissions if submission.notebook is not None]
    graded_now = grade_notebooks(
        to_run, autograder, run, options.workers, out / "work", progress, options.cluster
    )

    try:
        manual = read_sheet(options.manual, rows, autograder.written) if options.manual else {}
    except ManualScoresError as error:
        raise GradingError(str(error)) from error
    waiting = score_written(rows, autograder.written, manual)
    scores, conflicts = credit_teams(rows, students, options.groups)
    conflicts += credit_groups(scores, options.groups, rows)
    rows.sort(key=lambda r: (r.student, r.user_id, r.file))

    summary = Summary(rows, conflicts, time.perf_counter() - started, graded_now)
    summary.written_waiting = waiting
    summary.anonymous = sum(row.user_id.startswith("anon_") for row in rows)
    write_results_csv(
        rows, list(autograder.questions), out / "results.csv", autograder.written_points
    )
    write_record(out, rows, autograder)
    if gradebook is not None and column is not None:
        _write_import(summary, gradebook, column, scores, autograder, options, out)
    write_sheet(out / SHEET, rows, autograder.written, manual)
    write_pages(out / "written", rows, autograder.written, autograder.lab.title)

    def written(row: Row) -> WrittenPart:
        section = feedback_section(row, autograder.written, manual)
        return WrittenPart(section, row.written, autograder.written_points)

    summary.undeliverable = write_feedback(
        rows, students, out / "feedback", autograder.lab.title, written, options.groups
    )
    summary.report = write_report(out)
    return summary


def _write_import(
    summary: Summary,
    gradebook: Gradebook,
    column: str,
    scores: dict[str, float],
    autograder: Autograder,
    options: GradingOptions,
    out: Path,
) -> None:
    """Canvas's import of ``column`` (or none, and why), and the warnings it raises."""
    rows, students = summary.rows, gradebook.students()
    possible = sum(autograder.questions.values())
    refusal, renamed = ("", "") if options.groups else group_names(rows, students)
    mismatch = points_mismatch(gradebook, column, possible, autograder.written_points)
    summary.warnings = [warning for warning in (mismatch, renamed) if warning]
    summary.import_refused = refusal
    if refusal:
        remove_import(out)
        return
    late = {row.user_id for row in rows if row.late}  # a late group file: all members late
    late |= {m for members in options.groups.values() if late & set(members) for m in members}
    rules = ImportRules(options.replace_existing, options.groups, options.policy, frozenset(late))
    summary.changes = write_import(gradebook, column, scores, out, rules)
