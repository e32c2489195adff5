"""A Canvas download graded end to end: a row per file, the import, feedback Canvas takes back.

The class (tests/canvas_class.py) is graded once, attacks included (tests/test_attacks.py
checks those); here: the honest students, the gradebook import and the feedback.
"""

import csv
import hashlib
import zipfile

import pytest
from canvas_class import COLUMN, HONEST_ANSWER
from canvas_model import check_import
from lab_env import LAB, question_points, score, score_with_mistakes
from student_work import mistake_round

from aelab.canvas import same_score
from aelab.data import RAW_FILES, verify_raw_files
from aelab.grading.pipeline import grade_submissions

pytestmark = pytest.mark.slow

POINTS = question_points()  # counts come from the lab: the master's tests and lab.toml
FULL, ZERO, TOTAL = [score(p) for p in POINTS.values()], ["0"] * len(POINTS), score(LAB.points)
LATE = {"q9", "q10"}  # Ed's mistakes (tests/canvas_class.py)
LATE_TOTAL = score(score_with_mistakes(LATE))


def _csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _scores(row):
    return [row[q] for q in POINTS]


def test_every_honest_file_gets_a_row_with_exact_scores_and_reasons(graded_class):
    rows = {r["file"]: r for r in _csv(graded_class.results / "results.csv")}
    jane = rows["doejane_101_5001_autoencoders_mnist.ipynb"]
    assert (jane["status"], jane["reason"], jane["credited"]) == ("graded", "", "101 102")
    assert _scores(jane) == FULL and jane["total"] == TOTAL and jane["possible"] == TOTAL
    late = rows["poeed_LATE_103_5003_autoencoders_mnist-1.ipynb"]
    assert (late["late"], late["status"], late["total"]) == ("yes", "graded", LATE_TOTAL)
    lost = {m.question: m.points_lost for m in mistake_round(0) if m.question in LATE}
    assert {q: late[q] for q in LATE} == {q: score(POINTS[q] - lost[q]) for q in LATE}
    blank = rows["leeann_104_5004_autoencoders_mnist_2026.zip"]  # the real export zip
    assert (blank["status"], _scores(blank)) == ("graded", ZERO)
    html = rows["kimsue_105_5005_autoencoders_mnist.html"]
    assert html["status"] == "not a notebook" and html["reason"].startswith("HTML only")
    broken = rows["parkkim_106_5006_autoencoders_mnist.ipynb"]
    assert broken["status"] == "unreadable" and "not a valid notebook" in broken["reason"]
    pasted = rows["copycat_111_5011_autoencoders_mnist.ipynb"]
    assert pasted["status"] == "graded" and pasted["total"] == TOTAL
    assert "no Otter metadata" in pasted["reason"]
    other_lab = rows["wrongwill_112_5012_autoencoders_mnist.ipynb"]
    assert other_lab["status"] == "errored" and "'lab11'" in other_lab["reason"]
    assert rows["moeal_113_5013_autoencoders_mnist.ipynb"]["status"] == "graded"
    copy = rows["moeal_113_5014_autoencoders_mnist.html"]
    assert (copy["status"], copy["reason"]) == (
        "not a notebook",
        "kept for reading; autoencoders_mnist.ipynb was graded",
    )
    group = rows["lab_group_3_114_5015_autoencoders_mnist.ipynb"]
    assert (group["student"], group["user_id"], group["status"]) == ("lab_group_3", "114", "graded")
    text = rows["texttess_115_text.html"]
    assert (text["status"], text["reason"]) == (
        "not a notebook",
        "a text entry, not an uploaded file",
    )
    workers = rows["workerswes_119_5019_autoencoders_mnist.ipynb"]
    assert (workers["status"], workers["total"]) == ("graded", TOTAL)
    stray = rows["readme.txt"]
    assert stray["status"] == "unreadable" and "not Canvas's" in stray["reason"]
    assert graded_class.summary.conflicts == []


def test_the_import_changes_only_what_it_should_and_lists_every_cell(graded_class):
    """Read back as Canvas reads it: no grade cleared, EX and hand-set grades kept."""
    results = graded_class.results
    with open(results / "gradebook_import.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN]
    assert rows[1][0].strip() == "Points Possible" and rows[2][-1] == "Manual Posting"
    cells = {row[1]: row[-1] for row in rows[3:]}
    expected = {
        "101": TOTAL, "102": TOTAL,  # Jane's team: both partners
        "103": LATE_TOTAL, "104": "0", "111": TOTAL, "113": "0", "114": "0", "119": TOTAL,
        "105": "", "106": "", "112": "", "115": "",  # no autograded score: cell as exported
        "116": "EX",  # excused: kept
        "117": "41.0",  # set by hand in Canvas: kept (as Canvas stores it), though it scores all
        "118": "20.0",  # did not submit: kept
    }  # fmt: skip
    assert {k: cells[k] for k in expected} == expected
    changes = {row["user_id"]: row for row in _csv(results / "changes.csv")}
    assert changes["117"]["change"] == "kept" and "set in Canvas" in changes["117"]["why"]
    assert changes["116"]["why"].startswith("excused in Canvas")
    assert changes["114"]["group"] == "lab_group_3"
    assert not [row for row in changes.values() if row["change"] == "cleared"]
    before = graded_class.gradebook.students()
    for user_id, cell in cells.items():
        old = before[user_id][COLUMN]
        assert same_score(old, cell) or old == cell or old in ("", "-"), user_id
    stored = check_import(results)  # Canvas's import stores what changes.csv says
    assert (stored["101"], stored["117"], stored["116"]) == (str(float(LAB.points)), "41.0", "EX")


def test_feedback_goes_back_to_canvas_by_user_and_attachment_id(graded_class):
    results = graded_class.results
    with zipfile.ZipFile(results / "feedback_upload.zip") as upload:
        names = set(upload.namelist())
        jane = upload.read("doejane_101_5001_feedback.html").decode()
    # Canvas attaches each file to the submission of the first two numbers in its name
    for name in names:
        user_id, attachment_id = [p for p in name.split("_") if p.isdigit()][:2]
        assert name.endswith("_feedback.html") and attachment_id != user_id
    assert "poeed_103_5003_feedback.html" in names and "kimsue_105_5005_feedback.html" in names
    # one page per student: Moe's notebook page, attached to his HTML copy (shown as a page)
    assert [n for n in names if "_113_" in n] == ["moeal_113_5014_feedback.html"]
    assert f"Autograded: {TOTAL} / {TOTAL}" in jane and HONEST_ANSWER in jane  # her own answer
    assert "Reference answer" not in jane and "not graded yet" in jane
    partner = (results / "feedback" / "roejohn_102.html").read_text()
    assert "feedback for Roe, John" in partner and f"Autograded: {TOTAL} / {TOTAL}" in partner
    ed = (results / "feedback" / "poeed_103.html").read_text()
    assert "<code>test_vae_loss_value</code>" in ed and "check the KL formula and its sign" in ed
    assert "def test_" not in ed and "lab_checks" not in ed  # no test source


def test_project_data_survives_the_run(graded_class):
    raw = verify_raw_files()  # raises if anything was deleted or changed
    assert sorted(p.name for p in raw.glob("*.gz")) == sorted(RAW_FILES)


def test_a_second_run_resumes_without_regrading(graded_class):
    g = graded_class
    before = hashlib.sha256((g.results / "results.csv").read_bytes()).hexdigest()
    again = grade_submissions(g.download, g.results, g.options, g.gradebook, g.column, False)
    assert again.graded_now == 0 and again.seconds < 30
    assert hashlib.sha256((g.results / "results.csv").read_bytes()).hexdigest() == before
