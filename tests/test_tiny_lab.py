"""A second lab, tests/tiny_lab: a folder and a description, built and graded with no change to
aelab; and the instructor's term: the checkout's own master, points that must agree, no stale
outputs after a failed build, term settings in the notebook and as the default Canvas column."""

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from aelab.build import BASELINE, BuildError, build_assignment
from aelab.cli import main
from aelab.lab import LabError, load_lab
from aelab.master import MasterError, check_points

pytestmark = pytest.mark.slow

TINY = Path(__file__).with_name("tiny_lab")


def _copy(tmp_path, name="notebooks/tiny"):
    folder = tmp_path / name
    shutil.copytree(TINY, folder)
    return folder


def _edit_master(folder, old, new):
    path = folder / "tiny.ipynb"
    notebook = nbformat.read(path, as_version=4)
    (cell,) = [c for c in notebook.cells if old in c.source]
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "autograder"
    return out, build_assignment(out, load_lab(TINY))


def test_a_copied_checkout_builds_its_own_master_with_the_terms_heading(
    tmp_path, monkeypatch, capsys
):
    folder = _copy(tmp_path)
    text = (folder / "lab.toml").read_text().replace("Spring 2027", "Fall 2027")
    (folder / "lab.toml").write_text(text.replace("Tiny Lab: Adding Numbers", "Tiny Lab 2"))
    monkeypatch.chdir(tmp_path)  # `aelab build` with no --lab: the only notebooks/*/lab.toml here
    assert main(["build", "--out", "built"]) == 0
    printed = capsys.readouterr().out
    assert f"Master: {folder / 'tiny.ipynb'}" in printed
    report = json.loads((tmp_path / "built" / "build_report.json").read_text())
    assert report["master"] == str(folder / "tiny.ipynb") and len(report["master_sha256"]) == 64
    assert report["questions"] == {
        "q1": {"points": 2.0, "public": 1.0, "hidden": 1.0},
        "q2": {"points": 1.0, "written": True},
    }
    student = nbformat.read(tmp_path / "built" / "student" / "tiny.ipynb", as_version=4)
    heading = next(c.source for c in student.cells if c.cell_type == "markdown")
    assert heading.startswith("# Tiny Lab 2\n\n*TEST 101 · Fall 2027 · due Monday, February 1*")


def test_no_lab_here_or_several_are_refused_with_the_way_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 1
    assert "No lab description at" in capsys.readouterr().err
    _copy(tmp_path, "notebooks/tiny")
    _copy(tmp_path, "notebooks/other")
    assert main(["build"]) == 1
    assert capsys.readouterr().err == (
        "Build failed: 2 labs in notebooks: pass --lab with one of notebooks/other/lab.toml, "
        "notebooks/tiny/lab.toml.\n"
    )
    with pytest.raises(LabError, match="data must be one of"):
        folder = _copy(tmp_path, "lab")
        (folder / "lab.toml").write_text(
            (folder / "lab.toml").read_text().replace('data = "none"', 'data = "cifar"')
        )
        load_lab(folder)


def test_points_that_disagree_fail_the_build_with_the_numbers(tmp_path):
    folder = _copy(tmp_path)
    _edit_master(folder, "name: q1\npoints: 2", "name: q1\npoints: 3")
    master = nbformat.read(folder / "tiny.ipynb", as_version=4)
    with pytest.raises(
        MasterError, match=r"q1 says points: 3, but its tests add up to 2 \(1 \+ 1\)"
    ):
        check_points(master, 3)
    (tmp_path / "out").mkdir()
    with pytest.raises(BuildError, match="q1 says points: 3"):
        build_assignment(tmp_path / "out", load_lab(folder))
    _edit_master(folder, "name: q1\npoints: 3", "name: q1\npoints: 2")
    (folder / "lab.toml").write_text(
        (folder / "lab.toml").read_text().replace("points = 2", "points = 5")
    )
    with pytest.raises(BuildError, match=r"add up to 2 points, but lab\.toml says points = 5"):
        build_assignment(tmp_path / "out", load_lab(folder))


