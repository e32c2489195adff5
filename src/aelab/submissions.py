"""What a student submitted: the notebook inside the file, their team, their written answers.

Nothing here runs the student's code: the team and the answers are read from the
notebook's text.
"""

from __future__ import annotations

import ast
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

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


def notebook_bytes(path: Path, notebook_name: str) -> bytes:
    """The notebook a submitted file holds: the file itself, or the one inside an export zip.

    Raises :class:`NotGradableError` for HTML and other files, bad zips, zips without a notebook.
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
    if suffix in (".html", ".htm"):
        raise NotGradableError(
            "not a notebook",
            "HTML only: cannot be autograded (no notebook submitted); kept for manual grading",
        )
    raise NotGradableError("not a notebook", f"a {suffix or 'extension-less'} file, not a notebook")


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse notebook JSON; :class:`NotGradableError` (unreadable) if it is not a valid notebook."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # invalid JSON, wrong encoding, not a notebook at all
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise NotGradableError("unreadable", f"not a valid notebook file ({first_line})") from error
    return notebook


def gradable_copy(
    notebook: nbformat.NotebookNode, path: Path, epoch_cap: int | None = None
) -> Path:
    """Write ``notebook`` for grading: the standard ``python3`` kernel, and the epoch cap.

    A notebook saved from a conda or custom kernel would otherwise fail with NoSuchKernel.
    The cap goes in as a first cell setting ``AELAB_EPOCH_CAP`` (read by the notebook's setup
    cell), so it holds wherever the notebook runs, in a container too.
    """
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    if epoch_cap is not None:
        cap = nbformat.v4.new_code_cell(
            f'import os\nos.environ["AELAB_EPOCH_CAP"] = "{epoch_cap}"  # added by aelab grade'
        )
        cap.id = "aelab-epoch-cap"
        notebook.cells.insert(0, cap)
    nbformat.write(notebook, path)
    return path


def restore_assignment_name(notebook: nbformat.NotebookNode, name: str) -> bool:
    """Give a notebook without an assignment name the autograder's; True if it had none.

    ``otter run`` refuses a notebook whose metadata lacks the name, e.g. when a student
    pasted the cells into a new notebook. A notebook that names another assignment is left
    alone: otter refuses it, saying which.
    """
    otter = notebook.metadata.setdefault("otter", {})
    if otter.get("assignment_name"):
        return False
    otter["assignment_name"] = name
    return True


def read_team(notebook: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The partners listed in the ``TEAM = [...]`` cell, with "..." placeholders dropped."""
    for cell in notebook.cells:
        if cell.cell_type != "code" or "TEAM" not in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "TEAM" for t in node.targets
            ):
                try:
                    entries = ast.literal_eval(node.value)
                except ValueError:
                    return []
                return [_partner(entry) for entry in entries if _partner(entry)]
    return []


def _partner(entry: object) -> dict[str, str] | None:
    if not isinstance(entry, dict):
        return None
    name = str(entry.get("name", "")).strip()
    canvas_id = str(entry.get("canvas_id", "")).strip()
    name, canvas_id = ("" if v in ("...", "Ellipsis") else v for v in (name, canvas_id))
    return {"name": name, "canvas_id": canvas_id} if name or canvas_id else None


def read_written_answers(notebook: nbformat.NotebookNode) -> list[WrittenAnswer]:
    """Each manually graded question (between otter's BEGIN/END QUESTION marks) and its answer."""
    answers, current = [], None
    for cell in notebook.cells:
        source = cell.source
        if current is not None and "<!-- END QUESTION -->" in source:
            answers.append(current)
            current = None
        if "<!-- BEGIN QUESTION -->" in source:
            prompt = source.split("<!-- BEGIN QUESTION -->")[-1]
            points = re.search(r"_Points:_\s*([\d.]+)", prompt)
            prompt = re.sub(r"_Points:_\s*[\d.]+", "", prompt).strip()
            current = WrittenAnswer(prompt, points[1] if points else "", "")
        elif current is not None and source.strip() and source.strip() != ANSWER_PLACEHOLDER:
            current.answer = (current.answer + "\n\n" + source.strip()).strip()
    if current is not None:
        answers.append(current)
    return answers
