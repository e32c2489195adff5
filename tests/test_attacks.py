"""Every attack of tests/attacks/, graded in one run beside honest notebooks (see canvas_class)."""

import csv
import os
import zipfile

import pytest
from canvas_class import HONEST_ANSWER, MARKER, SSH_KEY, TOKEN, attacks
from lab_env import LAB
from student_work import mistake_round

pytestmark = pytest.mark.slow


def _rows(graded_class):
    with open(graded_class.results / "results.csv", newline="", encoding="utf-8") as file:
        return {row["user_id"]: row for row in csv.DictReader(file)}


def _outputs(graded_class):
    """Every file the run wrote for people to read, by name."""
    results = graded_class.results
    texts = {path.name: path.read_text(errors="replace") for path in results.glob("*.csv")}
    texts.update({p.name: p.read_text() for p in (results / "feedback").iterdir()})
    with zipfile.ZipFile(results / "feedback_upload.zip") as upload:
        texts.update({n: upload.read(n).decode(errors="replace") for n in upload.namelist()})
    texts.update({p.name: p.read_text() for p in results.glob("report.*")})
    return texts


def test_every_attack_is_put_up_for_review_or_earns_only_its_points(graded_class):
    rows = _rows(graded_class)
    for attack in attacks(graded_class.port, graded_class.planted):
        row = rows[attack.user_id]
        if attack.base == "solution":  # an endless cell: that cell only is lost
            assert (row["status"], row["total"]) == ("graded", "38"), attack.name
            assert "ran past its time limit" in row["reason"]
            continue
        assert row["status"] in ("needs review", "errored", "graded"), attack.name
        assert row["total"] in ("", "0"), (attack.name, row["total"])
        if "needs review" in attack.expect:
            assert row["status"] == "needs review", (attack.name, row["reason"])
        if "stopped" in attack.expect:
            assert "the sandbox was stopped" in row["reason"], (attack.name, row["reason"])


def test_scores_under_review_are_withheld_from_the_import(graded_class):
    rows = _rows(graded_class)
    with open(graded_class.results / "gradebook_import.csv", newline="", encoding="utf-8") as f:
        cells = {row[1]: row[-1] for row in csv.reader(f)}
    under_review = [u for u, row in rows.items() if row["status"] == "needs review"]
    assert len(under_review) >= 15
    assert all(cells[user_id] == "" for user_id in under_review)


def test_no_honest_notebook_is_flagged_or_loses_points(graded_class):
    rows = _rows(graded_class)
    honest = {u: r for u, r in rows.items() if u.isdigit() and int(u) < 200 and r["total"]}
    assert honest and all(row["status"] == "graded" for row in honest.values()), honest
    late = LAB.points - sum(m.points_lost for m in mistake_round(0) if m.question in ("q9", "q10"))
    assert rows["101"]["total"] == f"{LAB.points:g}" and rows["103"]["total"] == f"{late:g}"


def _checks_code_lines():
    """Every line of the checks' code, without its strings (messages are meant to be shown)."""
    import io
    import tokenize

    from lab_env import LAB

    lines = set()
    for source in LAB.checks_files().values():
        tokens = tokenize.generate_tokens(io.StringIO(source.decode()).readline)
        code: dict[int, str] = {}
        for token in tokens:
            if token.type not in (tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                code[token.start[0]] = code.get(token.start[0], "") + token.string
        lines |= {line for line in code.values() if len(line) >= 24}
    return lines


def test_nothing_of_the_grader_or_other_students_reaches_any_output(graded_class):
    code = _checks_code_lines()
    assert len(code) > 300
    for name, text in _outputs(graded_class).items():
        assert TOKEN not in text and SSH_KEY not in text, name
        if name.startswith("report"):  # the GSI's: it shows students' code, attacks included
            continue
        if not name.startswith(("results", "changes")):  # what only the GSI reads
            assert MARKER not in text, name
        if "doejane" not in name and "roejohn" not in name and not name.endswith(".csv"):
            assert HONEST_ANSWER not in text, name
        if name.endswith(".html"):
            assert "def test_" not in text and "import lab_checks" not in text, name
            squeezed = "".join(text.split())
            leaked = [line for line in code if line in squeezed]
            assert not leaked, (name, leaked[:3])


def test_the_class_report_covers_every_file_of_a_hostile_class(graded_class):
    import json

    report = json.loads((graded_class.results / "report.json").read_text())
    assert report["files"] == len(graded_class.summary.rows)
    assert report["status"]["needs review"] >= 15
    assert report["scores"]["autograded"]["count"] == report["status"]["graded"]


def test_nothing_outside_the_sandboxes_changed_and_nothing_survived(graded_class):
    assert graded_class.changed == []  # the autograder, the download, the gradebook, ~/.ssh
    assert graded_class.connections == []  # no connection to the grader's machine
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if MARKER.encode() in file.read():
                    survivors.append(pid)
        except OSError:
            continue
    assert survivors == []
