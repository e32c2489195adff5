"""Grade a small Canvas download end to end with the built autograder (no Docker)."""

import csv
import hashlib
import shutil
import zipfile

import pytest
import student_work as work

from aelab.canvas import read_gradebook
from aelab.data import RAW_FILES, verify_raw_files
from aelab.grading import GradingOptions, grade_submissions

pytestmark = pytest.mark.slow

GRADEBOOK = """Student,ID,SIS User ID,SIS Login ID,Section,Lab 12 (900),\
Group Work 13: Autoencoders with MNIST (901),Current Score
    Points Possible,,,,,20.00,45.00,(read only)
"Doe, Jane",101,s101,jdoe,Lab 1,18,,90
"Roe, John",102,s102,jroe,Lab 1,17,,85
"Smith, Bob",103,s103,bsmith,Lab 1,,,0
"Lee, Ann",104,s104,alee,Lab 2,,,0
"Kim, Sue",105,s105,skim,Lab 2,,,0
"Park, Kim",106,s106,kpark,Lab 2,,,0
"Loop, Lou",107,s107,llou,Lab 2,,,0
"Vandal, Val",108,s108,vval,Lab 2,,,0
"Loud, Larry",109,s109,llarry,Lab 2,,,0
"Absent, Al",110,s110,aal,Lab 2,,,0
"Copy, Cat",111,s111,ccat,Lab 2,,,0
"Wrong, Will",112,s112,wwill,Lab 2,,,0
"""
FULL = ["4", "4", "6", "3", "4", "5", "6", "3", "3", "38", "38"]
ZERO = ["0"] * 10 + ["38"]
NONE = [""] * 11


@pytest.fixture(scope="module")
def canvas_download(built, tmp_path_factory):
    out, _ = built
    folder = tmp_path_factory.mktemp("canvas")
    team = [("Jane Doe", "101"), ("John Roe", "102")]
    files = {
        "doejane_101_5001_autoencoders_mnist.ipynb": work.with_team(work.solution(out), team),
        "smithbob_103_5002_autoencoders_mnist.ipynb": work.solution(out),
        # resubmitted late, with two mistakes: the KL sign and a uniform "prior"
        "smithbob_late_103_5003_autoencoders_mnist-1.ipynb": work.with_mistakes(out, {"q9", "q10"}),
        "parkkim_106_5006_autoencoders_mnist.ipynb": None,  # broken JSON
        "looplou_107_5007_autoencoders_mnist.ipynb": work.with_extra_cell(
            work.solution(out), "while True:\n    pass"
        ),
        "vandalval_108_5008_autoencoders_mnist.ipynb": work.with_extra_cell(
            work.solution(out),
            "import os, shutil\n"
            "shutil.rmtree(os.environ['AELAB_DATA_ROOT'], ignore_errors=True)\n"
            "shutil.rmtree(os.path.expanduser('~'), ignore_errors=True)",
        ),
        "loudlarry_109_5009_autoencoders_mnist.ipynb": work.with_extra_cell(
            work.solution(out),
            "for _ in range(200_000):\n    print('x' * 250)",  # 50 MB
        ),
        # the cells pasted into a new notebook: no Otter metadata
        "copycat_111_5011_autoencoders_mnist.ipynb": _with_otter_metadata(work.solution(out), None),
        # another lab's notebook uploaded by mistake
        "wrongwill_112_5012_autoencoders_mnist.ipynb": _with_otter_metadata(
            work.solution(out), {"assignment_name": "lab11"}
        ),
    }
    for name, notebook in files.items():
        if notebook is None:
            (folder / name).write_text('{"cells": [')
        else:
            work.write(notebook, folder / name)
    export = work.export_zip(work.blank(out), tmp_path_factory.mktemp("export"))
    shutil.copy(export, folder / "leeann_104_5004_autoencoders_mnist_2026.zip")
    (folder / "kimsue_105_5005_autoencoders_mnist.html").write_text("<html>answers</html>")
    (folder / "readme.txt").write_text("not from Canvas")
    download = folder.parent / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    gradebook = folder.parent / "gradebook.csv"
    gradebook.write_text(GRADEBOOK)
    return download, gradebook


