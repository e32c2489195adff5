"""A model of what Canvas does with the files a grading run writes, from Canvas's own source.

instructure/canvas-lms, each step cited where it is modelled:

- the download's file names (``lib/content_zipper.rb``) and the gradebook export
  (``lib/gradebook_exporter.rb``), to build test classes;
- the gradebook import: ``lib/gradebook_importer.rb`` reads the CSV (Ruby's CSV: an unquoted
  empty field is nil, a quoted one ""), ``ui/features/gradebook_uploads/jquery/
  process_gradebook_upload.js`` sends what changed, ``app/models/submission.rb
  #process_bulk_update`` grades each sent cell with ``app/models/abstract_assignment.rb
  #grade_student``, which gives a group's members one grade;
- the late policy (``app/models/late_policy.rb``, ``submission.rb#score_late_or_none``);
- the comment upload, "Re-Upload Submissions" (``abstract_assignment.rb
  #generate_comments_from_files`` and ``#infer_comment_context_from_filename``).

``check_import`` runs the import model over a run's ``gradebook_import.csv`` and holds it to
``changes.csv``: conftest.py does so for every import a test writes.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

EXCUSED = "EX"


# --------------------------------------------------------------- building a class as Canvas would


def download_name(
    name: str,
    user_id: str,
    attachment_id: str,
    display_name: str,
    late: bool = False,
    anonymous_id: str = "",
) -> str:
    """content_zipper.rb#get_filename and #add_upload_submission."""
    users_name = None if anonymous_id else re.sub(r"_(\d+)_", r"\1", name).lower()
    who = f"anon_{anonymous_id}" if anonymous_id else user_id
    filename = "_".join(p for p in (users_name, "LATE" if late else None, who) if p is not None)
    filename = re.sub(r"[^\w]", "", filename)  # sanitize_file_name
    return f"{filename}_{attachment_id}_{re.sub(r'[/:*?<>|]+', '_', display_name)}"


def export_cell(stored: str) -> str:
    """gradebook_exporter.rb: ``EX``, else format_numbers (two decimals), blank for no score."""
    if stored in ("", EXCUSED, "N/A"):
        return stored
    return f"{float(stored):.2f}"


def gradebook_csv(
    path: Path,
    column: str,
    students: dict[str, tuple[str, str]],
    points: float = 45,
) -> Path:
    """An "Export Entire Gradebook" CSV: user id → (sortable name, stored grade of ``column``)."""
    rows = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column, "Current Score"],
        ["    Points Possible", "", "", "", "", f"{points:.2f}", "(read only)"],
        ["", "", "", "", "", "Manual Posting", ""],
    ]
    for user_id, (name, stored) in students.items():
        shown = f'="{name}"' if re.match(r"^\s*=", name) else name  # #student_name
        rows.append(
            [shown, user_id, f"s{user_id}", f"login{user_id}", "A", export_cell(stored), "0"]
        )
    with open(path, "w", newline="", encoding="utf-8") as file:
        file.write("\ufeff")
        csv.writer(file).writerows(rows)
    return path


def late_score(entered: float, possible: float, deduction: float, intervals: int) -> float:
    """The score Canvas stores for a late submission (lowest possible grade 0).

    late_policy.rb#points_deducted, rounded (submission.rb#late_points_deducted), then
    submission.rb#score_late_or_none.
    """
    room = max(entered * 100 / possible, 0.0)
    deducted = round(possible * min(deduction * intervals, room) / 100, 2)
    return min(0.0, entered) if deducted > entered else entered - deducted


# ---------------------------------------------------------------------------- the gradebook import


def ruby_text(score: float) -> str:
    """Ruby's Float#to_s, which gradebook_importer.rb compares cells with (``score.to_s``)."""
    return f"{score:.1f}" if score == int(score) else repr(score)


def _number(cell: str) -> float | None:
    """CSV::Converters[:decimal_comma_to_period], then Assignment#grade_to_score for points."""
    if not re.fullmatch(r"-?[0-9.,]+", cell) or not re.search(r"\d", cell):
        return None
    *whole, last = re.split(r"[,.]", cell)
    return float(f"{''.join(whole)}.{last}" if whole else last)


def ruby_csv(text: str, delimiter: str = ",") -> list[list[str | None]]:
    """Rows as Ruby's CSV reads them: an unquoted empty field is nil (``None``)."""
    rows, row, field, quoted, at = [], [], "", False, 0
    in_quotes = False
    while at < len(text):
        char = text[at]
        if in_quotes:
            if char == '"' and text[at + 1 : at + 2] == '"':
                field, at = field + '"', at + 1
            elif char == '"':
                in_quotes = False
            else:
                field += char
        elif char == '"':
            in_quotes = quoted = True
        elif char in (delimiter, "\n", "\r"):
            row.append(field if field or quoted else None)
            field, quoted = "", False
            if char == "\r" and text[at + 1 : at + 2] == "\n":
                at += 1
            if char != delimiter:
                rows.append(row)
                row = []
        else:
            field += char
        at += 1
    if field or quoted or row:
        row.append(field if field or quoted else None)
        rows.append(row)
    return rows


