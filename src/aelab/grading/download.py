"""Grade a whole Canvas download: a row per file, the gradebook import, and feedback pages.

Layout of the output folder::

    results.csv            one row per file found, with its status and scores
    gradebook_import.csv   Canvas's gradebook with only this assignment's column filled
    changes.csv            every student's cell: old → new, and why
    feedback/              one page per student who gets a grade or a row to check
    feedback_upload.zip    the pages, named for Canvas's "Re-Upload Submissions"
    written/               a page per written question: every answer, identical ones grouped
    manual_scores.csv      the written answers' scores, to fill in (then --manual)
    rows.json              the run's record: every row, its tests, timings and code
    report.html            the class report (``aelab.report``; report.json: its numbers)
    submissions/           the files of the Canvas zip (kept for manual grading)
    work/                  one folder per graded file: its result, saved as soon as known

Each notebook runs in its own sandbox (see :mod:`aelab.grading.sandbox`); nothing a
submission does can reach this folder. Results are cached in ``work/`` by the notebook's
and the autograder's contents and the grading options: a run that is stopped and started
again grades only what is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from aelab.canvas import Change, Gradebook
from aelab.data import unpack_mnist
from aelab.grading.autograder import Autograder, read_autograder
from aelab.grading.collect import Row, collect_files, rows_and_latest
from aelab.grading.credit import credit_groups, credit_teams, group_names
from aelab.grading.gradebook_import import (
    ImportRules,
    LatePolicy,
    points_mismatch,
    remove_import,
    write_import,
)
from aelab.grading.outputs import WrittenPart, write_feedback, write_results_csv
from aelab.grading.runner import ERRORED, Judges, RunOptions, runnable_cells
from aelab.grading.sandbox import STUDENT_SIDE
from aelab.grading.written import (
    SHEET,
    feedback_section,
    read_questions,
    read_sheet,
    write_pages,
    write_sheet,
    written_totals,
)
from aelab.html_export import HTML_SUFFIXES, read_html_export
from aelab.report import RECORD
from aelab.submissions import (
    NotGradableError,
    notebook_bytes,
    read_notebook,
    read_student_code,
    read_team,
    read_written_answers,
)
from aelab.text import clean


@dataclass
class GradingOptions:
    """How to grade a download: which autograder, how many notebooks at once, how to run each."""

    autograder_zip: Path
    workers: int = os.cpu_count() or 1
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
    gradebook_scores: dict[str, float]
    conflicts: list[str]
    seconds: float
    graded_now: int
    changes: list[Change] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)  # students without an upload
    written_waiting: int = 0  # written answers not scored yet
    warnings: list[str] = field(default_factory=list)  # for the top of the run
    import_refused: str = ""  # why no gradebook import was written
    anonymous: int = 0  # rows of anonymous submissions (Canvas imports no grades for them)

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def grade_submissions(
    source: Path,
    out: Path,
    options: GradingOptions,
    gradebook: Gradebook | None = None,
    column: str | None = None,
    progress: bool = True,
) -> Summary:
    """Grade every submission in ``source`` (a Canvas zip or folder) into ``out``."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    autograder = read_autograder(options.autograder_zip)
    run = replace(options.run, threads=max(1, (os.cpu_count() or 1) // max(1, options.workers)))
    students = gradebook.students() if gradebook else {}
    user_ids = set(students) or None
    lab = autograder.lab
    rows, latest = rows_and_latest(collect_files(source, out), lab.master, user_ids)
    questions = read_questions(options.autograder_zip)
    pending = []
    for item in latest:
        row = Row.of(item, user_ids)
        rows.append(row)
        work = out / "work" / item.path.stem
        try:
            if item.suffix in HTML_SUFFIXES:
                export = read_html_export(item.path, questions)
                data, notebook, row.answers = export.data, export.notebook, export.answers
                note = export.note(autograder.assignment, autograder.scaffold)
            else:
                data = notebook_bytes(item.path, lab.master)
                notebook = read_notebook(data)
                row.answers = read_written_answers(notebook)
                note = _assignment_problem(notebook, autograder)
            row.team = read_team(notebook)
            row.code = read_student_code(notebook, autograder.scaffold)
        except NotGradableError as refused:
            row.status = refused.status
            row.note(refused.reason)
            continue
        except Exception as error:  # whatever else a submission holds, the run goes on
            row.status = "unreadable"
            row.note(f"could not read the notebook: {clean(error)}")
            continue
        row.note(note)
        if note.startswith("a notebook of"):
            row.status = ERRORED
            continue
        key = _job_key(data, autograder, run)
        saved = _load(work / "result.json")
        if saved.get("key") == key:
            row.apply(saved["grade"])
        else:
            pending.append((row, notebook, work, key))

    if pending:
        with tempfile.TemporaryDirectory(prefix="aelab-mnist-") as scratch:
            local = lab.data == "mnist" and not options.cluster  # workers unpack their own
            mnist = unpack_mnist(Path(scratch)) if local else None
            _run_pending(
                pending, autograder, mnist, run, options.workers, progress, options.cluster
            )

    written_possible = sum(q.points for q in questions)
    manual = read_sheet(options.manual, rows, questions) if options.manual else {}
    written, waiting = written_totals(rows, questions, manual)
    totals = {id(row): sum(row.scores.values()) + written.get(id(row), 0) for row in rows}
    scores, conflicts = credit_teams(rows, students, totals, options.groups)
    conflicts += credit_groups(scores, options.groups, rows)
    rows.sort(key=lambda r: (r.student, r.user_id, r.file))
    names = list(autograder.questions)
    write_results_csv(rows, names, out / "results.csv", written, written_possible)
    _write_record(out / RECORD, rows, autograder, questions, written)
    summary = Summary(rows, scores, conflicts, time.perf_counter() - started, len(pending))
    summary.written_waiting = waiting
    summary.anonymous = sum(row.user_id.startswith("anon_") for row in rows)
    if gradebook is not None and column is not None:
        possible = sum(autograder.questions.values())
        refusal, renamed = ("", "") if options.groups else group_names(rows, students)
        mismatch = points_mismatch(gradebook, column, possible, written_possible)
        summary.warnings = [warning for warning in (mismatch, renamed) if warning]
        summary.import_refused = refusal
        if refusal:
            remove_import(out)
        else:
            summary.changes = write_import(gradebook, column, scores, out, _rules(rows, options))
    write_sheet(out / SHEET, rows, questions, manual)
    write_pages(out / "written", rows, questions, lab.title)
    sections = {
        id(row): WrittenPart(
            feedback_section(row, questions, manual), written.get(id(row)), written_possible
        )
        for row in rows
    }
    summary.undeliverable = write_feedback(
        rows, students, out / "feedback", lab.title, sections, options.groups
    )
    (out / "summary.json").write_text(
        json.dumps(
            {
                "counts": summary.counts(),
                "conflicts": conflicts,
                "warnings": summary.warnings,
                "import_refused": summary.import_refused,
                "seconds": round(summary.seconds, 1),
                "graded_now": summary.graded_now,
                "written_answers_waiting": waiting,
                "isolation": run.isolation,
            },
            indent=2,
        )
        + "\n"
    )
    return summary


def _rules(rows: list[Row], options: GradingOptions) -> ImportRules:
    """What the import must know of the download: late files (a late group file: all members)."""
    late = {row.user_id for row in rows if row.late}
    late |= {m for members in options.groups.values() if late & set(members) for m in members}
    return ImportRules(options.replace_existing, options.groups, options.policy, frozenset(late))


def _write_record(path: Path, rows, autograder: Autograder, questions, written) -> None:
    """Everything the class report needs, so that ``aelab report`` never grades again."""
    record = {
        "title": autograder.lab.title,
        "questions": autograder.questions,
        "written_questions": {q.name: q.points for q in questions},
        "tests": [
            {"key": t.key, "question": t.question, "points": t.points, "hidden": t.hidden}
            for t in autograder.tests
        ],
        "scaffold": autograder.scaffold,
        "rows": [{**asdict(row), "written": written.get(id(row))} for row in rows],
    }
    path.write_text(json.dumps(record, indent=1) + "\n")


def _assignment_problem(notebook, autograder: Autograder) -> str:
    """Empty for this lab's notebook; why not otherwise (graded or refused, as the text says)."""
    otter = notebook.metadata.get("otter")
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    name = clean(name) if name else name
    if autograder.assignment is None or name == autograder.assignment:
        return ""
    if not name:
        return (
            "the notebook had no Otter metadata (cells copied into a new notebook?): "
            f"graded as {autograder.assignment!r}"
        )
    return f"a notebook of assignment {name!r}, not {autograder.assignment!r}: not graded"


def _job_key(data: bytes, autograder: Autograder, run: RunOptions) -> str:
    digest = hashlib.sha256(data)
    digest.update(autograder.digest.encode())
    grading = Path(__file__).parent
    code = [*sorted(STUDENT_SIDE.glob("*.py")), grading / "judge.py", grading / "remote.py"]
    for path in code:  # the worker, and the judge that asks it: new code grades again
        digest.update(path.read_bytes())
    digest.update(repr((run.isolation, run.image, run.epoch_cap, run.limits)).encode())
    return digest.hexdigest()


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _run_pending(pending, autograder, mnist, run, workers, progress, cluster="") -> None:
    """Grade in parallel; save each result as it arrives; on Ctrl-C stop every run at once."""
    if cluster:
        _run_on_cluster(pending, autograder, run, cluster, progress)
        return
    workers = max(1, workers)
    judges = Judges(autograder.path, mnist, run, workers)
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {
        pool.submit(judges.grade, notebook): (row, work, key)
        for row, notebook, work, key in pending
    }
    try:
        bar = tqdm(total=len(futures), desc="Grading", unit="notebook", disable=not progress)
        for future in as_completed(futures):
            row, work, key = futures[future]
            try:
                grade = asdict(future.result())
            except Exception as error:  # e.g. a full disk: this row errs, the run goes on
                grade = {"status": ERRORED, "reason": f"{type(error).__name__}: {error}"}
            _save(row, work, key, grade)
            bar.update()
        bar.close()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        judges.close()
        raise
    pool.shutdown()
    judges.close()


def _run_on_cluster(pending, autograder, run, address: str, progress) -> None:
    """``_run_pending`` on a Dask cluster: the same jobs, saved as each grade arrives."""
    from aelab.grading.cluster import grade_on_cluster  # Dask: only with --cluster

    jobs = [((row, work, key), runnable_cells(notebook)) for row, notebook, work, key in pending]
    bar = tqdm(total=len(jobs), desc="Grading", unit="notebook", disable=not progress)
    with closing(grade_on_cluster(address, autograder, run, jobs)) as graded:
        for (row, work, key), grade in graded:
            _save(row, work, key, grade)
            bar.update()
    bar.close()


def _save(row: Row, work: Path, key: str, grade: dict) -> None:
    """Keep a notebook's grade in ``work/`` (a rerun finds it by ``key``) and on its row."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "result.json.tmp").write_text(json.dumps({"key": key, "grade": grade}))
    (work / "result.json.tmp").replace(work / "result.json")
    row.apply(grade)
