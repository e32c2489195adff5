"""The class report on a generated class graded by the real pipeline, and looked at in Chromium.

The class: the reference solution and a disguised copy of it (renamed, reordered), two
correct notebooks written independently, every round of ``student_work``'s mistakes, a
blank notebook, two partners who hand in one notebook each, a resubmission, a broken file.
"""

from __future__ import annotations

import csv
import itertools
import json
import shutil

import independent_work as independent
import pytest
import student_work as work

from aelab.cli import main
from aelab.grading.pipeline import GradingOptions, grade_submissions

pytestmark = pytest.mark.slow

SOLUTION, COPY = "Orig, Ana", "Copier, Carl"
VARIANTS = {name: f"{name.title()}, Indy" for name in independent.VARIANTS}
PARTNERS = [("Pair, Pat", "321"), ("Pair, Pia", "322")]


def _lastfirst(student: str) -> str:
    """Canvas's name for a student in its download, as the report shows it."""
    return student.replace(", ", "").lower()


def _name(student: str, user_id: str, attachment: int) -> str:
    return f"{_lastfirst(student)}_{user_id}_{attachment}_autoencoders_mnist.ipynb"


@pytest.fixture(scope="module")
def reported(built, tmp_path_factory):
    out, _ = built
    download = tmp_path_factory.mktemp("report-class") / "download"
    download.mkdir()
    files = {}  # file name -> what it is

    def hand_in(notebook, student, user_id, kind, attachment, team=None):
        name = _name(student, user_id, attachment)
        work.write(work.with_team(notebook, team or [(student, user_id)]), download / name)
        files[name] = kind

    hand_in(work.solution(out), SOLUTION, "301", "solution", 9001)
    hand_in(independent.disguised(work.solution(out)), COPY, "302", "disguised", 9002)
    for offset, (variant, student) in enumerate(VARIANTS.items()):
        hand_in(
            independent.variant(out, variant), student, str(303 + offset), variant, 9003 + offset
        )
    every = {m.question for m in work.MISTAKES}
    rounds = max(n for n in range(10) if work.mistake_round(n)) + 1
    for number in range(rounds):
        notebook = work.with_mistakes(out, every, number)
        hand_in(notebook, f"Round, R{number}", str(311 + number), f"round-{number}", 9100 + number)
    hand_in(work.blank(out), "Blank, Bo", "330", "blank", 9200)
    for student, user_id in PARTNERS:  # both partners upload the team's notebook
        hand_in(work.solution(out), student, user_id, "partner", 9300 + int(user_id), PARTNERS)
    # a resubmission: the same student's two uploads (Canvas keeps both attachments)
    hand_in(work.with_mistakes(out, {"q2"}, 0), "Again, Sam", "340", "first try", 9400)
    hand_in(work.solution(out), "Again, Sam", "340", "resubmission", 9401)
    (download / _name("Broken, Bea", "350", 9500)).write_text('{"cells": [')
    results = download.parent / "grades"
    options = GradingOptions(out / "autograder.zip", workers=2)
    grade_submissions(download, results, options, progress=False)
    report = json.loads((results / "report.json").read_text())
    return results, report, files


def _csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _pairs(report):
    return {frozenset(_pairs_of(p)) for p in report["similar"]["pairs"]}


def _pairs_of(pair):
    return {pair[k]["label"].split(" (")[0] for k in ("first", "second")}


def test_the_disguised_copy_is_flagged_and_independent_work_is_not(reported):
    results, report, _ = reported
    pairs = _pairs(report)
    copied = {_lastfirst(SOLUTION), _lastfirst(COPY)}
    assert copied in pairs
    for student in VARIANTS.values():
        assert not [p for p in pairs if _lastfirst(student) in p], (student, pairs)
    copy = next(p for p in report["similar"]["pairs"] if _pairs_of(p) == copied)
    assert copy["similarity"] >= 0.9
    grouped = [{m.split(" (")[0] for m in g["members"]} for g in report["similar"]["groups"]]
    assert [g for g in grouped if copied <= g]
    assert not [g for g in grouped for s in VARIANTS.values() if _lastfirst(s) in g]
    # partners who name each other, and one student's two files, are never a pair
    assert {_lastfirst(name) for name, _ in PARTNERS} not in pairs
    assert not [p for p in pairs if len(p) == 1]
    page = (results / "report.html").read_text()
    assert "a reason to look, not a verdict" in page
    assert "<mark>" in page  # the shared code, highlighted side by side


