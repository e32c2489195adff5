"""HTML exports graded beside the notebooks they came from: the same verdict on every test.

The solution, the blank notebook and every known mistake of tests/student_work.py (round by
round), each handed in as its notebook and as its HTML export in both of nbconvert's
templates, graded in one run as a Canvas download; beside them a notebook with its HTML, a
hostile export, and pages that cannot be graded. Slow: 26 notebooks in sandboxes.
"""

import csv
import json

import nbformat
import pytest
import student_work as work
from html_pages import TEMPLATES, code_sources, export
from lab_env import LAB, master_tests, score

from aelab.grading.pipeline import GradingOptions, grade_submissions
from aelab.grading.runner import RunOptions
from aelab.html_export import read_html_export

pytestmark = pytest.mark.slow

ANSWER = "The encoder **compresses** each image into 2 numbers."
SHOWN = "<p>The encoder <strong>compresses</strong> each image into 2 numbers.</p>"
ROUNDS = max(n for n in range(10) if work.mistake_round(n)) + 1  # every mistake is in one
CLOSES_PRE = 'page = "</pre></div></div><div class=\\"jp-Cell jp-CodeCell\\"><pre>evil()</pre>"'


def _with_answer(notebook, text):
    cell = next(c for c in notebook.cells if "otter_answer_cell" in c.metadata.get("tags", []))
    cell.source = text
    return notebook


def _originals(built):
    """Every notebook compared: the solution (with a written answer), blank, each round."""
    found = {"solution": _with_answer(work.solution(built), ANSWER)}
    found["blank"] = work.blank(built)
    every = {m.question for m in work.MISTAKES}
    found |= {f"round{n}": work.with_mistakes(built, every, n) for n in range(ROUNDS)}
    return {kind: work.ran(notebook) for kind, notebook in found.items()}


@pytest.fixture(scope="module")
def graded(built, tmp_path_factory):
    out, _ = built
    download = tmp_path_factory.mktemp("html-class") / "download"
    download.mkdir()
    files = {}  # file name -> (kind, format)
    for number, (kind, notebook) in enumerate(_originals(out).items()):
        for offset, form in enumerate(("ipynb", *TEMPLATES)):
            user_id = 400 + 3 * number + offset
            name = f"{kind}{form}_{user_id}_{9000 + user_id}_autoencoders_mnist"
            notebook = work.with_team(notebook, [(f"Student {user_id}", str(user_id))])
            if form == "ipynb":
                work.write(notebook, download / f"{name}.ipynb")
            else:
                page = export(notebook, download, form, f"{name}.html")
                assert code_sources(read_html_export(page).notebook) == code_sources(notebook)
            files[f"{name}.{'ipynb' if form == 'ipynb' else 'html'}"] = (kind, form)
    both = work.ran(work.with_mistakes(out, {"q2"}, 0))
    work.write(both, download / "both_450_9450_autoencoders_mnist.ipynb")
    export(both, download, "lab", "both_450_9451_autoencoders_mnist.html")
    hostile = work.ran(_with_answer(work.solution(out), "<script>alert(1)</script>Fine."))
    hostile.cells.insert(5, nbformat.v4.new_code_cell(CLOSES_PRE))
    page = export(hostile, download, "classic", "hostile_460_9460_autoencoders_mnist.html")
    page.write_text(page.read_text().replace("<body>", "<body><script>fetch('//x')</script>", 1))
    with open(download / "huge_470_9470_autoencoders_mnist.html", "wb") as huge:
        huge.truncate(200 * 2**20)
    (download / "deep_480_9480_autoencoders_mnist.html").write_text("<div>" * 100_000)
    (download / "saved_490_9490_autoencoders_mnist.html").write_text(
        '<div class="jp-Cell jp-CodeCell"><div class="cm-line">x = 1</div></div>'
    )
    results = download.parent / "grades"
    options = GradingOptions(out / "autograder.zip", workers=2, run=RunOptions(cell_timeout=45.0))
    summary = grade_submissions(download, results, options, progress=False)
    with open(results / "results.csv", newline="", encoding="utf-8") as file:
        rows = {row["file"]: row for row in csv.DictReader(file)}
    record = json.loads((results / "rows.json").read_text())
    verdicts = {r["file"]: {t["name"]: t["passed"] for t in r["tests"]} for r in record["rows"]}
    return results, rows, verdicts, files, summary, list(record["questions"])


