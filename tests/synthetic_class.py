"""Small Canvas classes graded by the real pipeline in seconds, for the Canvas round trip.

Everything ``aelab grade`` does runs as it does for a real class (reading the download and
the gradebook, TEAM cells, credit, the import, feedback, written answers, the report) except
running the checks (judges, sandboxes): ``FakeJudges`` score a notebook from its ``SCORES``
cell instead. The autograder is a real ``autograder.zip`` with 38 autograded points (q1: 20,
q2: 18) and one written question (q3: 7 points): 45 in all.
"""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import nbformat

from aelab.grading.pipeline import GradingOptions, grade_submissions
from aelab.record import GRADED, NotebookGrade

COLUMN = "Autoencoders (901)"
POINTS = {"q1": 20.0, "q2": 18.0}
PROMPT = "**Problem 3.** What does the encoder do?"
NOTEBOOK = "lab.ipynb"


def autograder(folder: Path) -> Path:
    """A real autograder.zip, as read_autograder reads it."""
    path = folder / "autograder.zip"
    lab = {
        "title": "Test Lab", "master": NOTEBOOK, "checks": "checks.py",
        "requirements": "requirements.txt", "data": "none", "points": 45.0, "course": "",
        "term": "", "due": "", "canvas_assignment": "Autoencoders", "epoch_cap": None,
    }  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("otter_config.json", json.dumps({"assignment_name": "lab"}))
        archive.writestr("lab.json", json.dumps(lab))
        archive.writestr("scaffold.json", "[]")
        archive.writestr("files/checks.py", "def scored(env):\n    pass\n")
        questions = [{"name": "q3", "prompt": PROMPT, "points": 7.0, "reference": "It compresses."}]
        archive.writestr("written_questions.json", json.dumps(questions))
        for question, points in POINTS.items():
            archive.writestr(
                f"tests/{question}.py",
                f"@test_case(points={points}, hidden=False)\ndef test_{question}(env):\n"
                f"    checks.scored(env)\n",
            )
    return path


def notebook(
    total: float = 38, team: list[tuple[str, str]] = (), answer: str = "It compresses."
) -> nbformat.NotebookNode:
    """A submission scoring ``total`` (q1 first), naming ``team``, with a written answer."""
    q1 = min(total, POINTS["q1"])
    scores = {"q1": q1, "q2": total - q1}
    prompt = nbformat.v4.new_markdown_cell(f"<!-- BEGIN QUESTION -->\n\n{PROMPT}\n\n_Points:_ 7")
    prompt.metadata.update(editable=False, deletable=False)
    entries = [{"name": name, "canvas_id": id_} for name, id_ in team]
    cells = [
        nbformat.v4.new_code_cell(f"TEAM = {entries!r}"),
        nbformat.v4.new_code_cell(f"SCORES = {scores!r}"),
        prompt,
        nbformat.v4.new_markdown_cell(answer),
        nbformat.v4.new_markdown_cell("<!-- END QUESTION -->"),
    ]
    made = nbformat.v4.new_notebook(cells=cells)
    made.metadata["otter"] = {"assignment_name": "lab"}
    return made


def write(files: dict[str, nbformat.NotebookNode | str], folder: Path) -> Path:
    """The download as a folder: notebooks as JSON (lone surrogates escaped), text as is."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def zipped(folder: Path) -> Path:
    """The download as Canvas hands it: one flat zip of the folder's files."""
    path = folder.with_suffix(".zip")
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return path


class FakeJudges:
    """Stand in for ``runner.Judges``: each notebook scored by ``fake_grader``."""

    def __init__(self, *args) -> None:
        pass

    def grade(self, notebook) -> NotebookGrade:
        """The notebook's scores, from its SCORES cell."""
        return fake_grader(notebook)

    def close(self) -> None:
        """Nothing runs."""


def fake_grader(notebook) -> NotebookGrade:
    """Scores from the notebook's SCORES cell, test by test, as the judge reports them."""
    source = next(c.source for c in notebook.cells if c.source.startswith("SCORES"))
    scores = ast.literal_eval(source.split("=", 1)[1].strip())
    tests = [
        {"name": f"test_{q}", "question": q, "passed": scores[q] == points, "hidden": False,
         "points": points, "message": "" if scores[q] == points else "wrong"}
        for q, points in POINTS.items()
    ]  # fmt: skip
    return NotebookGrade(
        status=GRADED, scores=scores, max_scores=dict(POINTS), tests=tests, seconds=0.1
    )


def grade(source: Path, out: Path, zip_path: Path, gradebook=None, **options):
    """``aelab grade`` on ``source`` into ``out`` (the gradebook's column: COLUMN)."""
    chosen = GradingOptions(zip_path, workers=1, **options)
    return grade_submissions(source, out, chosen, gradebook, COLUMN if gradebook else None, False)
