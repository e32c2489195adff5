"""What a grading run writes: results.csv, feedback pages, and the zip Canvas takes them back in.

Feedback pages (``templates/feedback.html``) fetch nothing (``aelab.pages``), and a student's
Markdown image is shown only when embedded (``data:``). A hidden test shows by name and with
its message as the grader rendered it (see ``autograder.message``); a submission put up for
review says so without saying what was found. Every CSV cell that comes from a student is
made inert for spreadsheets (``aelab.text.spreadsheet_cell``).
"""

from __future__ import annotations

import csv
import html
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import mistune
from markupsafe import Markup

from aelab.canvas import comment_file_name
from aelab.grading.autograder import Autograder
from aelab.pages import render, sanitised_html
from aelab.record import GRADED, PAGE_ORDER, RECORD, REVIEW, SCORED, Row
from aelab.text import spreadsheet_cell

GSI_ONLY = ("for review", "for the GSI")  # parts of a row's reason students do not see


class _Offline(mistune.HTMLRenderer):
    """Students' Markdown as HTML that loads nothing: an image only when it is embedded."""

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if url.startswith("data:image/"):
            return super().image(text, url, title)
        shown = text or "no description"
        return f'<span class="muted">[image not shown: {shown} ({html.escape(url)})]</span>'


_markdown = mistune.create_markdown(escape=True, renderer=_Offline(escape=True))


def markdown(text: str) -> Markup:
    """A student's Markdown as HTML, their own HTML escaped, nothing fetched."""
    return sanitised_html(_markdown(text))


@dataclass(frozen=True)
class WrittenPart:
    """A row's written answers as its feedback shows them."""

    html: str = ""  # Markup from ``written.feedback_section``; a plain string shows as text
    points: float | None = None  # once every answer is scored
    possible: float = 0.0


def write_results_csv(
    rows: list[Row], questions: list[str], path: Path, written_possible: float = 0.0
) -> None:
    """One row per file: who, which file, what happened, score per question and total.

    ``possible`` counts the written points once a row's written answers are all scored.
    """
    header = ["student", "user_id", "file", "late", "status", "reason", "team", "credited"]
    header += [*questions, "autograded", "written", "total", "possible", "seconds"]
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            team = "; ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
            text = [row.student, row.user_id, row.file, "yes" if row.late else "no"]
            text += [row.status, row.reason, team, " ".join(row.credited)]
            values = [spreadsheet_cell(value) for value in text]
            if row.status in SCORED:
                autograded, possible = sum(row.scores.values()), sum(row.max_scores.values())
                extra = row.written
                values += [f"{row.scores.get(q, 0):g}" for q in questions]
                values += [f"{autograded:g}", "" if extra is None else f"{extra:g}"]
                if extra is not None:
                    autograded, possible = autograded + extra, possible + written_possible
                values += [f"{autograded:g}", f"{possible:g}", f"{row.seconds:.1f}"]
            else:
                values += [""] * (len(questions) + 5)
            writer.writerow(values)


def write_record(out: Path, rows: list[Row], autograder: Autograder) -> None:
    """The run's record (``rows.json``): all the class report needs, so it never grades again."""
    record = {
        "title": autograder.lab.title,
        "questions": autograder.questions,
        "written_questions": {q.name: q.points for q in autograder.written},
        "tests": [
            {"key": t.key, "question": t.question, "points": t.points, "hidden": t.hidden}
            for t in autograder.tests
        ],
        "scaffold": autograder.scaffold,
        "rows": [asdict(row) for row in rows],
    }
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")


def _student_reason(reason: str) -> str:
    """The row's reason without what only the GSI should read."""
    return "; ".join(p for p in reason.split("; ") if not p.startswith(GSI_ONLY))


@dataclass
class StudentPage:
    """Everything one student's feedback page is made of."""

    row: Row  # the row the page is about: the one that scored for them, else their best file
    others: list[Row]  # the student's own other files
    attachment: str  # the attachment id Canvas attaches the page to ("" when none)