def test_every_question_scores_the_same_from_the_notebook_and_from_its_html(graded):
    _, rows, verdicts, files, _, questions = graded
    by_kind = {}
    for name, (kind, form) in files.items():
        row = rows[name]
        assert row["status"] == "graded", (name, row["reason"])
        assert row["team"] == f"Student {row['user_id']} ({row['user_id']})"  # TEAM, read
        assert len(verdicts[name]) == len(master_tests())  # every test ran
        scores = {q: row[q] for q in questions}
        by_kind.setdefault(kind, {})[form] = (scores, row["total"], verdicts[name])
    for kind, forms in by_kind.items():
        assert forms["lab"] == forms["ipynb"] == forms["classic"], kind
    assert set(by_kind) == {"solution", "blank", *(f"round{n}" for n in range(ROUNDS))}
    assert sum(len(work.mistake_round(n)) for n in range(ROUNDS)) == len(work.MISTAKES)
    total = by_kind["solution"]["ipynb"][1]
    assert total == score(LAB.points) and by_kind["blank"]["ipynb"][1] == "0"
    assert all(
        0 < float(by_kind[k]["ipynb"][1]) < LAB.points for k in by_kind if k.startswith("round")
    )


def test_the_rows_say_the_notebook_was_rebuilt_from_html(graded):
    _, rows, _, files, _, _ = graded
    for name, (_, form) in files.items():
        reason = rows[name]["reason"]
        if form == "ipynb":
            assert reason == "", name
        else:
            assert reason.startswith(
                f"rebuilt from an HTML export ({form} template), graded as 'autoencoders_mnist': "
                "an HTML page names no assignment; "
            ), reason


def test_written_answers_from_html_are_those_of_the_notebook(graded):
    results, rows, _, files, _, _ = graded
    solution = [name for name, (kind, _) in files.items() if kind == "solution"]
    with open(results / "manual_scores.csv", newline="", encoding="utf-8") as file:
        sheet = {(r["user_id"], r["question"]): r["answer"] for r in csv.DictReader(file)}
    answers = {rows[name]["file"].split("_")[0]: sheet[(rows[name]["user_id"], "q4a")]
               for name in solution}  # fmt: skip
    assert answers == {"solutionipynb": ANSWER, "solutionlab": SHOWN, "solutionclassic": SHOWN}
    page = (results / "written" / "q4a.html").read_text()
    assert f"3 identical answers</p>{SHOWN}" in page


def test_a_notebook_beside_its_html_is_graded_as_before(graded):
    _, rows, _, _, _, _ = graded
    assert rows["both_450_9450_autoencoders_mnist.ipynb"]["status"] == "graded"
    assert rows["both_450_9450_autoencoders_mnist.ipynb"]["reason"] == ""
    copy = rows["both_450_9451_autoencoders_mnist.html"]
    assert (copy["status"], copy["reason"]) == (
        "not a notebook",
        "kept for reading; autoencoders_mnist.ipynb was graded",
    )


def test_hostile_and_foreign_pages_get_a_row_with_a_reason(graded):
    results, rows, _, files, summary, _ = graded
    hostile = rows["hostile_460_9460_autoencoders_mnist.html"]
    assert (hostile["status"], hostile["total"]) == ("graded", score(LAB.points))  # early </pre>
    sheet = (results / "manual_scores.csv").read_text()
    assert "alert(1)" not in sheet and "<script" not in sheet
    assert "alert(1)" not in (results / "written" / "q4a.html").read_text()
    refused = {
        "huge_470_9470_autoencoders_mnist.html": (
            "unreadable",
            "an HTML page of 200 MB, over the 64 MB an export of this lab can be: not read; "
            "kept for manual grading",
        ),
        "deep_480_9480_autoencoders_mnist.html": (
            "unreadable",
            "the HTML page nests elements over 256 deep: not read; kept for manual grading",
        ),
        "saved_490_9490_autoencoders_mnist.html": (
            "not a notebook",
            "an HTML page whose 1 code cells show no source as nbconvert writes it (a browser's "
            '"Save page as", or an export without input?): kept for manual grading',
        ),
    }
    assert {name: (rows[name]["status"], rows[name]["reason"]) for name in refused} == refused
    assert len(summary.rows) == len(files) + 2 + 1 + len(refused)
