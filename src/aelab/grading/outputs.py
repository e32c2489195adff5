"""What a grading run writes: results.csv, feedback pages, and the zip Canvas takes them back in.

Feedback pages are self-contained HTML (they open offline, in Canvas too). A hidden test
shows by name and with its message as the grader rendered it (see ``autograder.message``);
a submission put up for review says so without saying what was found.
"""

from __future__ import annotations

import csv
import html
import re
import zipfile
from pathlib import Path

import mistune

from aelab.canvas import comment_file_name
from aelab.grading.collect import Row
from aelab.grading.runner import GRADED, REVIEW

_markdown = mistune.create_markdown(escape=True)  # students' text: their HTML shown as text
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1b1b1b; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25rem .6rem; }
.passed { color: #176317; } .failed { color: #a11010; } .muted { color: #666; }
blockquote { border-left: 4px solid #ddd; margin: .5rem 0; padding: .2rem .8rem; }
"""


def page(title: str, body: str) -> str:
    """A self-contained HTML page."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def markdown(text: str) -> str:
    """A student's Markdown as HTML, their own HTML escaped."""
    return _markdown(text)


def write_results_csv(
    rows: list[Row], questions: list[str], path: Path, written: dict[int, float] | None = None
) -> None:
    """One row per file: who, which file, what happened, score per question and total."""
    header = ["student", "user_id", "file", "late", "status", "reason", "team", "credited"]
    header += [*questions, "autograded", "written", "total", "possible", "seconds"]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            team = "; ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
            values = [row.student, row.user_id, row.file, "yes" if row.late else "no"]
            values += [row.status, row.reason, team, " ".join(row.credited)]
            if row.status in (GRADED, REVIEW):
                autograded = sum(row.scores.values())
                extra = (written or {}).get(id(row))
                values += [f"{row.scores.get(q, 0):g}" for q in questions]
                values += [f"{autograded:g}", "" if extra is None else f"{extra:g}"]
                values += [f"{autograded + (extra or 0):g}", f"{sum(row.max_scores.values()):g}"]
                values.append(f"{row.seconds:.1f}")
            else:
                values += [""] * (len(questions) + 5)
            writer.writerow(values)


def feedback_body(row: Row, written_html: str = "") -> str:
    """The feedback for one submission: what happened, scores, each test, written answers."""
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
    if row.team:
        team = ", ".join(f"{p['name']} ({p['canvas_id']})" for p in row.team)
        parts.append(f"<p>Team: {html.escape(team)}</p>")
    if row.status == GRADED and row.scores:
        total, possible = sum(row.scores.values()), sum(row.max_scores.values())
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
    parts.append(written_html)
    return "\n".join(parts)


def _student_reason(reason: str) -> str:
    """The row's reason without what only the GSI should read."""
    return "; ".join(p for p in reason.split("; ") if not p.startswith("for review"))


def write_feedback(
    rows: list[Row],
    students: dict[str, dict[str, str]],
    folder: Path,
    title: str,
    written: dict[int, str] | None = None,
) -> list[str]:
    """A page per submission (and per partner it scores for), and ``feedback_upload.zip``.

    The zip's names follow what Canvas's "Upload Submission Comments" needs: the user id
    and an attachment id of that user's own submission. A partner who did not submit has
    no attachment, so their page is in ``folder`` only; their ids are returned.
    """
    folder.mkdir(parents=True, exist_ok=True)
    undeliverable = []
    upload = zipfile.ZipFile(folder.parent / "feedback_upload.zip", "w", zipfile.ZIP_DEFLATED)
    with upload:
        for row in rows:
            if not row.user_id or row.status == "not graded":
                continue
            body = feedback_body(row, (written or {}).get(id(row), ""))
            for user_id in row.credited or [row.user_id]:
                name = students.get(user_id, {}).get("Student") or (
                    row.student if user_id == row.user_id else "partner"
                )
                text = page(f"{title}: feedback for {name}", body)
                slug = re.sub(r"[^a-z0-9]", "", name.lower()) or "student"
                (folder / f"{slug}_{user_id}.html").write_text(text, encoding="utf-8")
                if user_id == row.user_id and row.attachment_id and user_id.isdigit():
                    upload.writestr(
                        comment_file_name(name, user_id, row.attachment_id, ".html"), text
                    )
                elif user_id != row.user_id:
                    undeliverable.append(user_id)
    return undeliverable
