"""Canvas's file formats: the names in a "Download Submissions" zip, and the gradebook CSV.

Each rule follows Canvas's own source (instructure/canvas-lms), cited where it is used:
``lib/content_zipper.rb`` names the downloaded files, ``app/models/attachment.rb`` makes
duplicate names unique, ``lib/gradebook_importer.rb`` reads the CSV a GSI imports (and
``ui/features/gradebook_uploads/jquery/process_gradebook_upload.js`` sends what changed) and
``app/models/abstract_assignment.rb`` matches uploaded comment files to submissions.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from aelab.text import clean

# content_zipper.rb#get_filename: [sortable name, "LATE", user id | "anon_<id>"] joined by "_",
# then "_<attachment id>_<display name>" for an upload, "_text.html" / "_link.html" for a text
# or URL entry. The name is the group's for a group assignment and absent when anonymous.
_DUPLICATE = re.compile(r"-(\d{1,2}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
# gradebook_importer.rb: columns that hold no assignment (grading-period variants included).
_NOT_ASSIGNMENT = re.compile(
    "Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
    "Override Score|Override Grade|Override Status"
)
_TITLE_AND_ID = re.compile(r"^(?P<title>.*) \((?P<id>\d+)\)$")  # Assignment.title_and_id
_MANUAL_POSTING = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)
# Anonymity.generate_short_id: SecureRandom.base58(5)
_ANONYMOUS_ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{5}$")
# gradebook_importer.rb, CSV::Converters[:decimal_comma_to_period]: "37,5" is 37.5
_NUMBER = re.compile(r"^-?[0-9.,]+$")
EXCUSED = "EX"
LATE = "LATE"


@dataclass(frozen=True)
class SubmittedFile:
    """One file of a Canvas bulk download, with what its name says."""

    path: Path
    name: str  # Canvas's "lastfirst" (or the group's name); empty when anonymous
    user_id: str  # empty when anonymous
    anonymous_id: str  # Canvas's 5-character id when grading is anonymous
    attachment_id: str  # empty for a text or URL entry
    display_name: str  # the student's file name, without Canvas's -N or -<uuid>
    late: bool
    kind: str  # "upload", "text" or "url"

    @property
    def student(self) -> str:
        """Who submitted, as rows and gradebooks name them: the user id, or ``anon_<id>``."""
        return self.user_id or f"anon_{self.anonymous_id}"

    @property
    def suffix(self) -> str:
        """The file's extension, lower case (".ipynb", ".zip", ".html", ...)."""
        return Path(self.display_name).suffix.lower()


def parse_submission_name(path: Path, user_ids: set[str] | None = None) -> SubmittedFile | None:
    """What Canvas's file name says; ``None`` for a name Canvas did not make.

    content_zipper.rb#get_filename joins [name, "LATE" if late, user id or ``anon_<id>``]: so
    ``LATE`` is Canvas's only where it stands, upper case, just before the id (a name is lower
    case). A group's name may hold digits of its own (``lab_group_3_101_555_x.ipynb``): given
    the gradebook's ``user_ids``, the user id is the first number that is one of them; a name
    whose number is none of them is read by Canvas's own rule, the first number
    (abstract_assignment.rb#infer_comment_context_from_filename), for the caller to report.
    """
    tokens = clean(path.name).split("_")
    at = _anonymous_id_at(tokens, user_ids)
    if at is not None:
        return _parsed(path, tokens, at, "", tokens[at], late=tokens[0] == LATE)
    at = _user_id_at(tokens, user_ids)
    if at is None and user_ids is not None:
        at = _user_id_at(tokens, None)
    if at is None:
        return None
    late = tokens[at - 1] == LATE
    name = "_".join(tokens[: at - 1] if late else tokens[:at])
    return _parsed(path, tokens, at, name, "", late)


