"""Written answers graded by question: pages, the scores sheet, and what a filled sheet adds."""

import csv

import pytest

from aelab.grading.written import (
    ManualScoresError,
    WrittenQuestion,
    read_sheet,
    score_written,
    write_pages,
    write_sheet,
)
from aelab.record import GRADED, Row
from aelab.submissions import WrittenAnswer

QUESTIONS = [
    WrittenQuestion("q4a", "**1)** What does the encoder do?", 1.0, "It compresses."),
    WrittenQuestion("q11_written", "**Do the distributions line up?**", 2.0, "Largely."),
]


def _row(user_id, student, answers):
    row = Row(file=f"{student}.ipynb", student=student, user_id=user_id, status=GRADED)
    pairs = zip(QUESTIONS, answers, strict=True)
    row.answers = [WrittenAnswer(q.prompt, f"{q.points:g}", a) for q, a in pairs]
    return row


ROWS = [
    _row("101", "doejane", ["It **compresses** the image to 2 numbers.", "Mostly <b>yes</b>."]),
    _row("102", "roejohn", ["It **compresses** the image to 2 numbers.", ""]),
    _row("103", "poeed", ["<script>alert(1)</script>", "No."]),
]


def _sheet(tmp_path, scores):
    path = tmp_path / "manual_scores.csv"
    write_sheet(path, ROWS, QUESTIONS, {})
    lines = list(csv.DictReader(path.open(encoding="utf-8")))
    for line in lines:
        line["score"] = scores.get((line["user_id"], line["question"]), "")
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    return path


def test_a_page_per_question_groups_identical_answers_and_escapes_html(tmp_path):
    write_pages(tmp_path, ROWS, QUESTIONS, "Lab")
    page = (tmp_path / "q4a.html").read_text()
    assert "2 identical answers" in page and page.count("<strong>compresses</strong>") == 1
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "It compresses." in page  # the reference answer
    assert "(blank)" in (tmp_path / "q11_written.html").read_text()


def test_a_filled_sheet_adds_written_points_only_for_fully_scored_students(tmp_path):
    path = _sheet(tmp_path, {("101", "q4a"): "1", ("101", "q11_written"): "1.5",
                             ("102", "q4a"): "0.5"})  # fmt: skip
    scores = read_sheet(path, ROWS, QUESTIONS)
    waiting = score_written(ROWS, QUESTIONS, scores)
    assert [row.written for row in ROWS] == [2.5, None, None]  # 102, 103: autograded only
    assert waiting == 3
    write_sheet(path, ROWS, QUESTIONS, {})  # a rerun keeps what was typed
    assert read_sheet(path, ROWS, QUESTIONS) == scores


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({("101", "q4a"): "one"}, "row 2 (doejane, q4a): score 'one' is not a number"),
        ({("101", "q11_written"): "3"}, "score 3 is outside 0..2"),
        ({("101", "q4a"): "-1"}, "score -1 is outside 0..1"),
    ],
)
def test_bad_scores_are_named_by_row(tmp_path, scores, message):
    path = _sheet(tmp_path, scores)
    with pytest.raises(ManualScoresError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_sheet(path, ROWS, QUESTIONS)


def test_unknown_students_and_questions_are_refused(tmp_path):
    path = _sheet(tmp_path, {})
    text = path.read_text().replace(",q4a,", ",q99,", 1).replace(",103,", ",999,", 1)
    path.write_text(text)
    with pytest.raises(ManualScoresError) as refused:
        read_sheet(path, ROWS, QUESTIONS)
    assert "unknown question 'q99'" in str(refused.value)
    assert "user id '999' has no graded submission" in str(refused.value)
