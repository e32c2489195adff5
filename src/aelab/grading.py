"""Grade a whole Canvas download: a row per file, the gradebook import, and feedback pages.

Layout of the output folder::

    results.csv            one row per file found, with its status and scores
    gradebook_import.csv   Canvas's gradebook with only this assignment's column filled
    feedback/              one Markdown page per student who gets a grade or a row to check
    submissions/           the files of the Canvas zip (kept for manual grading)
    work/                  one folder per graded file: the notebook graded and otter's result

Each result in ``work/`` is saved as soon as it is known, keyed by the notebook's and the
autograder's contents: a run that is stopped and started again grades only what is left.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from aelab import otter_run
from aelab.canvas import Gradebook, SubmittedFile, parse_submission_name, write_gradebook_import
from aelab.feedback import parse_verdicts, question_order, read_test_specs, render_feedback
from aelab.submissions import (
    NotGradableError,
    gradable_copy,
    notebook_bytes,
    read_notebook,
    read_team,
    read_written_answers,
    restore_assignment_name,
)

NOTEBOOK_NAME = "autoencoders_mnist.ipynb"
GRADED, SUPERSEDED = "graded", "superseded"


@dataclass
class GradingOptions:
    """How to run each submission."""

    autograder_zip: Path
    workers: int = os.cpu_count() or 1
    timeout: float = otter_run.TIMEOUT_S
    memory_gb: float = otter_run.MEMORY_LIMIT_GB
    epoch_cap: int | None = otter_run.EPOCH_CAP_FOR_GRADING
    docker: bool = False  # otter's Docker containers instead of sandboxed processes


@dataclass
class Row:
    """One file of the download and what happened to it (a row of ``results.csv``)."""

    file: str
    student: str = ""
    user_id: str = ""
    late: bool = False
    status: str = ""
    reason: str = ""
    team: list[dict[str, str]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    tests: list[dict] = field(default_factory=list)
    answers: list = field(default_factory=list)
    credited: list[str] = field(default_factory=list)  # user ids this row's score goes to


@dataclass
class Summary:
    """What a grading run did, for the closing message."""

    rows: list[Row]
    gradebook_scores: dict[str, float]
    conflicts: list[str]
    seconds: float
    graded_now: int

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def collect_files(source: Path, out: Path) -> list[Path]:
    """The submitted files: the members of a Canvas zip (extracted once), or a folder's files."""
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file() and not _hidden(p))
    target = out / "submissions"
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            name = Path(member.filename).name
            if member.is_dir() or _hidden(Path(member.filename)) or not name:
                continue
            path = target / name  # Canvas's zip is flat; never write outside target
            if not path.exists() or path.stat().st_size != member.file_size:
                target.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as packed, open(path, "wb") as unpacked:
                    shutil.copyfileobj(packed, unpacked)
    return sorted(p for p in target.iterdir() if p.is_file()) if target.exists() else []


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def latest_per_student(files: list[SubmittedFile]) -> tuple[list[SubmittedFile], list[Row]]:
    """The newest file of each student, and superseded rows for their older files.

    Newest: Canvas's highest resubmission counter (-1, -2, ...), then the highest
    submission id; within one submission a notebook or export zip beats an HTML copy.
    """
    by_student: dict[str, list[SubmittedFile]] = {}
    for item in files:
        by_student.setdefault(item.user_id, []).append(item)
    latest, superseded = [], []
    for items in by_student.values():
        items.sort(key=lambda f: (f.attempt, f.submission_id, f.suffix in (".ipynb", ".zip")))
        newest = items[-1]
        latest.append(newest)
        for older in items[:-1]:
            row = _row(older)
            row.status, row.reason = SUPERSEDED, f"superseded by {newest.path.name}"
            superseded.append(row)
    return latest, superseded


def _row(item: SubmittedFile) -> Row:
    return Row(file=item.path.name, student=item.student, user_id=item.user_id, late=item.late)


def _job_key(notebook: Path, options: GradingOptions) -> str:
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(options.autograder_zip.read_bytes())
    digest.update(f"epoch cap {options.epoch_cap}".encode())
    return digest.hexdigest()


