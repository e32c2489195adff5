"""What a student submitted: the notebook inside the file, their team, their written answers.

Nothing here runs the student's code: the team and the answers are read from the
notebook's text, made safe as they are read (``aelab.text.clean``).
"""

from __future__ import annotations

import ast
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from aelab.text import clean

CODE_LIMIT = 200_000  # a complete notebook's own code is about 10,000 characters
ANSWER_PLACEHOLDER = "_Type your answer here, replacing this text._"
_MAX_ZIP_NOTEBOOK_BYTES = 200 * 2**20


class NotGradableError(Exception):
    """The file holds no notebook the autograder can run; ``status`` and message say why."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class WrittenAnswer:
    """A manually graded question: its prompt, points and what the student wrote."""

    prompt: str
    points: str
    answer: str
    html: bool = False  # the answer is sanitised HTML (from an HTML export), not Markdown


def notebook_bytes(path: Path, notebook_name: str) -> bytes:
    """The notebook a submitted file holds: the file itself, or the one inside an export zip.

    Raises :class:`NotGradableError` for other files, bad zips, zips without a notebook (an
    HTML export is read by :mod:`aelab.html_export`).
    """
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return path.read_bytes()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = [
                    n for n in archive.namelist() if n.endswith(".ipynb") and "__MACOSX" not in n
                ]
                if not names:
                    raise NotGradableError("unreadable", "the zip file holds no .ipynb notebook")
                names.sort(key=lambda n: (Path(n).name != notebook_name, n))
                if archive.getinfo(names[0]).file_size > _MAX_ZIP_NOTEBOOK_BYTES:
                    raise NotGradableError("unreadable", f"{names[0]} in the zip is over 200 MB")
                return archive.read(names[0])
        except zipfile.BadZipFile as error:
            raise NotGradableError("unreadable", f"not a valid zip file ({error})") from error
    raise NotGradableError("not a notebook", f"a {suffix or 'extension-less'} file, not a notebook")


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse notebook JSON; :class:`NotGradableError` (unreadable) if it is not a valid notebook."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # invalid JSON, wrong encoding, not a notebook at all
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise NotGradableError("unreadable", f"not a valid notebook file ({first_line})") from error
    return notebook


def read_team(notebook: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The partners listed in the ``TEAM = [...]`` cell, with "..." placeholders dropped."""
    for cell in notebook.cells:
        if cell.cell_type != "code" or "TEAM" not in cell.source:
            continue
        try:
            tree = ast.parse(clean(cell.source))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "TEAM" for t in node.targets
            ):
                try:
                    entries = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    return []
                if not isinstance(entries, (list, tuple)):
                    return []
                return [_partner(entry) for entry in entries if _partner(entry)]
    return []


def _partner(entry: object) -> dict[str, str] | None:
    if not isinstance(entry, dict):
        return None
    name = clean(entry.get("name", "")).strip()
    canvas_id = clean(entry.get("canvas_id", "")).strip()
    name, canvas_id = ("" if v in ("...", "Ellipsis") else v for v in (name, canvas_id))
    return {"name": name, "canvas_id": canvas_id} if name or canvas_id else None


def read_written_answers(notebook: nbformat.NotebookNode) -> list[WrittenAnswer]:
    """Each manually graded question (between otter's BEGIN/END QUESTION marks) and its answer.

    Within a question, the locked cells are its prompt and everything else is the answer
    (otter's answer cell, or cells the student added).
    """
    answers: list[WrittenAnswer] = []
    current: WrittenAnswer | None = None
    for cell in notebook.cells:
        source = clean(cell.source)
        if current is not None and "<!-- END QUESTION -->" in source:
            answers.append(current)
            current = None
        if "<!-- BEGIN QUESTION -->" in source:
            current = WrittenAnswer("", "", "")
            source = source.split("<!-- BEGIN QUESTION -->")[-1]
        if current is None or not source.strip():
            continue
        if cell.metadata.get("editable") is False:  # the prompt
            points = re.search(r"_Points:_\s*([\d.]+)", source)
            current.points = points[1] if points else current.points
            text = re.sub(r"_Points:_\s*[\d.]+", "", source).strip()
            current.prompt = f"{current.prompt}\n\n{text}".strip()
        elif source.strip() != ANSWER_PLACEHOLDER:
            current.answer = f"{current.answer}\n\n{source.strip()}".strip()
    if current is not None:
        answers.append(current)
    return answers


def read_student_code(notebook: nbformat.NotebookNode, scaffold: list[str]) -> str:
    """What the student wrote: their code cells, without cells exactly as they were given.

    At most ``CODE_LIMIT`` characters: for comparing notebooks, not grading them.
    """
    given = {cell.strip() for cell in scaffold}
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return clean("\n\n".join(cell for cell in code if cell.strip() not in given)[:CODE_LIMIT])