def _with_otter_metadata(notebook, otter):
    del notebook.metadata["otter"]
    if otter is not None:
        notebook.metadata["otter"] = otter
    return notebook


@pytest.fixture(scope="module")
def graded(built, canvas_download, tmp_path_factory):
    out, _ = built
    download, gradebook_path = canvas_download
    results = tmp_path_factory.mktemp("grades")
    gradebook = read_gradebook(gradebook_path)
    column = gradebook.assignment_column("Autoencoders")
    options = GradingOptions(autograder_zip=out / "autograder.zip", workers=2, timeout=75)
    summary = grade_submissions(download, results, options, gradebook, column, progress=False)
    return results, summary, options, gradebook, column


def _csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_every_file_gets_a_row_with_exact_scores_and_reasons(graded):
    results, summary, *_ = graded
    rows = {row[2]: row for row in _csv(results / "results.csv")[1:]}
    assert _csv(results / "results.csv")[0] == [
        "student", "user_id", "file", "late", "status", "reason", "team", "credited",
        "q1", "q2", "q3", "q5", "q6", "q8", "q9", "q10", "q11", "total", "possible",
    ]  # fmt: skip

    def row(name):
        return rows.pop(name)

    assert row("doejane_101_5001_autoencoders_mnist.ipynb") == [
        "doejane", "101", "doejane_101_5001_autoencoders_mnist.ipynb", "no", "graded", "",
        "Jane Doe (101); John Roe (102)", "101 102", *FULL,
    ]  # fmt: skip
    late = row("smithbob_late_103_5003_autoencoders_mnist-1.ipynb")
    assert late[3:6] == ["yes", "graded", ""]
    assert late[8:] == ["4", "4", "6", "3", "4", "5", "4", "1.5", "3", "34.5", "38"]
    older = row("smithbob_103_5002_autoencoders_mnist.ipynb")
    assert older[4:6] == [
        "superseded",
        "superseded by smithbob_late_103_5003_autoencoders_mnist-1.ipynb",
    ]
    assert older[8:] == NONE
    blank = row("leeann_104_5004_autoencoders_mnist_2026.zip")
    assert blank[4:6] == ["graded", ""] and blank[7:] == ["104", *ZERO]
    html = row("kimsue_105_5005_autoencoders_mnist.html")
    assert html[4:6] == [
        "not a notebook",
        "HTML only: cannot be autograded (no notebook submitted); kept for manual grading",
    ]
    broken = row("parkkim_106_5006_autoencoders_mnist.ipynb")
    assert broken[4] == "unreadable" and broken[5].startswith("not a valid notebook file")
    loop = row("looplou_107_5007_autoencoders_mnist.ipynb")
    assert loop[4:6] == ["timed out", "timed out after 75 s"] and loop[8:] == NONE
    vandal = row("vandalval_108_5008_autoencoders_mnist.ipynb")
    assert vandal[4] == "graded" and float(vandal[-2]) < 38  # it deleted its own copy of MNIST
    loud = row("loudlarry_109_5009_autoencoders_mnist.ipynb")
    assert loud[4] == "graded" and loud[8:] == FULL
    pasted = row("copycat_111_5011_autoencoders_mnist.ipynb")
    assert pasted[4:6] == [
        "graded",
        "the notebook had no Otter metadata (cells copied into a new notebook?): "
        "graded as 'autoencoders_mnist'",
    ]
    assert pasted[8:] == FULL
    wrong = row("wrongwill_112_5012_autoencoders_mnist.ipynb")
    assert wrong[4] == "errored" and "'lab11'" in wrong[5] and wrong[8:] == NONE
    stray = row("readme.txt")
    assert stray[4] == "unreadable" and "not Canvas's" in stray[5]
    assert rows == {}
    assert summary.counts() == {
        "graded": 6,
        "superseded": 1,
        "not a notebook": 1,
        "unreadable": 2,
        "timed out": 1,
        "errored": 1,
    }
    assert summary.conflicts == []