def student_pages(rows: list[Row]) -> dict[str, StudentPage]:
    """One page per student (and anonymous submission), by user id.

    The row that scores for them wins (their own graded notebook, or a partner's that names
    them); their other files are listed on it. The page is attached to an HTML file of their
    own submission when there is one: Canvas shows an uploaded comment file under the name of
    the submission file it is attached to (abstract_assignment.rb#generate_comments_from_files
    passes that attachment's ``display_name``), and an HTML name opens as a page.
    """
    own: dict[str, list[Row]] = {}
    for row in rows:
        if row.user_id:
            own.setdefault(row.user_id, []).append(row)
    scoring = {user_id: row for row in rows for user_id in row.credited}
    pages = {}
    for user_id in sorted(set(own) | set(scoring)):
        files = sorted(own.get(user_id, []), key=lambda r: _page_rank(r.status))
        main = scoring.get(user_id) or files[0]
        others = [r for r in files if r is not main]
        pages[user_id] = StudentPage(main, others, _shown_under(files, main))
    return pages


def _shown_under(files: list[Row], main: Row) -> str:
    """The attachment of the student's own that Canvas shows the page as: HTML, else the main."""
    ranked = sorted(
        (r for r in files if r.attachment_id),
        key=lambda r: (Path(r.file).suffix.lower() not in (".html", ".htm"), r is not main),
    )
    return ranked[0].attachment_id if ranked else ""


def _page_rank(status: str) -> int:
    return PAGE_ORDER.index(status) if status in PAGE_ORDER else len(PAGE_ORDER)


def write_feedback(
    rows: list[Row],
    students: dict[str, dict[str, str]],
    folder: Path,
    title: str,
    written: Callable[[Row], WrittenPart] | None = None,
    groups: dict[str, list[str]] | None = None,
) -> list[str]:
    """A page per student in ``folder``, and ``feedback_upload.zip`` for Canvas.

    ``written``: a row's written answers as its page shows them.

    The zip's names follow what Canvas's "Re-Upload Submissions" needs
    (``aelab.canvas.comment_file_name``): the student's user id (or anonymous id) and an
    attachment id of their own submission. A partner who did not submit has no attachment,
    so their page is in ``folder`` only, and their ids are returned; in a group assignment
    Canvas gives the file of one member to every member of the group
    (abstract_assignment.rb#generate_comments_from_files → ``group_students``), so a member
    of the submitter's group is not listed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    group_of = {member: group for group, members in (groups or {}).items() for member in members}
    undeliverable = []
    upload = zipfile.ZipFile(folder.parent / "feedback_upload.zip", "w", zipfile.ZIP_DEFLATED)
    with upload:
        for user_id, student in student_pages(rows).items():
            row = student.row
            name = _name(user_id, row, students)
            text = render(
                "feedback.html",
                title=f"{title}: feedback for {name}",
                row=row,
                graded=row.status == GRADED,
                under_review=row.status == REVIEW,
                reason=_student_reason(row.reason),
                others=[(o.file, _student_reason(o.reason)) for o in student.others],
                team=", ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team),
                written=written(row) if written else WrittenPart(),
            ).encode("utf-8", "replace")
            slug = re.sub(r"[^a-z0-9]", "", name.lower()) or "student"
            (folder / f"{slug}_{user_id}.html").write_bytes(text)
            if student.attachment:
                upload.writestr(comment_file_name(name, user_id, student.attachment, ".html"), text)
            elif not (user_id in group_of and group_of.get(row.user_id) == group_of[user_id]):
                undeliverable.append(user_id)
    return undeliverable


def _name(user_id: str, row: Row, students: dict[str, dict[str, str]]) -> str:
    """The student's name as the gradebook has it, else as the download does."""
    if user_id in students:
        return students[user_id].get("Student") or user_id
    if user_id == row.user_id and row.student:
        return row.student
    return "anonymous submission" if user_id.startswith("anon_") else "partner"
