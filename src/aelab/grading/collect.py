"""The files of a Canvas download, and which one of each student's files gets graded.

Canvas's download holds the current attempt only (content_zipper.rb adds each submission's
``attachment_ids``); a student's several files are several attachments of that attempt,
such as the notebook and its HTML copy. A gradable notebook wins over anything else; of
two notebooks, the one named as the lab's notebook, then the later upload; without a
notebook, an HTML export is graded (``aelab.html_export``), chosen the same way; every
other file still gets a row saying why it was not graded.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from aelab.canvas import SubmittedFile, parse_submission_name
from aelab.html_export import HTML_SUFFIXES
from aelab.record import NOT_A_NOTEBOOK, NOT_GRADED, UNREADABLE, Row
from aelab.text import clean

GRADABLE = (".ipynb", ".zip")


def row_of(item: SubmittedFile, user_ids: set[str] | None = None) -> Row:
    """A row for a file whose name Canvas made (it says so if the gradebook lacks them)."""
    missing = user_ids is not None and item.user_id and item.user_id not in user_ids
    return Row(
        file=clean(item.path.name),
        student=item.name,
        user_id=item.student,
        attachment_id=item.attachment_id,
        late=item.late,
        reason=(
            f"for the GSI: user id {item.user_id} is not in the gradebook export (exported "
            "for some sections only, or the student left the course?): no import cell"
            if missing
            else ""
        ),
    )


def collect_files(source: Path, out: Path) -> list[Path]:
    """The submitted files: the members of a Canvas zip (extracted once), or a folder's files."""
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file() and not _hidden(p))
    target = out / "submissions"
    try:
        archive = zipfile.ZipFile(source)
    except UnicodeDecodeError as error:  # a name flagged UTF-8 that is not: no Canvas zip
        raise zipfile.BadZipFile(
            f"{source}: a file name in the zip is not UTF-8 ({error}); unzip it and pass the folder"
        ) from error
    with archive:
        for member in archive.infolist():
            name = Path(member.filename).name
            if member.is_dir() or _hidden(Path(member.filename)) or name in ("", ".", ".."):
                continue
            path = target / clean(name)  # Canvas's zip is flat; never write outside target
            if not path.exists() or path.stat().st_size != member.file_size:
                target.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as packed, open(path, "wb") as unpacked:
                    shutil.copyfileobj(packed, unpacked)
    return sorted(p for p in target.iterdir() if p.is_file()) if target.exists() else []


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def rows_and_latest(
    paths: list[Path], notebook_name: str, user_ids: set[str] | None = None
) -> tuple[list[Row], list[SubmittedFile]]:
    """Rows for files that are not graded (and why), and the one file to grade per student."""
    rows: list[Row] = []
    by_student: dict[str, list[SubmittedFile]] = {}
    for path in paths:
        item = parse_submission_name(path, user_ids)
        if item is None:
            reason = "file name is not Canvas's <name>_<user id>_<attachment id>_<file name>"
            rows.append(Row(file=clean(path.name), status=UNREADABLE, reason=reason))
        elif item.kind != "upload":
            row = row_of(item, user_ids)
            row.status = NOT_A_NOTEBOOK
            row.note(f"a {item.kind} entry, not an uploaded file")
            rows.append(row)
        else:
            by_student.setdefault(item.student, []).append(item)
    chosen = []
    for items in by_student.values():
        items.sort(key=lambda f: _preference(f, notebook_name), reverse=True)
        if not _kind(items[0]):
            chosen += items  # nothing to grade: each file's own row says why
            continue
        chosen.append(items[0])
        for other in items[1:]:
            row = row_of(other, user_ids)
            if _kind(other) == _kind(items[0]):
                row.status = NOT_GRADED
                row.note(f"the same submission holds {items[0].display_name}, which was graded")
            else:
                row.status = NOT_A_NOTEBOOK
                row.note(f"kept for reading; {items[0].display_name} was graded")
            rows.append(row)
    return rows, chosen


def _kind(item: SubmittedFile) -> str:
    """The kind of file: "notebook", "html" (graded when there is no notebook) or "" (neither)."""
    if item.suffix in GRADABLE:
        return "notebook"
    return "html" if item.suffix in HTML_SUFFIXES else ""


def _preference(item: SubmittedFile, notebook_name: str) -> tuple:
    """A notebook, then an HTML export; then the lab's own name, then the later upload."""
    attachment = int(item.attachment_id) if item.attachment_id.isdigit() else 0
    return (
        bool(_kind(item)),
        _kind(item) == "notebook",
        item.suffix == ".ipynb",
        Path(item.display_name).stem == Path(notebook_name).stem,
        attachment,
    )