def _anonymous_id_at(tokens: list[str], user_ids: set[str] | None) -> int | None:
    """Where the id of ``[LATE_]anon_<id>_…`` is; ``None`` for a student whose name is "anon"."""
    at = 2 if tokens[:1] == [LATE] else 1
    if tokens[at - 1 : at] != ["anon"] or len(tokens) <= at + 1:
        return None
    if not _ANONYMOUS_ID.match(tokens[at]) or tokens[at] in (user_ids or ()):
        return None
    return at if _canvas_tail(tokens[at + 1 :]) else None


def _user_id_at(tokens: list[str], user_ids: set[str] | None) -> int | None:
    for at in range(1, len(tokens) - 1):
        known = user_ids is None or tokens[at] in user_ids
        if tokens[at].isdigit() and known and _canvas_tail(tokens[at + 1 :]):
            return at
    return None


def _canvas_tail(rest: list[str]) -> bool:
    """``<attachment id>_<display name>``, or ``text.html``/``link.html`` for an entry."""
    upload = len(rest) >= 2 and rest[0].isdigit()
    return upload or (len(rest) == 1 and rest[0] in ("text.html", "link.html"))


def _parsed(path, tokens, at, name, anonymous_id, late) -> SubmittedFile:
    rest = tokens[at + 1 :]
    if len(rest) == 1:  # content_zipper.rb#add_text_or_url
        kind = "text" if rest[0] == "text.html" else "url"
        attachment, display = "", rest[0]
    else:
        kind, attachment, display = "upload", rest[0], "_".join(rest[1:])
    stem, suffix = _split_suffix(display)
    display = _DUPLICATE.sub("", stem) + suffix  # attachment.rb#make_unique_filename
    return SubmittedFile(
        path=path,
        name=name,
        user_id="" if anonymous_id else tokens[at],
        anonymous_id=anonymous_id,
        attachment_id=attachment,
        display_name=display,
        late=late,
        kind=kind,
    )


def file_name_of(sortable_name: str) -> str:
    """How a download names a student whose gradebook name is ``sortable_name``.

    content_zipper.rb#get_user_name (``sanitize_user_name``: ``_<digits>_`` loses its
    underscores, lower case), then #sanitize_file_name (only word characters stay). The
    gradebook export writes a name that starts with ``=`` as ``="name"``
    (gradebook_exporter.rb#student_name).
    """
    quoted = re.fullmatch(r'="(.*)"', sortable_name)
    name = re.sub(r"_(\d+)_", r"\1", quoted[1] if quoted else sortable_name).lower()
    return "".join(c for c in name if _word(c))


def _word(character: str) -> bool:
    """Ruby's ``[[:word:]]``: a letter, a mark, a decimal digit or a connector (``_``)."""
    category = unicodedata.category(character)
    return category[0] in "LM" or category in ("Nd", "Pc")


def _split_suffix(filename: str) -> tuple[str, str]:
    """``("a.b", ".tar.gz")``-style split, as attachment.rb keeps multi-part extensions."""
    found = re.search(r"(\.[A-Za-z][A-Za-z0-9]*)*(\.[A-Za-z0-9]*)$", filename)
    return (filename[: found.start()], found.group()) if found else (filename, "")


def comment_file_name(name: str, student: str, attachment_id: str, suffix: str) -> str:
    """A name Canvas's "Re-Upload Submissions" attaches to ``student``'s submission.

    abstract_assignment.rb#infer_comment_context_from_filename drops ``LATE``; a name that
    starts with ``anon`` is read as ``anon_<anonymous id>_<attachment id>``, any other by its
    first two all-digit ``_`` parts, the user id and the attachment id (which must be one of
    that submission's). So the name part keeps letters only, and is never "anon".
    """
    if student.startswith("anon_"):
        return f"{student}_{attachment_id}_feedback{suffix}"
    safe = re.sub(r"[^a-z]", "", name.lower())
    safe = "student" if safe in ("", "anon") else safe
    return f"{safe}_{student}_{attachment_id}_feedback{suffix}"


