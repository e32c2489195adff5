"""What a grading run writes: results.csv, feedback pages, and the zip Canvas takes them back in.

Feedback pages are self-contained HTML that fetches nothing (they open offline, in Canvas too):
a Content-Security-Policy allows only the page's own style and embedded images, and a
student's Markdown image is shown only when embedded (``data:``). A hidden test shows by name
and with its message as the grader rendered it (see ``autograder.message``); a submission put
up for review says so without saying what was found. Every CSV cell that comes from a student
is made inert for spreadsheets (``aelab.text.spreadsheet_cell``).
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

from aelab.canvas import comment_file_name
from aelab.grading.autograder import Autograder
from aelab.record import GRADED, PAGE_ORDER, RECORD, REVIEW, SCORED, Row
from aelab.text import spreadsheet_cell

# no request leaves the page: inline style and embedded (data:) images only
CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1b1b1b; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25rem .6rem; }
.passed { color: #176317; } .failed { color: #a11010; } .muted { color: #666; }
blockquote { border-left: 4px solid #ddd; margin: .5rem 0; padding: .2rem .8rem; }
"""
GSI_ONLY = ("for review", "for the GSI")  # parts of a row's reason students do not see


class _Offline(mistune.HTMLRenderer):
    """Students' Markdown as HTML that loads nothing: an image only when it is embedded."""

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if url.startswith("data:image/"):
            return super().image(text, url, title)
        shown = text or "no description"
        return f'<span class="muted">[image not shown: {shown} ({html.escape(url)})]</span>'


_markdown = mistune.create_markdown(escape=True, renderer=_Offline(escape=True))


def page(title: str, body: str) -> str:
    """A self-contained HTML page that fetches nothing."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}"><title>'
        f"{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def write_page(path: Path, title: str, body: str) -> None:
    """Write ``page(title, body)`` to ``path``, whatever characters it holds."""
    path.write_text(page(title, body), encoding="utf-8", errors="replace")


def markdown(text: str) -> str:
    """A student's Markdown as HTML, their own HTML escaped, nothing fetched."""
    return _markdown(text)


@dataclass(frozen=True)
class WrittenPart:
    """A row's written answers as its feedback shows them."""

    html: str = ""
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


def feedback_body(row: Row, written: WrittenPart | None = None, others: list[Row] = ()) -> str:
    """The feedback for one submission: what happened, scores, each test, written answers.

    ``others``: the student's other files, each with what became of it.
    """
    written = written or WrittenPart()
    parts = [f"<p>File: {html.escape(row.file)}{' (late)' if row.late else ''}</p>"]
    if row.status == REVIEW:
        parts.append(
            "<p><strong>Your submission is being reviewed by your GSI</strong> before its score "
            "is entered. You will hear from them.</p>"
        )
    elif row.status != GRADED:
        parts.append(
            f"<p>Status: <strong>{html.escape(row.status)}</strong>. "
            f"{html.escape(_student_reason(row.reason))}</p>"
        )
    if others:
        parts.append("<p>Other files in your submission:</p><ul>")
        parts += [
            f"<li>{html.escape(o.file)}: {html.escape(_student_reason(o.reason))}</li>"
            for o in others
        ]
        parts.append("</ul>")
    if row.team:
        team = ", ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
        parts.append(f"<p>Team: {html.escape(team)}</p>")
    if row.status == GRADED and row.scores:
        total, possible = sum(row.scores.values()), sum(row.max_scores.values())
        parts.append(_total(total, possible, written))
        parts.append(f"<h2>Autograded: {total:g} / {possible:g}</h2>")
        parts.append("<table><tr><th>Question</th><th>Score</th><th>Out of</th></tr>")
        parts += [
            f"<tr><td>{q}</td><td>{row.scores[q]:g}</td><td>{row.max_scores.get(q, 0):g}</td></tr>"
            for q in row.scores
        ]
        parts.append("</table>")
        for question in row.scores:
            parts.append(f"<h3>{question}</h3><ul>")
            for test in (t for t in row.tests if t["question"] == question):
                mark = "passed" if test["passed"] else "failed"
                kind = "hidden" if test["hidden"] else "public"
                message = "" if test["passed"] else f": {html.escape(test['message'])}"
                parts.append(
                    f'<li><span class="{mark}">{mark}</span> <code>{test["name"]}</code> '
                    f'<span class="muted">({kind} test, {test["points"]:g} pt)</span>{message}</li>'
                )
            parts.append("</ul>")
    parts.append(written.html)
    return "\n".join(parts)


def _total(autograded: float, possible: float, written: WrittenPart) -> str:
    """The overall total, with the written points once they are all scored."""
    if written.points is not None:
        total, out_of = autograded + written.points, possible + written.possible
        return f"<h2>Total: {total:g} / {out_of:g}</h2>"
    if written.possible:
        return (
            f"<h2>Total so far: {autograded:g} / {possible + written.possible:g}</h2>"
            f'<p class="muted">The written answers ({written.possible:g} points) are not all '
            "graded yet.</p>"
        )
    return f"<h2>Total: {autograded:g} / {possible:g}</h2>"


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
            body = feedback_body(row, written(row) if written else None, student.others)
            name = _name(user_id, row, students)
            text = page(f"{title}: feedback for {name}", body).encode("utf-8", "replace")
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