def _grade_one(notebook: Path, work: Path, backend: Path | str, options: GradingOptions) -> dict:
    """Grade one prepared notebook; the outcome as a JSON-able dict.

    ``backend`` is the unpacked MNIST for a sandboxed run, or the Docker image's tag.
    """
    sandbox = Path(tempfile.mkdtemp(prefix="sandbox-", dir=work))
    try:
        if options.docker:
            result = otter_run.grade_notebook_in_docker(str(backend), notebook, options.timeout)
        else:
            result = otter_run.grade_notebook(
                options.autograder_zip,
                notebook,
                sandbox,
                Path(backend),
                timeout=options.timeout,
                memory_gb=options.memory_gb,
                epoch_cap=options.epoch_cap,
                threads=max(1, (os.cpu_count() or 1) // max(1, options.workers)),
            )
    except otter_run.GradingError as error:
        status = "timed out" if error.timed_out else "errored"
        return {"status": status, "reason": str(error)}
    except Exception as error:  # e.g. a full disk: this row errs, the run goes on
        return {"status": "errored", "reason": f"{type(error).__name__}: {error}"}
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)
    return {
        "status": GRADED,
        "reason": "",
        "scores": result.scores,
        "max_scores": result.max_scores,
        "tests": result.tests,
    }


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
    rows: list[Row] = []
    parsed = []
    for path in collect_files(source, out):
        item = parse_submission_name(path)
        if item is None:
            reason = "file name is not Canvas's <lastfirst>_<userid>_<submissionid>_<name>"
            rows.append(Row(file=path.name, status="unreadable", reason=reason))
        else:
            parsed.append(item)
    latest, superseded = latest_per_student(parsed)
    rows += superseded

    pending: list[tuple[Row, Path, Path, str]] = []
    assignment = otter_run.assignment_name(options.autograder_zip)
    for item in latest:
        row = _row(item)
        rows.append(row)
        work = out / "work" / item.path.stem
        try:
            notebook = read_notebook(notebook_bytes(item.path, NOTEBOOK_NAME))
            row.team, row.answers = read_team(notebook), read_written_answers(notebook)
            if assignment and restore_assignment_name(notebook, assignment):
                row.reason = (
                    "the notebook had no Otter metadata (cells copied into a new notebook?): "
                    f"graded as {assignment!r}"
                )
            work.mkdir(parents=True, exist_ok=True)
            prepared = gradable_copy(notebook, work / NOTEBOOK_NAME, options.epoch_cap)
        except NotGradableError as problem:
            row.status, row.reason = problem.status, problem.reason
            continue
        except Exception as error:  # whatever else a submission holds, the run goes on
            row.status, row.reason = "unreadable", f"could not prepare the notebook: {error}"
            continue
        key = _job_key(prepared, options)
        cached = work / "result.json"
        saved = json.loads(cached.read_text()) if cached.is_file() else {}
        if saved.get("key") == key:
            _apply(row, saved)
        else:
            pending.append((row, prepared, work, key))

    if pending and options.docker:
        _run_pending(pending, otter_run.docker_image(options.autograder_zip), options, progress)
    elif pending:
        with tempfile.TemporaryDirectory(prefix="aelab-mnist-") as scratch:
            mnist = otter_run.extract_mnist(Path(scratch))
            _run_pending(pending, mnist, options, progress)

    specs = read_test_specs(options.autograder_zip)
    students = gradebook.students() if gradebook else {}
    scores, conflicts = credit_teams(rows, students)
    rows.sort(key=lambda r: (r.student, r.user_id, r.status == SUPERSEDED, r.file))
    _write_results_csv(rows, list(specs), out / "results.csv")
    if gradebook is not None and column is not None:
        write_gradebook_import(gradebook, column, scores, out / "gradebook_import.csv")
    _write_feedback(rows, specs, students, out / "feedback")
    summary = Summary(rows, scores, conflicts, time.perf_counter() - started, len(pending))
    (out / "summary.json").write_text(
        json.dumps(
            {
                "counts": summary.counts(),
                "conflicts": conflicts,
                "seconds": round(summary.seconds, 1),
                "graded_now": summary.graded_now,
            },
            indent=2,
        )
        + "\n"
    )
    return summary


def _run_pending(
    pending: list[tuple[Row, Path, Path, str]],
    backend: Path | str,
    options: GradingOptions,
    progress: bool,
) -> None:
    """Grade in parallel; save each result as it arrives; on Ctrl-C stop every run at once."""
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers))
    futures = {
        pool.submit(_grade_one, notebook, work, backend, options): (row, work, key)
        for row, notebook, work, key in pending
    }
    try:
        bar = tqdm(total=len(futures), desc="Grading", unit="notebook", disable=not progress)
        for future in as_completed(futures):
            row, work, key = futures[future]
            outcome = {"key": key, **future.result()}
            (work / "result.json.tmp").write_text(json.dumps(outcome))
            (work / "result.json.tmp").replace(work / "result.json")
            _apply(row, outcome)
            bar.update()
        bar.close()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        otter_run.stop_all_runs()
        raise
    pool.shutdown()