def canvas_number(cell: str) -> float | None:
    """The number a gradebook cell holds, read as gradebook_importer.rb reads it; else ``None``.

    CSV::Converters[:decimal_comma_to_period]: the last "." or "," is the decimal point.
    """
    cell = cell.strip()
    if not _NUMBER.match(cell) or not any(c.isdigit() for c in cell):
        return None
    *whole, last = re.split(r"[,.]", cell)
    try:
        return float(f"{''.join(whole)}.{last}" if whole else last)
    except ValueError:
        return None


def stored_text(cell: str) -> str:
    """An exported cell as the upload page compares it: ``submission.score.to_s``.

    gradebook_importer.rb#parse! sets each cell's ``original_grade`` to the stored score's
    Ruby text (``40.5``, ``41.0``), ``EX`` or ``""``, and process_gradebook_upload.js
    #populateGradeDataPerSubmission sends every cell whose text differs, so ``40.50`` as
    exported would be sent again. Ruby's Float#to_s and Python's ``repr`` agree for scores.
    """
    value = canvas_number(cell)
    return cell.strip() if value is None else repr(value)


class GradebookError(ValueError):
    """The gradebook CSV is not one Canvas exported, or the assignment column is ambiguous."""


@dataclass
class Gradebook:
    """A Canvas gradebook export, kept cell for cell: header, rows and delimiter.

    Two shapes of header (gradebook_importer.rb#row_has_student_headers?): ``Student, ID``
    or ``LastName, FirstName, ID``, then optionally ``SIS User ID, SIS Login ID`` (and
    ``Integration ID``, ``Root Account``), then ``Section`` and custom columns.
    """

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    delimiter: str = ","

    @property
    def id_column(self) -> int:
        """Where the Canvas user id is: the second column, or the third after LastName/FirstName."""
        return 2 if self.header[:2] == ["LastName", "FirstName"] else 1

    def name_of(self, row: list[str]) -> str:
        """The student's name as Canvas shows it ("Last, First")."""
        if self.id_column == 2:
            return ", ".join(part for part in row[:2] if part)
        return row[0] if row else ""

    def is_student(self, row: list[str]) -> bool:
        """A student row: not the Points Possible row nor the Muted/Manual Posting row."""
        if not row or "Points Possible" in row[0]:
            return False
        if all(_MANUAL_POSTING.match(cell or "") for cell in row):
            return False
        return len(row) > self.id_column and row[self.id_column].strip().isdigit()

    def students(self) -> dict[str, dict[str, str]]:
        """Students by Canvas user id: each row as column → value, plus ``"Student"`` (the name)."""
        people = {}
        for row in self.rows:
            if self.is_student(row):
                record = dict(zip(self.header, row, strict=False))
                record["Student"] = self.name_of(row)
                people[row[self.id_column].strip()] = record
        return people

    def identity_columns(self) -> list[str]:
        """The student information columns, up to and including ``Section``."""
        if "Section" in self.header:
            return self.header[: self.header.index("Section") + 1]
        return self.header[: self.id_column + 1]

    def assignment_columns(self) -> list[str]:
        """Columns holding an assignment (totals, grades and overrides left out)."""
        start = len(self.identity_columns())
        return [c for c in self.header[start:] if c and not _NOT_ASSIGNMENT.search(c)]

    def assignment_column(self, wanted: str | None) -> str:
        """The header of the assignment column that ``wanted`` names (title, id or part of it).

        With ``wanted=None`` the gradebook must hold exactly one assignment.
        """
        columns = self.assignment_columns()
        if wanted is None:
            found = columns
        else:
            key = wanted.strip().lower()
            found = [c for c in columns if key in (c.lower(), _column_id(c))]
            found = found or [c for c in columns if key in c.lower()]
        if len(found) != 1:
            listing = "; ".join(columns) or "none"
            problem = "matches no assignment column" if found == [] else "matches several columns"
            raise GradebookError(
                f"--assignment {wanted!r} {problem}. Pass the column's title or id; "
                f"the gradebook's assignment columns are: {listing}"
            )
        return found[0]

    def points_possible(self, column: str) -> float | None:
        """The column's points possible, from the export's "Points Possible" row."""
        index = self.header.index(column)
        for row in self.rows:
            if row and "Points Possible" in row[0] and index < len(row):
                return canvas_number(row[index])
        return None

    def cell(self, user_id: str, column: str) -> str:
        """The exported cell of ``user_id`` in ``column`` ("" when there is none)."""
        index = self.header.index(column)
        for row in self.rows:
            if self.is_student(row) and row[self.id_column].strip() == user_id:
                return row[index].strip() if index < len(row) else ""
        return ""


