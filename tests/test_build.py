"""The built assignment: no leaks, full and zero marks, reproducible, wrong work caught."""

import json
import re
import zipfile
from collections import Counter

import nbformat
import pytest
import student_work
from lab_env import LAB, MASTER, NOTEBOOK_NAME, ROOT
from student_work import MISTAKES

from aelab.build import build_assignment
from aelab.grading.autograder import read_autograder
from aelab.grading.runner import RunOptions, grade_notebook

pytestmark = pytest.mark.slow


def _solution_lines():
    """Lines only the master's solutions hold (not its given code), and hidden tests' names."""
    master = nbformat.read(MASTER, as_version=4)
    solution, given, hidden = set(), set(), set()
    for cell in master.cells:
        inside = False
        for line in cell.source.splitlines():
            if "# END SOLUTION" in line:
                inside = False
            elif "# BEGIN SOLUTION" in line:
                inside = True
            (solution if inside else given).add(line.strip())
        if "hidden: true" in cell.source:
            hidden.update(re.findall(r"def (test_\w+)", cell.source))
    return {line for line in solution - given if len(line) > 12}, hidden


def test_solution_earns_everything_and_blank_nothing(built):
    out, report = built
    assert report.possible == LAB.points
    assert report.solution_score == report.possible
    assert report.blank_score == 0
    assert report.seconds < 120
    assert json.loads((out / "build_report.json").read_text())["solution_score"] == LAB.points


def test_student_notebook_has_no_solution_and_no_hidden_test(built):
    out, _ = built
    student = (out / "student" / NOTEBOOK_NAME).read_text()
    notebook = nbformat.reads(student, as_version=4)
    student_lines = {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}
    solution, hidden = _solution_lines()
    assert len(solution) > 80 and len(hidden) >= 15
    leaked = sorted(solution & student_lines)
    assert not leaked, leaked[:5]
    assert not [name for name in hidden if name in student]
    assert "Reference answer" not in student and "Rubric" not in student
    assert "aelab" not in student.replace("AELAB_", "")


def test_autograder_holds_every_hidden_test(built):
    out, _ = built
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        tests = "".join(
            archive.read(n).decode() for n in archive.namelist() if n.startswith("tests/")
        )
    _, hidden = _solution_lines()
    assert all(f"def {name}(" in tests for name in hidden)