def _no_change(new: str | None, current: str) -> bool:
    """gradebook_importer.rb#no_change_to_value? (consider_excused)."""
    if new == current or ((new or "") in ("", "-") and current in ("", "-")):
        return True
    if not new or not current or EXCUSED in (new.upper(), current.upper()):
        return False
    first, second = _number(new), _number(current)
    return first is not None and second is not None and round(first, 2) == round(second, 2)


def canvas_import(
    csv_path: Path, stored: dict[str, str], groups: dict[str, str], delimiter: str = ","
) -> dict[str, str]:
    """What Canvas stores after importing ``csv_path``: user id → Ruby text, ``EX`` or "".

    ``stored``: what Canvas stored before (Ruby text); ``groups``: user id → Canvas group.
    """
    rows = ruby_csv(csv_path.read_text(encoding="utf-8-sig"), delimiter)
    header, id_column = rows[0], rows[0].index("ID")
    cells = {}
    for row in rows[1:]:
        first = row[0] or ""
        if "Points Possible" in first or all(
            re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c or "", re.I) for c in row
        ):
            continue  # gradebook_importer.rb#check_for_non_student_row
        cell = row[len(header) - 1]
        cells[row[id_column]] = cell.strip() if cell is not None else None  # &.strip
    if all(_no_change(cells[u], stored[u]) for u in cells):
        return dict(stored)  # #parse!: an assignment with no change is left out of the upload
    # process_gradebook_upload.js#populateGradeDataPerSubmission: every cell whose text is not
    # original_grade, as JSON keyed by student id (integer keys: ascending order)
    sent = {u: c for u, c in cells.items() if c != stored[u]}
    result = dict(stored)
    members_of: dict[str, list[str]] = {}
    for user_id, group in groups.items():
        members_of.setdefault(group, []).append(user_id)
    for user_id in sorted(sent, key=int):
        value = sent[user_id]
        if (value or "").upper() in ("EX", "EXCUSED"):
            result[user_id] = EXCUSED  # grade_student with excuse: that student only
            continue
        score = _number(value) if value else None
        group = groups.get(user_id)
        for member in sorted(members_of[group], key=int) if group else [user_id]:
            if member != user_id and result[member] == EXCUSED:
                continue  # #save_grade_to_submission: an excused groupmate keeps EX
            result[member] = ruby_text(score) if score is not None else ""
    return result


def check_import(folder: Path) -> dict[str, str]:
    """Run Canvas's import of ``folder/gradebook_import.csv``; hold it to ``changes.csv``.

    Every student's stored grade after the import must be what changes.csv says is new, so
    no cell is cleared or overwritten that changes.csv keeps. Returns the stored grades.
    """
    with open(folder / "changes.csv", newline="", encoding="utf-8") as file:
        changes = list(csv.DictReader(file))
    text = (folder / "gradebook_import.csv").read_text(encoding="utf-8-sig")
    delimiter = (
        ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    )
    stored = {c["user_id"]: _stored(c["old"]) for c in changes}
    groups = {c["user_id"]: c["group"] for c in changes if c["group"]}
    result = canvas_import(folder / "gradebook_import.csv", stored, groups, delimiter)
    for change in changes:
        user_id, expected = change["user_id"], _stored(change["new"])
        assert result[user_id] == expected, (user_id, change, result[user_id])
        assert not (change["old"] not in ("", "-") and result[user_id] == ""), change
    return result


def _stored(cell: str) -> str:
    number = _number(cell)
    return cell if number is None else ruby_text(number)


# ---------------------------------------------------------------------------- the comment upload


@dataclass(frozen=True)
class Comment:
    """One file of feedback_upload.zip as Canvas attaches it."""

    member: str  # the zip's file name
    submitter: str  # user id, or anon_<id>
    display_name: str  # what Canvas shows: the submission attachment's display name


def canvas_comments(
    upload: Path, attachments: dict[str, tuple[str, str]]
) -> tuple[list[Comment], list[str]]:
    """The comments "Re-Upload Submissions" makes of ``upload``, and the files it ignores.

    ``attachments``: the download's attachment id → (its submission's user id or
    ``anon_<id>``, its display name). abstract_assignment.rb#infer_comment_context_from_filename:
    ``LATE`` dropped; a name starting ``anon`` is ``anon_<anonymous id>_<attachment id>``, any
    other gives the first two all-digit parts, the user id and the attachment id, which must be
    one of that submission's; #generate_comments_from_files attaches the file under that
    attachment's display name.
    """
    comments, ignored = [], []
    with zipfile.ZipFile(upload) as archive:
        for member in archive.namelist():
            tokens = [t for t in member.split("_") if t != "LATE"]
            if tokens[0] == "anon":
                submitter, attachment = f"anon_{tokens[1]}", tokens[2]
            else:
                digits = [t for t in tokens if t.isdigit()][:2]
                submitter, attachment = [*digits, "", ""][:2]
            owner, display = attachments.get(attachment, ("", ""))
            if owner != submitter or not submitter:
                ignored.append(member)
            else:
                comments.append(Comment(member, submitter, display))
    return comments, ignored
