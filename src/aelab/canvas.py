"""Canvas's file formats: the names in a "Download Submissions" zip, and the gradebook CSV."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

# <lastfirst>[_late]_<user id>_<submission id>_<the student's file name>
_SUBMISSION_NAME = re.compile(
    r"^(?P<student>[^_]+?)(?P<late>_late)?_(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<name>.+)$",
    re.IGNORECASE,
)
_RESUBMISSION = re.compile(r"^(?P<stem>.+?)-(?P<attempt>\d+)$")  # Canvas's -1, -2 on the name
_ASSIGNMENT_COLUMN = re.compile(r"^(?P<name>.+) \((?P<id>\d+)\)$")
IDENTITY_COLUMNS = (
    "Student",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Integration ID",
    "Root Account",
    "Section",
)


@dataclass(frozen=True)
class SubmittedFile:
    """One file of a Canvas bulk download, with what its name says."""

    path: Path
    student: str  # Canvas's "lastfirst", e.g. "doejane"
    user_id: str
    submission_id: int
    original_name: str  # the student's file name without Canvas's -N counter
    attempt: int  # 0 for the first upload of that name, then Canvas's -1, -2, ...
    late: bool

    @property
    def suffix(self) -> str:
        """The file's extension, lower case (".ipynb", ".zip", ".html", ...)."""
        return Path(self.original_name).suffix.lower()


def parse_submission_name(path: Path) -> SubmittedFile | None:
    """What Canvas's file name says; ``None`` for a name Canvas did not make."""
    match = _SUBMISSION_NAME.match(path.name)
    if not match:
        return None
    original = Path(match["name"])
    resubmission = _RESUBMISSION.match(original.stem)
    attempt = int(resubmission["attempt"]) if resubmission else 0
    if resubmission:
        original = original.with_name(resubmission["stem"] + original.suffix)
    return SubmittedFile(
        path=path,
        student=match["student"],
        user_id=match["user_id"],
        submission_id=int(match["submission_id"]),
        original_name=original.name,
        attempt=attempt,
        late=bool(match["late"]),
    )


class GradebookError(ValueError):
    """The gradebook CSV is not one Canvas exported, or the assignment column is ambiguous."""


@dataclass
class Gradebook:
    """A Canvas gradebook export: its header and rows, students and non-student rows alike."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def record(self, row: list[str]) -> dict[str, str]:
        """One row as a column → value dict (short rows read as empty cells)."""
        return dict(zip(self.header, row, strict=False))

    def students(self) -> dict[str, dict[str, str]]:
        """Students by Canvas user id (the ``ID`` column), each row as a column → value dict."""
        people = {}
        for row in self.rows:
            record = self.record(row)
            if record.get("ID", "").strip().isdigit():
                people[record["ID"].strip()] = record
        return people

    def assignment_column(self, wanted: str | None) -> str:
        """The header of the assignment column that ``wanted`` names (title, id or part of it).

        With ``wanted=None`` the gradebook must hold exactly one assignment.
        """
        columns = [name for name in self.header if _ASSIGNMENT_COLUMN.match(name)]
        if wanted is None:
            found = columns
        else:
            key = wanted.strip().lower()
            found = [c for c in columns if key in (c.lower(), _ASSIGNMENT_COLUMN.match(c)["id"])]
            found = found or [c for c in columns if key in c.lower()]
        if len(found) != 1:
            listing = "; ".join(columns) or "none"
            problem = "matches no assignment column" if not found else "matches several columns"
            raise GradebookError(
                f"--assignment {wanted!r} {problem}. Pass the column's title or id; "
                f"the gradebook's assignment columns are: {listing}"
            )
        return found[0]


def read_gradebook(path: Path) -> Gradebook:
    """Read a gradebook CSV as Canvas exports it (UTF-8, possibly with a byte-order mark)."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        lines = list(csv.reader(file))
    if not lines or not {"Student", "ID"} <= set(lines[0]):
        raise GradebookError(
            f"{path} is not a Canvas gradebook export: its first row must name the columns "
            "Student, ID, SIS User ID, SIS Login ID, Section and the assignments "
            "(Canvas: Grades → Export → Export Entire Gradebook)."
        )
    return Gradebook(header=lines[0], rows=[row for row in lines[1:] if any(row)])


def write_gradebook_import(
    gradebook: Gradebook, column: str, scores: dict[str, float], path: Path
) -> None:
    """Write the CSV Canvas imports: its identity columns and ``column``, scores by user id.

    Students without a score keep an empty cell, which Canvas's import leaves unchanged;
    non-student rows (e.g. "Points Possible") keep their value for the column.
    """
    keep = [name for name in gradebook.header if name in IDENTITY_COLUMNS] + [column]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(keep)
        for row in gradebook.rows:
            record = gradebook.record(row)
            user_id = record.get("ID", "").strip()
            if user_id.isdigit():
                score = scores.get(user_id)
                record[column] = "" if score is None else f"{score:g}"
            writer.writerow([record.get(name, "") for name in keep])
