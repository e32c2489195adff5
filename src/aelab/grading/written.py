"""Written answers, graded by question: a page per question and a sheet of scores to fill in.

As Gradescope grades by question: the GSI reads every student's answer to one question on
one page (identical answers grouped, blank ones marked, the reference answer and its points
on top), types scores into ``manual_scores.csv`` in any spreadsheet, and runs the same
``aelab grade`` again with ``--manual manual_scores.csv``: results, feedback and the import
then carry autograded + written points. A student whose answers are not all scored yet
keeps an autograded-only total, and the summary says how many answers wait.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from markupsafe import Markup

from aelab.grading.autograder import WrittenQuestion
from aelab.grading.outputs import markdown
from aelab.html_export import sanitised
from aelab.pages import render, sanitised_html
from aelab.record import SCORED, Row
from aelab.submissions import WrittenAnswer
from aelab.text import from_spreadsheet_cell, spreadsheet_cell

SHEET = "manual_scores.csv"
COLUMNS = ["student", "user_id", "question", "points_possible", "answer", "score", "comment"]


class ManualScoresError(ValueError):
    """A row of the scores sheet is wrong; the message names it. Nothing was written."""


def answers_of(
    questions: list[WrittenQuestion], answers: list[WrittenAnswer]
) -> dict[str, WrittenAnswer]:
    """Each question's answer, matched by its prompt (students may add or move cells)."""
    found = {}
    for question in questions:
        key = _words(question.prompt)
        match = next((a for a in answers if _words(a.prompt) == key), None)
        found[question.name] = match or WrittenAnswer(question.prompt, "", "")
    return found


def shown(answer: WrittenAnswer) -> Markup:
    """An answer as the pages show it (empty if blank).

    Markdown from a notebook is rendered with its HTML escaped; an HTML export's answer is
    sanitised HTML already, and is sanitised again.
    """
    if not answer.answer.strip():
        return Markup()
    text = sanitised_html(sanitised(answer.answer)) if answer.html else markdown(answer.answer)
    return text.strip()


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _gradable(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.status in SCORED and row.user_id]


def read_sheet(
    path: Path, rows: list[Row], questions: list[WrittenQuestion]
) -> dict[tuple[str, str], tuple[float, str]]:
    """Filled scores by (user id, question): checked, every bad row named, before any output."""
    points = {q.name: q.points for q in questions}
    users = {row.user_id for row in _gradable(rows)}
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            lines = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError) as error:
        raise ManualScoresError(f"{path}: cannot be read ({error})") from error
    if lines and not set(COLUMNS) <= set(lines[0]):
        raise ManualScoresError(f"{path}: the columns must be {', '.join(COLUMNS)}")
    scores, problems = {}, []
    for number, line in enumerate(lines, start=2):  # row 1 is the header
        score = (line.get("score") or "").strip()
        where = f"row {number} ({line.get('student', '')}, {line.get('question', '')})"
        if line.get("question") not in points:
            problems.append(f"{where}: unknown question {line.get('question')!r}")
        elif line.get("user_id") not in users:
            problems.append(f"{where}: user id {line.get('user_id')!r} has no graded submission")
        elif score:
            try:
                value = float(score.replace(",", "."))
            except ValueError:
                problems.append(f"{where}: score {score!r} is not a number")
                continue
            if not 0 <= value <= points[line["question"]]:
                problems.append(
                    f"{where}: score {value:g} is outside 0..{points[line['question']]:g}"
                )
                continue
            scores[(line["user_id"], line["question"])] = (value, _comment(line))
    if problems:
        raise ManualScoresError(f"{path}: " + "; ".join(problems))
    return scores


def score_written(
    rows: list[Row], questions: list[WrittenQuestion], scores: dict[tuple[str, str], tuple]
) -> int:
    """Set each fully scored row's ``written`` points; return how many answers wait."""
    waiting = 0
    for row in _gradable(rows):
        got = [scores.get((row.user_id, q.name)) for q in questions]
        waiting += sum(score is None for score in got)
        if questions and all(score is not None for score in got):
            row.written = sum(score[0] for score in got)
    return waiting


def write_sheet(
    path: Path,
    rows: list[Row],
    questions: list[WrittenQuestion],
    scores: dict[tuple[str, str], tuple[float, str]],
) -> None:
    """The sheet to fill in: a row per answer, with any score or comment already given.

    A GSI opens it in a spreadsheet: the student's name and answer, and the comment, are
    written so that no cell runs as a formula (a comment is read back without the guard).
    """
    earlier = _earlier(path)
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in _gradable(rows):
            answers = answers_of(questions, row.answers)
            for question in questions:
                key = (row.user_id, question.name)
                score, comment = scores.get(key) or earlier.get(key) or ("", "")
                text = [row.student, answers[question.name].answer, comment]
                student, answer, comment = (spreadsheet_cell(t) for t in text)
                writer.writerow(
                    [student, row.user_id, question.name, f"{question.points:g}", answer,
                     f"{score:g}" if score != "" else "", comment]
                )  # fmt: skip


def _earlier(path: Path) -> dict[tuple[str, str], tuple]:
    """Scores typed into an earlier sheet at ``path``: a regrade keeps them."""
    if not path.is_file():
        return {}
    kept = {}
    with open(path, newline="", encoding="utf-8-sig") as file:
        for line in csv.DictReader(file):
            try:
                kept[(line["user_id"], line["question"])] = (float(line["score"]), _comment(line))
            except (KeyError, ValueError, TypeError):
                continue
    return kept


def _comment(line: dict[str, str]) -> str:
    return from_spreadsheet_cell(line.get("comment") or "")


def write_pages(folder: Path, rows: list[Row], questions: list[WrittenQuestion], title: str):
    """One page per question: the reference answer, then every answer, identical ones grouped."""
    folder.mkdir(parents=True, exist_ok=True)
    for question in questions:
        groups: dict[str, list[str]] = {}
        for row in _gradable(rows):
            answer = shown(answers_of(questions, row.answers)[question.name])
            # the same on the page: one group
            groups.setdefault(answer, []).append(f"{row.student} ({row.user_id})")
        text = render(
            "written.html",
            title=f"{title}: {question.name}",
            question=question,
            prompt=markdown(question.prompt),
            reference=markdown(question.reference),
            count=sum(len(people) for people in groups.values()),
            groups=sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])),
        )
        (folder / f"{question.name}.html").write_text(text, encoding="utf-8", errors="replace")


def feedback_section(row: Row, questions: list[WrittenQuestion], scores: dict) -> Markup:
    """The written answers in a student's feedback, with the scores and comments given."""
    if not questions:
        return Markup()
    answers = answers_of(questions, row.answers)
    items = [
        (markdown(q.prompt), q.points, shown(answers[q.name]),
         *scores.get((row.user_id, q.name), (None, "")))  # the score and comment, if any
        for q in questions
    ]  # fmt: skip
    return render("written_answers.html", items=items)