def test_build_is_reproducible(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    build_assignment(again, LAB)
    for path in ("student/" + NOTEBOOK_NAME, "solution/" + NOTEBOOK_NAME):
        assert (out / path).read_text() == (again / path).read_text()
    with (
        zipfile.ZipFile(out / "autograder.zip") as a,
        zipfile.ZipFile(again / "autograder.zip") as b,
    ):
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


ROUNDS = range(max(Counter(m.question for m in MISTAKES).values()))


@pytest.mark.parametrize("number", ROUNDS)
def test_hidden_tests_catch_realistic_mistakes(built, mnist, number):
    out, _ = built
    mistakes = student_work.mistake_round(number)
    wrong = student_work.with_mistakes(out, {m.question for m in mistakes}, number)
    options = RunOptions(isolation="bwrap", threads=2)
    result = grade_notebook(wrong, read_autograder(out / "autograder.zip"), mnist, options)
    assert result.status == "graded", result.reason  # honest mistakes are never flagged
    lost = {q: result.max_scores[q] - score for q, score in result.scores.items()}
    # Each mistake costs exactly the points of the tests written to catch it, and none elsewhere.
    expected = {question: 0 for question in result.max_scores}
    expected.update({m.question: m.points_lost for m in mistakes})
    assert lost == expected
    # A mistake that breaks a question's given cell costs the whole question, and says so.
    given = {t["question"] for t in result.tests if "The given cell that starts" in t["message"]}
    assert given <= {m.question for m in mistakes}
    assert all(result.scores[question] == 0 for question in given)


def test_notebook_requirements_match_pyproject():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = set(pyproject["project"]["dependencies"])
    requirements = (MASTER.parent / "requirements.txt").read_text().split()
    assert set(requirements) <= declared, set(requirements) - declared
    names = {re.split(r"[<>=]", line)[0] for line in requirements}
    assert {"torch", "torchvision", "matplotlib", "numpy", "nbconvert", "otter-grader"} <= names


def test_submission_cell_refuses_a_stale_save(built, tmp_path):
    """Run All runs the Submission cell too: without a save its zip would miss every output."""
    import subprocess

    out, _ = built
    unsaved = student_work.blank(out)  # the handed-out file: nothing ran, nothing saved
    with pytest.raises(subprocess.CalledProcessError) as refused:
        student_work.export_zip(unsaved, tmp_path)
    assert b"No zip was made" in refused.value.stderr
    assert not list(tmp_path.glob("*.zip"))


def test_first_cell_says_what_to_install_without_otter():
    master = nbformat.read(MASTER, as_version=4)
    (init,) = [c for c in master.cells if "grader = otter.Notebook(" in c.source]
    line = re.search(r"pip install (.+?)\"", init.source)[1]
    wanted = (MASTER.parent / "requirements.txt").read_text().split()
    assert line.split() == [f"'{requirement}'" for requirement in wanted]
    assert "otter_ignore" in init.metadata["tags"] and init.metadata["editable"] is False


def test_submission_cell_zips_the_notebook_and_a_readable_html_copy(built, tmp_path):
    out, _ = built
    blank = student_work.ran(student_work.blank(out))
    (cell,) = [c for c in blank.cells if "grader.export(" in c.source]
    assert "otter_ignore" in cell.metadata.get("tags", [])  # never run while grading
    assert cell.metadata.get("editable") is False
    export = student_work.export_zip(blank, tmp_path)
    with zipfile.ZipFile(export) as archive:
        names = set(archive.namelist())
        assert {NOTEBOOK_NAME, "autoencoders_mnist.html"} <= names
        html = archive.read("autoencoders_mnist.html").decode()
        notebook = nbformat.reads(archive.read(NOTEBOOK_NAME).decode(), as_version=4)
    assert html.startswith("<!DOCTYPE html>") and "Problem 11" in html
    assert len(notebook.cells) == len(blank.cells)


def test_autograder_ships_mnist_and_the_checks(built):
    import hashlib

    from aelab.data import RAW_FILES

    out, _ = built
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        for name, md5 in RAW_FILES.items():
            data = archive.read(f"files/data/MNIST/raw/{name}")
            assert hashlib.md5(data).hexdigest() == md5, name
        shipped = {n: archive.read(n) for n in archive.namelist() if n.startswith("files/lab_")}
    assert shipped == {f"files/{name}": data for name, data in LAB.checks_files().items()}
    assert len(shipped) >= 12  # the package: __init__, common, doubles and one per problem


def test_student_notebook_holds_public_checks_only(built):
    """Public tests carry their checks' code; no hidden check's name reaches students."""
    import lab_env

    out, _ = built
    student = (out / "student" / NOTEBOOK_NAME).read_text()
    tests = lab_env.master_tests()
    public = {t.call.split("(")[0] for t in tests if not t.hidden}
    hidden = {t.call.split("(")[0] for t in tests if t.hidden} - public
    assert all(f"def {name}(" in student for name in public)
    assert not [name for name in hidden if re.search(rf"\b{name}\b", student)]
    assert "lab_checks" not in student


def test_the_filled_handout_earns_every_point(built, mnist):
    """What a student who did everything right hands in (the build's filled/ notebook, with the
    handout's cell ids) is graded as the solution is: every autograded point, nothing flagged."""
    out, report = built
    filled = nbformat.read(report.filled_notebook, as_version=4)
    options = RunOptions(isolation="bwrap", threads=2)
    result = grade_notebook(filled, read_autograder(out / "autograder.zip"), mnist, options)
    assert (result.status, result.total) == ("graded", LAB.points), result.reason
