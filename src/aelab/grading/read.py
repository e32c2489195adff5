"""Read one chosen file into its row: the notebook to grade, its team and written answers.

A notebook, an export zip holding one, or an nbconvert HTML export (``aelab.html_export``)
becomes a notebook; whatever else a file holds gets its row a status and a reason instead,
and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from aelab.canvas import SubmittedFile
from aelab.grading.autograder import Autograder
from aelab.grading.collect import row_of
from aelab.html_export import HTML_SUFFIXES, read_html_export
from aelab.record import ERRORED, UNREADABLE, Row
from aelab.submissions import (
    NotGradableError,
    notebook_bytes,
    read_notebook,
    read_student_code,
    read_team,
    read_written_answers,
)
from aelab.text import clean


@dataclass
class Submission:
    """A chosen file's row, and the notebook to grade (None when it is not to be graded)."""

    row: Row
    notebook: nbformat.NotebookNode | None = None
    data: bytes = b""  # the file's bytes as read (what the cached grade is keyed by)


class OtherLab(Exception):  # noqa: N818 (an outcome: the notebook is not this lab's)
    """A notebook of another assignment: its row errs with this reason."""


def read_submission(
    item: SubmittedFile, autograder: Autograder, user_ids: set[str] | None
) -> Submission:
    """``item`` read for grading, or its row saying why it will not be graded."""
    row = row_of(item, user_ids)
    try:
        if item.suffix in HTML_SUFFIXES:
            export = read_html_export(item.path, autograder.written)
            data, notebook, row.answers = export.data, export.notebook, export.answers
            origin = export.note(autograder.assignment, autograder.scaffold)
        else:
            data = notebook_bytes(item.path, autograder.lab.master)
            notebook = read_notebook(data)
            row.answers = read_written_answers(notebook)
        row.team = read_team(notebook)
        row.code = read_student_code(notebook, autograder.scaffold)
        if item.suffix not in HTML_SUFFIXES:
            origin = _origin(notebook, autograder)
    except NotGradableError as refused:
        row.status = refused.status
        row.note(refused.reason)
        return Submission(row)
    except OtherLab as other:
        row.status = ERRORED
        row.note(str(other))
        return Submission(row)
    except Exception as error:  # whatever else a submission holds, the run goes on
        row.status = UNREADABLE
        row.note(f"could not read the notebook: {clean(error)}")
        return Submission(row)
    row.note(origin)
    return Submission(row, notebook, data)


def _origin(notebook: nbformat.NotebookNode, autograder: Autograder) -> str:
    """Empty for this lab's notebook, a note for one without Otter's metadata.

    A notebook of another assignment raises ``OtherLab``.
    """
    otter = notebook.metadata.get("otter")
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    name = clean(name) if name else name
    if autograder.assignment is None or name == autograder.assignment:
        return ""
    if not name:
        return (
            "the notebook had no Otter metadata (cells copied into a new notebook?): "
            f"graded as {autograder.assignment!r}"
        )
    raise OtherLab(f"a notebook of assignment {name!r}, not {autograder.assignment!r}: not graded")
