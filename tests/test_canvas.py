import csv
from pathlib import Path

import nbformat
import pytest

from aelab.canvas import (
    GradebookError,
    parse_submission_name,
    read_gradebook,
    write_gradebook_import,
)
from aelab.feedback import CaseSpec, parse_verdicts
from aelab.grading import GRADED, Row, credit_teams, latest_per_student
from aelab.submissions import (
    NotGradableError,
    notebook_bytes,
    read_notebook,
    read_team,
    read_written_answers,
    restore_assignment_name,
)

GRADEBOOK = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,HW 1 (11),\
Lab 13 Autoencoders (12),Current Score
    Points Possible,,,,,10.00,45.00,(read only)
"Doe, Jane",101,s1,jdoe,A,9,,90
"Roe, John",102,s2,jroe,A,8,,80
"Student, Test",103,,,A,,,0
"""


def test_canvas_names_are_parsed():
    item = parse_submission_name(Path("doejane_101_5001_autoencoders_mnist.ipynb"))
    assert (item.student, item.user_id, item.submission_id) == ("doejane", "101", 5001)
    assert (item.original_name, item.attempt, item.late) == ("autoencoders_mnist.ipynb", 0, False)
    late = parse_submission_name(Path("roejohn_LATE_102_5002_autoencoders_mnist-2.ipynb"))
    assert (late.user_id, late.late, late.attempt) == ("102", True, 2)
    assert late.original_name == "autoencoders_mnist.ipynb"
    export = parse_submission_name(Path("doejane_101_5003_autoencoders_mnist_2026_11_24T10_00.zip"))
    assert export.suffix == ".zip" and export.attempt == 0
    assert parse_submission_name(Path("notes.txt")) is None


def test_newest_file_per_student_wins_and_the_rest_are_superseded():
    names = [
        "doejane_101_5001_lab.ipynb",
        "doejane_late_101_5009_lab-1.ipynb",
        "doejane_101_5009_lab-1.html",
        "roejohn_102_5002_lab.ipynb",
    ]
    latest, superseded = latest_per_student([parse_submission_name(Path(n)) for n in names])
    assert sorted(item.path.name for item in latest) == [
        "doejane_late_101_5009_lab-1.ipynb",
        "roejohn_102_5002_lab.ipynb",
    ]
    assert sorted(row.file for row in superseded) == [
        "doejane_101_5001_lab.ipynb",
        "doejane_101_5009_lab-1.html",
    ]
    assert all(row.status == "superseded" and "lab-1.ipynb" in row.reason for row in superseded)


def test_gradebook_import_keeps_canvas_columns_and_fills_one_assignment(tmp_path):
    path = tmp_path / "gradebook.csv"
    path.write_text(GRADEBOOK, encoding="utf-8")
    gradebook = read_gradebook(path)
    column = gradebook.assignment_column("autoencoders")
    assert column == "Lab 13 Autoencoders (12)"
    assert gradebook.assignment_column("12") == column
    write_gradebook_import(gradebook, column, {"101": 37.5, "103": 0}, tmp_path / "import.csv")
    with open(tmp_path / "import.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
        ["    Points Possible", "", "", "", "", "45.00"],
        ["Doe, Jane", "101", "s1", "jdoe", "A", "37.5"],
        ["Roe, John", "102", "s2", "jroe", "A", ""],
        ["Student, Test", "103", "", "", "A", "0"],
    ]


def test_gradebook_errors_name_the_problem(tmp_path):
    path = tmp_path / "gradebook.csv"
    path.write_text(GRADEBOOK, encoding="utf-8")
    gradebook = read_gradebook(path)
    with pytest.raises(GradebookError, match="several columns"):
        gradebook.assignment_column(None)
    with pytest.raises(GradebookError, match=r"no assignment column.*HW 1 \(11\)"):
        gradebook.assignment_column("midterm")
    (tmp_path / "other.csv").write_text("name,score\nx,1\n")
    with pytest.raises(GradebookError, match="not a Canvas gradebook export"):
        read_gradebook(tmp_path / "other.csv")


def _notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    return notebook


def test_team_and_written_answers_are_read_without_running_code():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    notebook = _notebook(
        code(
            'TEAM = [\n  {"name": "Jane Doe", "canvas_id": "101"},\n'
            '  {"name": "...", "canvas_id": "..."}]'
        ),
        md("<!-- BEGIN QUESTION -->\n\n**1)** What does the encoder do?\n\n_Points:_ 1"),
        md("It compresses the image."),
        md("<!-- END QUESTION -->\n\n<!-- BEGIN QUESTION -->\n\n**2)** Why?\n\n_Points:_ 2"),
        md("_Type your answer here, replacing this text._"),
        md("<!-- END QUESTION -->\n\nMore text"),
    )
    assert read_team(notebook) == [{"name": "Jane Doe", "canvas_id": "101"}]
    answers = read_written_answers(notebook)
    assert [(a.prompt, a.points, a.answer) for a in answers] == [
        ("**1)** What does the encoder do?", "1", "It compresses the image."),
        ("**2)** Why?", "2", ""),
    ]
    assert read_team(_notebook(code("TEAM = [{'name': undefined}]"))) == []


def test_only_a_missing_assignment_name_is_restored():
    pasted = _notebook(nbformat.v4.new_code_cell("x = 1"))
    assert restore_assignment_name(pasted, "autoencoders_mnist")
    assert pasted.metadata["otter"]["assignment_name"] == "autoencoders_mnist"
    assert not restore_assignment_name(pasted, "autoencoders_mnist")
    other = _notebook(nbformat.v4.new_code_cell("x = 1"))
    other.metadata["otter"] = {"assignment_name": "lab11", "tests": {}}
    assert not restore_assignment_name(other, "autoencoders_mnist")
    assert other.metadata["otter"] == {"assignment_name": "lab11", "tests": {}}


def test_submitted_files_become_notebooks_or_a_reason(tmp_path):
    import zipfile

    good = nbformat.writes(_notebook(nbformat.v4.new_code_cell("x = 1")))
    (tmp_path / "a.ipynb").write_text(good)
    assert (
        read_notebook(notebook_bytes(tmp_path / "a.ipynb", "lab.ipynb")).cells[0].source == "x = 1"
    )
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("other.ipynb", "{}")
        archive.writestr("lab.ipynb", good)
    assert notebook_bytes(tmp_path / "export.zip", "lab.ipynb") == good.encode()
    cases = {
        "page.html": ("not a notebook", "HTML only"),
        "broken.zip": ("unreadable", "not a valid zip"),
        "broken.ipynb": ("unreadable", "not a valid notebook"),
        "report.pdf": ("not a notebook", ".pdf"),
    }
    for name, (status, reason) in cases.items():
        (tmp_path / name).write_text('{"cells": [')
        with pytest.raises(NotGradableError) as caught:
            read_notebook(notebook_bytes(tmp_path / name, "lab.ipynb"))
        assert caught.value.status == status and reason in caught.value.reason, name


def test_failure_messages_drop_the_test_source():
    output = (
        "q9 results:\n    q9 - 1 result:\n        ✅ Test case passed\n\n"
        "    q9 - 2 result:\n        ❌ Test case failed\n"
        "        Error at line 30 in test q9:\n"
        "              assert abs(got - secret) < 0.01, 'check the KL sign'\n"
        "        AssertionError: check the KL sign\n"
    )
    specs = [CaseSpec("test_public", 1, False), CaseSpec("test_hidden_kl", 2, True)]
    verdicts = parse_verdicts(output, specs)
    assert [(v.passed, v.message) for v in verdicts] == [
        (True, ""),
        (False, "AssertionError: check the KL sign"),
    ]
    assert all(v.passed for v in parse_verdicts("q9 results: All test cases passed!", specs))


def _graded(user_id, total, team=()):
    row = Row(file=f"{user_id}.ipynb", user_id=user_id, status=GRADED)
    row.scores = {"q1": total}
    row.team = [{"name": f"p{p}", "canvas_id": p} for p in team]
    return row


def test_team_scores_go_to_partners_and_conflicts_are_not_guessed():
    rows = [
        _graded("1", 30, team=("1", "2")),  # 2 did not submit: gets 30
        _graded("3", 20, team=("3", "5")),  # 5 is named twice: no score
        _graded("4", 10, team=("4", "5", "9")),  # 9 is not in the gradebook
        _graded("6", 25, team=("6", "7")),  # 6 and 7 both submitted: each keeps their own
        _graded("7", 15, team=("7", "6")),
    ]
    students = {str(i): {} for i in range(1, 9)}
    scores, conflicts = credit_teams(rows, students)
    assert scores == {"1": 30, "2": 30, "3": 20, "4": 10, "6": 25, "7": 15}
    assert rows[0].credited == ["1", "2"]
    assert any("5 is named by 2 submissions" in c for c in conflicts)
    assert any(c.startswith("6 submitted and is also named") for c in conflicts)
    assert "partner id 9 is not in the gradebook" in rows[2].reason
    assert "conflict: partner 5" in rows[1].reason


def test_grade_command_explains_missing_or_wrong_inputs(tmp_path, capsys):
    from aelab.cli import main

    autograder, download = tmp_path / "autograder.zip", tmp_path / "submissions.zip"
    args = ["grade", str(download), "--autograder", str(autograder), "--out", str(tmp_path)]
    assert main(args) == 1
    assert "run `aelab build` first" in capsys.readouterr().err
    autograder.write_bytes(b"")
    assert main(args) == 1
    assert "No submissions at" in capsys.readouterr().err
    download.write_bytes(b"not a zip")
    assert main(args) == 1
    assert "neither a folder nor a zip file" in capsys.readouterr().err
    download.unlink()
    download.mkdir()
    (tmp_path / "grades.csv").write_text("name,score\n")
    assert main([*args, "--gradebook", str(tmp_path / "grades.csv")]) == 1
    assert "not a Canvas gradebook export" in capsys.readouterr().err