def test_a_failed_build_leaves_nothing_old_behind(tmp_path, tiny_build):
    out, _ = tiny_build
    stale = tmp_path / "autograder"
    shutil.copytree(out, stale)
    folder = _copy(tmp_path)
    _edit_master(folder, "return a + b", "return a - b")  # the reference solution is wrong
    with pytest.raises(BuildError) as failed:
        build_assignment(stale, load_lab(folder))
    first_line = str(failed.value).splitlines()[0]  # question, test and message come first
    assert first_line.startswith(
        "The reference solution loses points: q1 test_small_numbers: add(2, 3) should be 5."
    )
    # only the last good build's report stays (hidden), to count the next build's changes from
    assert sorted(p.name for p in stale.iterdir()) == [BASELINE]


def test_the_tiny_lab_is_graded_end_to_end_with_its_own_defaults(tmp_path, tiny_build, capsys):
    """Solution, blank, a cell that hangs, a test that hangs; the Canvas column from lab.toml."""
    out, report = tiny_build
    assert (report.solution_score, report.possible, report.blank_score) == (2, 2, 0)
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        assert "files/tiny_checks.py" in archive.namelist()
        assert not [n for n in archive.namelist() if "MNIST" in n]  # data = "none"
    solution = nbformat.read(out / "solution" / "tiny.ipynb", as_version=4)
    blank = nbformat.read(out / "student" / "tiny.ipynb", as_version=4)
    hang_cell = nbformat.read(out / "solution" / "tiny.ipynb", as_version=4)
    hang_cell.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
    hang_test = nbformat.read(out / "solution" / "tiny.ipynb", as_version=4)
    (cell,) = [c for c in hang_test.cells if "def add(" in c.source]
    cell.source = "def add(a, b):\n    while a < 0:\n        pass\n    return a + b"
    download = tmp_path / "download"
    download.mkdir()
    for name, notebook in {
        "doejane_101_5001_tiny.ipynb": solution,
        "roejohn_102_5002_tiny.ipynb": blank,
        "poeed_103_5003_tiny.ipynb": hang_cell,
        "moeal_104_5004_tiny.ipynb": hang_test,
    }.items():
        nbformat.write(notebook, download / name)
    gradebook = tmp_path / "gradebook.csv"
    names = {101: "Doe, Jane", 102: "Roe, John", 103: "Poe, Ed", 104: "Moe, Al"}  # as named above
    gradebook.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Tiny Lab (77),Other Lab (78)\n"
        "    Points Possible,,,,,3.00,10.00\n"
        + "".join(f'"{name}",{i},,,A,,\n' for i, name in names.items())
    )
    args = ["grade", str(download), "--autograder", str(out / "autograder.zip"),
            "--gradebook", str(gradebook), "--out", str(tmp_path / "grades"),
            "--cell-timeout", "4", "--test-timeout", "4", "--workers", "2"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Canvas import (Tiny Lab (77))" in printed
    with open(tmp_path / "grades" / "results.csv", newline="") as file:
        rows = {row["user_id"]: row for row in csv.DictReader(file)}
    assert {u: (r["status"], r["total"]) for u, r in rows.items()} == {
        "101": ("graded", "2"),
        "102": ("graded", "0"),
        "103": ("graded", "2"),
        "104": ("graded", "1"),
    }
    assert re.search(r"cell \d+ ran past its time limit", rows["103"]["reason"])
    assert "timed out or not run: q1" in rows["104"]["reason"]
    page = (tmp_path / "grades" / "feedback" / "moeal_104.html").read_text()
    assert "The test ran out of time" in page and "Tiny Lab: Adding Numbers" in page
    assert (tmp_path / "grades" / "written" / "q2.html").is_file()
    # the class report comes with every run, for any lab
    assert f"Class report: {tmp_path / 'grades' / 'report.html'}" in printed
    report = json.loads((tmp_path / "grades" / "report.json").read_text())
    assert report["title"] == "Tiny Lab: Adding Numbers" and report["status"]["graded"] == 4