def test_gradebook_import_scores_both_partners_and_only_this_assignment(graded):
    results, summary, *_ = graded
    column = "Group Work 13: Autoencoders with MNIST (901)"
    assert _csv(results / "gradebook_import.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
        ["    Points Possible", "", "", "", "", "45.00"],
        ["Doe, Jane", "101", "s101", "jdoe", "Lab 1", "38"],
        ["Roe, John", "102", "s102", "jroe", "Lab 1", "38"],
        ["Smith, Bob", "103", "s103", "bsmith", "Lab 1", "34.5"],
        ["Lee, Ann", "104", "s104", "alee", "Lab 2", "0"],
        ["Kim, Sue", "105", "s105", "skim", "Lab 2", ""],
        ["Park, Kim", "106", "s106", "kpark", "Lab 2", ""],
        ["Loop, Lou", "107", "s107", "llou", "Lab 2", ""],
        ["Vandal, Val", "108", "s108", "vval", "Lab 2", f"{summary.gradebook_scores['108']:g}"],
        ["Loud, Larry", "109", "s109", "llarry", "Lab 2", "38"],
        ["Absent, Al", "110", "s110", "aal", "Lab 2", ""],
        ["Copy, Cat", "111", "s111", "ccat", "Lab 2", "38"],
        ["Wrong, Will", "112", "s112", "wwill", "Lab 2", ""],
    ]  # fmt: skip


def test_feedback_shows_hidden_tests_by_name_and_message_only(graded, built):
    results, *_ = graded
    pages = sorted(p.name for p in (results / "feedback").iterdir())
    assert pages == [
        "copycat_111.md", "doejane_101.md", "kimsue_105.md", "leeann_104.md", "looplou_107.md",
        "loudlarry_109.md", "parkkim_106.md", "roejohn_102.md", "smithbob_103.md",
        "vandalval_108.md", "wrongwill_112.md",
    ]  # fmt: skip
    bob = (results / "feedback" / "smithbob_103.md").read_text()
    assert "**Autograded score: 34.5 / 38**" in bob
    assert (
        "- FAILED: `test_vae_loss_value` (hidden test): AssertionError: vae_loss should be the "
        "summed squared error plus KL(q || p) = 7.595 for these inputs, but it gave a KL part "
        "of -7.595: check the KL formula and its sign."
    ) in bob
    assert "- passed: `test_train_vae_early_stopping` (hidden test)" in bob
    assert "Error at line" not in bob and "assert " not in bob  # no test source
    assert "## Written answers (manually graded)" in bob
    assert "sentences **max**, what does the encoder do to the input data?" in bob
    jane, john = (
        (results / "feedback" / n).read_text() for n in ("doejane_101.md", "roejohn_102.md")
    )
    assert (
        "feedback for Roe, John (102)" in john and john.split("\n", 1)[1] == jane.split("\n", 1)[1]
    )
    lee = (results / "feedback" / "leeann_104.md").read_text()
    assert "*(no answer)*" in lee and "**Autograded score: 0 / 38**" in lee


def test_project_data_survives_a_notebook_that_deletes_files(graded):
    raw = verify_raw_files()  # raises if anything was deleted or changed
    assert sorted(p.name for p in raw.glob("*.gz")) == sorted(RAW_FILES)


def test_a_second_run_resumes_without_regrading(graded, canvas_download):
    results, _, options, gradebook, column = graded
    download, _ = canvas_download
    before = hashlib.sha256((results / "results.csv").read_bytes()).hexdigest()
    again = grade_submissions(download, results, options, gradebook, column, progress=False)
    assert again.graded_now == 0 and again.seconds < 20
    assert hashlib.sha256((results / "results.csv").read_bytes()).hexdigest() == before
