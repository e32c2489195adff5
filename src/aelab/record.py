"""The record of a grading run: what happened to each file, in one shape every stage shares.

A grading run's stages (``aelab.grading``) fill in one ``Row`` per file of the download:
collecting names its student and status, reading adds the team and written answers, the
judge's ``NotebookGrade`` brings the autograded scores, scoring the written points, crediting
who the score goes to; the outputs and the class report (``aelab.report``) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RECORD = "rows.json"  # the run's record, in the output folder: every row, for the class report
# What became of a file; the first three are a notebook's grade, the rest were never run.
GRADED = "graded"
REVIEW = "needs review"  # scored, but code aimed at the grader: a person decides
ERRORED = "errored"  # a notebook that could not be graded (the reason says why)
UNREADABLE = "unreadable"
NOT_A_NOTEBOOK = "not a notebook"
NOT_GRADED = "not graded"  # another file of the same submission was graded
SCORED = (GRADED, REVIEW)  # rows with autograded scores
# which of a student's rows their one feedback page is about, best first
PAGE_ORDER = (GRADED, REVIEW, ERRORED, UNREADABLE, NOT_A_NOTEBOOK, NOT_GRADED)


def key_of_test(question: str, name: str) -> str:
    """A test's name, unique across the assignment: ``q3/test_train_autoencoder_early_stopping``."""
    return f"{question}/{name}"


@dataclass
class NotebookGrade:
    """What grading one notebook found (the judge's answer, as plain data)."""

    status: str
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)  # name, question, passed, message
    review: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: start-up, cells, tests
    seed: int = 0  # of the checks' random inputs (to grade it again the same way)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)  # instructor runs only

    @property
    def total(self) -> float:
        """Autograded points earned."""
        return sum(self.scores.values())

    @property
    def possible(self) -> float:
        """Autograded points available."""
        return sum(self.max_scores.values())


@dataclass
class Row:
    """One file of the download and what happened to it (a row of ``results.csv``)."""

    file: str
    student: str = ""  # Canvas's "lastfirst", or a group's name
    user_id: str = ""  # the Canvas user id, or anon_<id> when grading is anonymous
    attachment_id: str = ""
    late: bool = False
    status: str = ""
    reason: str = ""
    team: list[dict[str, str]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    answers: list = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # where the seconds went
    credited: list[str] = field(default_factory=list)  # user ids this row's score goes to
    code: str = ""  # the student's own code (cells as handed out left out), for the report
    written: float | None = None  # written points, once every written answer is scored

    @property
    def autograded(self) -> float:
        """Autograded points earned."""
        return sum(self.scores.values())

    @property
    def total(self) -> float:
        """Autograded points, with the written points once they are all scored."""
        return self.autograded + (self.written or 0.0)

    def note(self, text: str) -> None:
        """Add ``text`` to the row's reason."""
        self.reason = "; ".join(part for part in (self.reason, text) if part)

    def apply(self, grade: dict[str, Any]) -> None:
        """Take in what grading found (a ``NotebookGrade`` as a dict)."""
        self.status = grade["status"]
        self.note(grade.get("reason", ""))
        for name in ("scores", "max_scores", "tests", "review"):
            setattr(self, name, grade.get(name) or type(getattr(self, name))())
        self.seconds = grade.get("seconds", 0.0)
        self.phases = grade.get("phases") or {}