def test_independent_variants_are_correct_notebooks(reported):
    results, _, files = reported
    rows = {r["file"]: r for r in _csv(results / "results.csv")}
    for name, kind in files.items():
        if kind in VARIANTS or kind in ("solution", "disguised"):
            assert rows[name]["status"] == "graded", rows[name]
            assert rows[name]["autograded"] == rows[name]["possible"], (kind, rows[name])


def test_failure_rates_match_results_csv_and_the_planted_mistakes(reported):
    results, report, files = reported
    rows = [r for r in _csv(results / "results.csv") if r["status"] == "graded"]
    assert report["scores"]["autograded"]["count"] == len(rows)
    for question in report["questions"]:
        below = sum(float(r[question["name"]]) < question["possible"] for r in rows)
        assert question["lost_points"] == below, question["name"]
        assert question["count"] == len(rows)
        mean = sum(float(r[question["name"]]) for r in rows) / len(rows)
        assert question["mean"] == pytest.approx(mean, abs=0.01)
    # every planted mistake fails its test(s) in exactly the notebooks that hold it
    record = json.loads((results / "rows.json").read_text())
    failed = {}
    for row in record["rows"]:
        for test in row["tests"]:
            if not test["passed"] and row["status"] == "graded":
                failed.setdefault(f"{test['question']}/{test['name']}", set()).add(row["file"])
    by_key = {t["key"]: t for t in report["tests"]}
    for key, test in by_key.items():
        assert test["failed"] == len(failed.get(key, ())), key
        assert sum(m["count"] for m in test["messages"]) <= test["failed"]
    assert [t["failure_rate"] for t in report["tests"]] == sorted(
        (t["failure_rate"] for t in report["tests"]), reverse=True
    )
    blank = next(n for n, k in files.items() if k == "blank")
    assert all(blank in names for key, names in failed.items() if by_key[key]["ran"])


def test_status_counts_timing_and_heat_map(reported):
    results, report, files = reported
    rows = _csv(results / "results.csv")
    assert report["files"] == len(rows) == len(files) + 1  # + the broken file
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    assert {k: v for k, v in report["status"].items() if k != "late"} == counts
    assert counts["not graded"] == 1 and counts["unreadable"] == 1  # first try; broken file
    graded = [r for r in rows if r["status"] == "graded"]
    assert len(report["heatmap"]["fractions"]) == len(graded)
    totals = [sum(f * report["questions"][i]["possible"] for i, f in enumerate(line))
              for line in report["heatmap"]["fractions"]]  # fmt: skip
    assert all(b >= a - 0.05 for a, b in itertools.pairwise(totals))  # rounded
    timing = report["timing"]
    assert timing["count"] == len(graded) and len(timing["slowest"]) == 5
    assert timing["slowest"][0]["seconds"] == max(float(r["seconds"]) for r in graded)
    assert {"start-up", "cells", "q3"} <= set(timing["mean_by_phase"])


def test_aelab_report_rebuilds_the_report_without_grading(reported, tmp_path, capsys):
    results, report, _ = reported
    copy = tmp_path / "grades"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("work", "submissions"))
    (copy / "report.html").unlink()
    (copy / "report.json").unlink()
    assert main(["report", str(copy)]) == 0
    assert json.loads((copy / "report.json").read_text()) == report
    assert "Class report" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing")]) == 1
    assert "run `aelab grade`" in capsys.readouterr().err


def test_the_page_reads_offline_in_chromium(reported):
    from browser import SCREENSHOTS, launch
    from playwright.sync_api import sync_playwright

    results, report, _ = reported
    requested = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("request", lambda request: requested.append(request.url))
        page.goto((results / "report.html").as_uri())
        headings = page.locator("h2").all_inner_texts()
        assert headings == [
            "Class overview",
            "Per question",
            "Per test, most failed first",
            "Grading time",
            "Similar submissions",
        ]
        # the score histogram, the heat map, the timing histogram: decoded from the page itself
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(sizes) == 3 and min(sizes) > 300
        assert {url.split(":")[0] for url in requested} <= {"file", "data"}
        worst = report["tests"][0]
        assert page.get_by_text(worst["key"]).first.is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "class-report.png")  # docs/class-report.png
        page.locator("details summary").first.click()
        assert page.locator("details[open] mark").first.is_visible()
        page.screenshot(path=SCREENSHOTS / "class-report-pair.png")
        browser.close()