def _apply(row: Row, outcome: dict) -> None:
    row.status, row.reason = outcome["status"], _join(row.reason, outcome["reason"])
    row.scores = outcome.get("scores", {})
    row.max_scores = outcome.get("max_scores", {})
    row.tests = outcome.get("tests", [])


def credit_teams(
    rows: list[Row], students: dict[str, dict[str, str]]
) -> tuple[dict[str, float], list[str]]:
    """Gradebook scores by user id, and the conflicts that left a student without one.

    A graded submission scores for its submitter and the partners its TEAM cell names by
    Canvas id. A student's own submission decides their score; a student who did not
    submit and is named by two submissions is a conflict: reported, not guessed.
    """
    graded = [row for row in rows if row.status == GRADED]
    own = {row.user_id: row for row in graded}
    named_by: dict[str, list[Row]] = {}
    for row in graded:
        for partner in row.team:
            partner_id = partner["canvas_id"]
            if partner_id and partner_id != row.user_id:
                named_by.setdefault(partner_id, []).append(row)
                if students and partner_id not in students:
                    row.reason = _join(
                        row.reason, f"partner id {partner_id} is not in the gradebook"
                    )
            elif not partner_id and partner["name"]:
                row.reason = _join(row.reason, f"partner {partner['name']!r} has no Canvas id")
    scores: dict[str, float] = {user_id: sum(row.scores.values()) for user_id, row in own.items()}
    for row in graded:
        row.credited.append(row.user_id)
    conflicts = []
    for partner_id, claims in sorted(named_by.items()):
        who = ", ".join(f"{r.file}" for r in claims)
        if partner_id in own:
            if any(r.scores != own[partner_id].scores for r in claims):
                conflicts.append(
                    f"{partner_id} submitted and is also named by {who} with a different score: "
                    "their own submission counts"
                )
        elif students and partner_id not in students:
            continue  # reported on the row: nobody to give the score to
        elif len(claims) == 1:
            scores[partner_id] = sum(claims[0].scores.values())
            claims[0].credited.append(partner_id)
        else:
            conflicts.append(
                f"{partner_id} is named by {len(claims)} submissions ({who}): no score given"
            )
            for row in claims:
                row.reason = _join(
                    row.reason, f"conflict: partner {partner_id} also named elsewhere"
                )
    return scores, conflicts


def _join(first: str, second: str) -> str:
    return "; ".join(part for part in (first, second) if part)


def _write_results_csv(rows: list[Row], questions: list[str], path: Path) -> None:
    header = ["student", "user_id", "file", "late", "status", "reason", "team", "credited"]
    header += [*questions, "total", "possible"]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            team = "; ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
            values = [row.student, row.user_id, row.file, "yes" if row.late else "no"]
            values += [row.status, row.reason, team, " ".join(row.credited)]
            if row.status == GRADED:
                values += [f"{row.scores.get(q, 0):g}" for q in questions]
                values += [f"{sum(row.scores.values()):g}", f"{sum(row.max_scores.values()):g}"]
            else:
                values += [""] * (len(questions) + 2)
            writer.writerow(values)


def _write_feedback(
    rows: list[Row], specs: dict, students: dict[str, dict[str, str]], folder: Path
) -> None:
    """A page for each current submission, copied to every partner it scores for."""
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        if row.status == SUPERSEDED or not row.user_id:
            continue
        tests = {t["name"]: t for t in row.tests if t.get("max_score") is not None}
        verdicts = {
            q: parse_verdicts(tests[q].get("output", ""), cases)
            for q, cases in specs.items()
            if q in tests
        }
        details = [f"File: {row.file}" + (" (late)" if row.late else ""), f"Status: {row.status}"]
        if row.reason:
            details.append(f"Note: {row.reason}")
        if row.team:
            details.append(
                "Team: " + "; ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
            )
        ordered = dict(sorted(row.scores.items(), key=lambda item: question_order(item[0])))
        for user_id in row.credited or [row.user_id]:
            name = students.get(user_id, {}).get("Student") or (
                row.student if user_id == row.user_id else "partner"
            )
            page = render_feedback(
                f"Autoencoders with MNIST: feedback for {name} ({user_id})",
                details,
                ordered,
                row.max_scores,
                verdicts,
                row.answers,
            )
            slug = re.sub(r"[^a-z0-9]", "", name.lower())  # Canvas's own "lastfirst" style
            (folder / f"{slug}_{user_id}.md").write_text(page, encoding="utf-8")