def _column_id(column: str) -> str:
    found = _TITLE_AND_ID.match(column)
    return found["id"] if found else ""


def read_gradebook(path: Path) -> Gradebook:
    """Read a gradebook CSV as Canvas exports it.

    UTF-8 with or without a byte-order mark, comma- or semicolon-separated
    (gradebook_importer.rb#identify_delimiter).
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    delimiter = _delimiter(text.splitlines()[:3])
    lines = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    header = lines[0] if lines else []
    names_first = len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    last_first = len(header) > 4 and header[:2] == ["LastName", "FirstName"] and "ID" in header[2]
    if not (names_first or last_first):
        raise GradebookError(
            f"{path} is not a Canvas gradebook export: its first row must name the columns "
            "Student (or LastName, FirstName), ID, SIS User ID, SIS Login ID, Section and the "
            "assignments (Canvas: Grades → Export → Export Entire Gradebook)."
        )
    return Gradebook(header=header, rows=lines[1:], delimiter=delimiter)


def _delimiter(first_lines: list[str]) -> str:
    """The separator: ";" if it splits the first lines into more, equally many, fields."""
    counts = {}
    for separator in (";", ","):
        sizes = {len(next(csv.reader([line], delimiter=separator), [])) for line in first_lines}
        counts[separator] = sizes.pop() if len(sizes) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


@dataclass(frozen=True)
class Change:
    """What the import does to one student's cell, and why."""

    user_id: str
    student: str
    old: str
    new: str
    why: str
    group: str = ""  # the student's Canvas group, for a group assignment
    held: str = ""  # what a kept cell holds that the import must not touch: HAND_SET, EXCUSED

    @property
    def kind(self) -> str:
        """``"set"`` (was empty), ``"changed"``, ``"cleared"``, ``"kept"``."""
        if self.new == self.old or same_score(self.old, self.new):
            return "kept"
        if not self.new:
            return "cleared"
        return "set" if self.old in ("", "-") else "changed"


def same_score(old: str, new: str) -> bool:
    """gradebook_importer.rb#no_change_to_value?: equal when rounded to 2 decimals."""
    first, second = canvas_number(old), canvas_number(new)
    return first is not None and second is not None and round(first, 2) == round(second, 2)


def write_gradebook_import(
    gradebook: Gradebook,
    column: str,
    new_cells: dict[str, str],
    path: Path,
) -> None:
    """Write the CSV Canvas imports: the export's student columns and ``column`` only.

    A student in ``new_cells`` gets that value; every other cell is written as Canvas stores
    it (``stored_text``), so the upload page sends nothing for it. Every field is quoted: Ruby's
    CSV reads an unquoted empty field as nil, which the upload page would send as "no grade"
    for a student whose stored grade is blank (``""``), and in a group assignment
    ``grade_student`` would give that blank to the whole group (abstract_assignment.rb).
    Canvas's own cells (names, ids, sections) stay exactly as exported.
    """
    keep = [*range(len(gradebook.identity_columns())), gradebook.header.index(column)]
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as file:
        writer = csv.writer(file, delimiter=gradebook.delimiter, quoting=csv.QUOTE_ALL)
        writer.writerow([gradebook.header[i] for i in keep])
        for row in gradebook.rows:
            cells = [row[i] if i < len(row) else "" for i in keep]
            if gradebook.is_student(row):
                user_id = row[gradebook.id_column].strip()
                cells[-1] = new_cells.get(user_id, stored_text(cells[-1]))
            writer.writerow(cells)
