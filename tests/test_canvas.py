"""Canvas's formats, each test named after the Canvas source it follows (instructure/canvas-lms)."""

import csv
import zipfile
from pathlib import Path

import nbformat
import pytest

from aelab.canvas import (
    Change,
    GradebookError,
    comment_file_name,
    file_name_of,
    parse_submission_name,
    read_gradebook,
    stored_text,
)
from aelab.grading.collect import rows_and_latest
from aelab.grading.credit import credit_teams
from aelab.grading.gradebook_import import (
    ImportRules,
    LatePolicy,
    plan_changes,
    summary_line,
    write_import,
)
from aelab.record import GRADED, Row
from aelab.submissions import (
    NotGradableError,
    notebook_bytes,
    read_notebook,
    read_team,
    read_written_answers,
)

COLUMN = "Lab 13 Autoencoders (12)"
GRADEBOOK = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,HW 1 (11),\
Lab 13 Autoencoders (12),Current Score,Current Score (2026),Unposted Final Score
    Points Possible,,,,,10.00,45.00,(read only),(read only),(read only)
,,,,,,Manual Posting,,,
"Doe, Jane",101,s1,jdoe,A,9,,90,90,90
"Roe, John",102,s2,jroe,A,8,EX,80,80,80
"Poe, Ed",103,s3,epoe,A,,41,0,0,0
"Moe, Al",104,s4,amoe,A,,,0,0,0
"""


def _gradebook(tmp_path, text=GRADEBOOK, name="gradebook.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_gradebook(path)


# ------------------------------------------------------------ lib/content_zipper.rb: download names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # get_filename + add_upload_submission: <lastfirst>_<user id>_<attachment id>_<display name>
        ("doejane_101_5001_autoencoders_mnist.ipynb",
         ("doejane", "101", "", "5001", "autoencoders_mnist.ipynb", False, "upload")),
        ("roejohn_LATE_102_5002_autoencoders_mnist.ipynb",
         ("roejohn", "102", "", "5002", "autoencoders_mnist.ipynb", True, "upload")),
        # anonymous grading: anon_<anonymous id> instead of the name and the user id
        ("anon_aB3xZ_5003_autoencoders_mnist.ipynb",
         ("", "", "aB3xZ", "5003", "autoencoders_mnist.ipynb", False, "upload")),
        ("LATE_anon_Q9kLm_5004_lab.ipynb", ("", "", "Q9kLm", "5004", "lab.ipynb", True, "upload")),
        # add_text_or_url: no attachment
        ("doejane_101_text.html", ("doejane", "101", "", "", "text.html", False, "text")),
        ("doejane_101_link.html", ("doejane", "101", "", "", "link.html", False, "url")),
        # attachment.rb#make_unique_filename: -N, then -<uuid>, before a multi-part extension
        ("doejane_101_5005_autoencoders_mnist-3.ipynb",
         ("doejane", "101", "", "5005", "autoencoders_mnist.ipynb", False, "upload")),
        ("doejane_101_5006_lab-0f8fad5b-d9cb-469f-a165-70867728950e.tar.gz",
         ("doejane", "101", "", "5006", "lab.tar.gz", False, "upload")),
        # the export zip's own name has numbers and underscores
        ("doejane_101_5007_autoencoders_mnist_2026_11_24T10_00.zip",
         ("doejane", "101", "", "5007", "autoencoders_mnist_2026_11_24T10_00.zip", False,
          "upload")),
        # LATE is Canvas's only upper case, right before the id: a name is lower case
        ("kate_late_101_5008_lab.ipynb", ("kate_late", "101", "", "5008", "lab.ipynb", False,
                                          "upload")),
        ("doejane_101_5009_late_LATE.ipynb", ("doejane", "101", "", "5009", "late_LATE.ipynb",
                                              False, "upload")),
        # a student whose name reduces to "anon": a user id, not a 5-character anonymous id
        ("anon_101_5010_lab.ipynb", ("anon", "101", "", "5010", "lab.ipynb", False, "upload")),
        ("anon_LATE_101_5011_lab.ipynb", ("anon", "101", "", "5011", "lab.ipynb", True,
                                          "upload")),
        ("anon_aB3xZ_text.html", ("", "", "aB3xZ", "", "text.html", False, "text")),
    ],
)  # fmt: skip
def test_content_zipper_names(name, expected):
    item = parse_submission_name(Path(name))
    got = (item.name, item.user_id, item.anonymous_id, item.attachment_id, item.display_name)
    assert (*got, item.late, item.kind) == expected
    assert item.student == (item.user_id or f"anon_{item.anonymous_id}")


def test_group_names_with_numbers_are_read_with_the_gradebooks_ids():
    """A group's name may hold `_3`: Canvas's first-two-numbers rule would read user 3."""
    name = Path("lab_group_3_101_555_autoencoders_mnist.ipynb")
    assert parse_submission_name(name).user_id == "3"  # what the rule alone says
    item = parse_submission_name(name, user_ids={"101", "102"})
    assert (item.name, item.user_id, item.attachment_id) == ("lab_group_3", "101", "555")


def test_a_student_named_anon_is_told_apart_by_the_gradebook():
    """Anonymity.generate_short_id makes 5-character ids; a user id may have 5 digits too."""
    name = Path("anon_12345_5001_lab.ipynb")
    assert parse_submission_name(name).anonymous_id == "12345"
    item = parse_submission_name(name, user_ids={"12345"})
    assert (item.name, item.user_id, item.anonymous_id) == ("anon", "12345", "")


def test_a_user_id_missing_from_the_gradebook_is_read_by_canvas_rule():
    item = parse_submission_name(Path("gonegil_999_5001_lab.ipynb"), user_ids={"101"})
    assert (item.name, item.user_id, item.attachment_id) == ("gonegil", "999", "5001")


def test_file_names_follow_canvas_sanitising_of_student_names():
    """content_zipper.rb#get_user_name and #sanitize_file_name (Ruby's [[:word:]])."""
    assert file_name_of("Doe, Jane") == "doejane"
    assert file_name_of("O'Neil-Smith, Ann Marie") == "oneilsmithannmarie"
    assert file_name_of('="=Eq, Al"') == "eqal"  # gradebook_exporter.rb#student_name
    assert file_name_of("Jose\u0301, Ana") == "jose\u0301ana"  # a combining mark stays
    assert file_name_of("lab_group_3") == "lab_group_3"


def test_names_canvas_did_not_make_are_refused():
    for name in ("notes.txt", "autoencoders_mnist.ipynb", "doejane_abc_def.ipynb"):
        assert parse_submission_name(Path(name)) is None


def test_one_attempt_a_notebook_wins_over_html_and_the_lab_name_over_others():
    paths = [
        Path(n)
        for n in (
            "doejane_101_900_autoencoders_mnist.html",  # the same attempt's HTML copy
            "doejane_101_901_autoencoders_mnist-1.ipynb",
            "roejohn_102_902_scratch.ipynb",
            "roejohn_102_903_autoencoders_mnist.ipynb",
            "poeed_103_904_autoencoders_mnist.html",  # HTML only
            "poeed_103_text.html",
        )
    ]
    rows, chosen = rows_and_latest(paths, "autoencoders_mnist.ipynb")
    assert sorted(i.path.name for i in chosen) == [
        "doejane_101_901_autoencoders_mnist-1.ipynb",
        "poeed_103_904_autoencoders_mnist.html",  # HTML only: graded if it is an export
        "roejohn_102_903_autoencoders_mnist.ipynb",
    ]
    by_file = {row.file: (row.status, row.reason) for row in rows}
    assert by_file == {
        "doejane_101_900_autoencoders_mnist.html": (
            "not a notebook",
            "kept for reading; autoencoders_mnist.ipynb was graded",
        ),
        "roejohn_102_902_scratch.ipynb": (
            "not graded",
            "the same submission holds autoencoders_mnist.ipynb, which was graded",
        ),
        "poeed_103_text.html": ("not a notebook", "a text entry, not an uploaded file"),
    }


# -------------------------------------------------------- lib/gradebook_importer.rb: the CSV


def test_gradebook_importer_columns_and_rows(tmp_path):
    gradebook = _gradebook(tmp_path)
    # Current Score (2026) and Unposted Final Score are totals, not assignments
    assert gradebook.assignment_columns() == ["HW 1 (11)", COLUMN]
    assert gradebook.assignment_column("autoencoders") == COLUMN
    assert gradebook.assignment_column("12") == COLUMN
    # the Points Possible and Manual Posting rows are not students
    assert list(gradebook.students()) == ["101", "102", "103", "104"]
    assert gradebook.cell("102", COLUMN) == "EX"


def test_gradebook_importer_last_first_and_semicolons(tmp_path):
    """row_has_student_headers? takes LastName, FirstName, ID; identify_delimiter takes ";"."""
    gradebook = _gradebook(
        tmp_path,
        "LastName,FirstName,ID,Section,Lab (12)\n    Points Possible,,,,45\nDoe,Jane,101,A,\n",
    )
    assert gradebook.id_column == 2 and gradebook.students()["101"]["Student"] == "Doe, Jane"
    semicolons = _gradebook(
        tmp_path,
        "Student;ID;SIS User ID;SIS Login ID;Section;Lab (12)\n"
        '    Points Possible;;;;;45,00\n"Doe, Jane";101;s1;jdoe;A;37,5\n',
        "semi.csv",
    )
    assert semicolons.delimiter == ";" and semicolons.cell("101", "Lab (12)") == "37,5"


def test_gradebook_errors_name_the_problem(tmp_path):
    gradebook = _gradebook(tmp_path)
    with pytest.raises(GradebookError, match="several columns"):
        gradebook.assignment_column(None)
    with pytest.raises(GradebookError, match=r"no assignment column.*HW 1 \(11\)"):
        gradebook.assignment_column("midterm")
    (tmp_path / "other.csv").write_text("name,score\nx,1\n")
    with pytest.raises(GradebookError, match="not a Canvas gradebook export"):
        read_gradebook(tmp_path / "other.csv")


def test_no_change_to_value_rules_decide_what_the_import_changes(tmp_path):
    """gradebook_importer.rb#no_change_to_value?: a blank over a grade clears it; EX is kept."""
    gradebook = _gradebook(tmp_path)
    scores = {"101": 38, "102": 30, "103": 35.5, "104": 12}
    changes = {c.user_id: c for c in plan_changes(gradebook, COLUMN, scores, previous={})}
    assert (changes["101"].new, changes["101"].kind) == ("38", "set")  # was empty
    assert (changes["102"].new, changes["102"].kind) == ("EX", "kept")  # excused stays
    assert (changes["103"].new, changes["103"].kind) == ("41", "kept")  # set by a person
    assert "set in Canvas" in changes["103"].why
    regrade = plan_changes(gradebook, COLUMN, scores, previous={"103": "41"})
    assert [(c.new, c.kind) for c in regrade if c.user_id == "103"] == [("35.5", "changed")]
    rules = ImportRules(replace_existing=True)
    forced = plan_changes(gradebook, COLUMN, scores, previous={}, rules=rules)
    assert [(c.new, c.kind) for c in forced if c.user_id == "103"] == [("35.5", "changed")]
    assert Change("1", "x", "41.00", "41", "").kind == "kept"  # same at 2 decimals
    assert Change("1", "x", "37,50", "37.5", "").kind == "kept"  # decimal_comma_to_period


def test_late_policy_scores_follow_late_policy_rb():
    """LatePolicy#points_deducted (intervals times deduction, at most down to the lowest grade),
    rounded as Submission#late_points_deducted, then #score_late_or_none."""
    policy = LatePolicy(late_deduction=10, late_lowest=50)
    assert policy.late_scores(45, 45) == {40.5, 36.0, 31.5, 27.0, 22.5}
    assert policy.late_scores(20, 45) == {20.0}  # already under the lowest grade
    assert LatePolicy(late_deduction=10).late_scores(38, 45) >= {33.5, 29.0, 0.0}
    assert LatePolicy().late_scores(45, 45) == set()  # no policy given: nothing is guessed
    assert LatePolicy(missing_grade=0).missing_score(45) == 0.0  # #points_for_missing
    assert LatePolicy(missing_grade=50).missing_score(45) == 22.5


def test_kept_cells_are_written_as_canvas_stores_them():
    """gradebook_importer.rb sets original_grade to submission.score.to_s (Ruby's Float#to_s);
    process_gradebook_upload.js sends a cell only when its text differs."""
    assert [stored_text(c) for c in ("41.00", "40.50", "37,5", "0.00", "EX", "", "N/A")] == [
        "41.0", "40.5", "37.5", "0.0", "EX", "", "N/A",
    ]  # fmt: skip


def test_import_read_back_with_canvas_matching_clears_nothing(tmp_path):
    """The import, read as Canvas does (ID, then SIS ids; assignment by its id): every old
    value is either kept or replaced by a number, and every change is listed."""
    gradebook = _gradebook(tmp_path)
    out = tmp_path / "grades"
    out.mkdir()
    changes = write_import(gradebook, COLUMN, {"101": 38, "103": 35.5}, out)
    assert summary_line(changes) == (
        "1 grades set, 0 changed, 0 cleared; 1 kept as set in Canvas, 0 excused kept"
    )
    text = (out / "gradebook_import.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN]
    assert rows[1][0].strip() == "Points Possible" and rows[2][-1] == "Manual Posting"
    imported = {row[1]: row[-1] for row in rows[3:]}
    assert imported == {"101": "38", "102": "EX", "103": "41.0", "104": ""}
    assert '"Moe, Al","104","s4","amoe","A",""' in text  # a quoted blank: Ruby reads "", not nil
    for user_id, record in gradebook.students().items():
        old, new = record[COLUMN], imported[user_id]
        assert new == old or Change("", "", old, new, "").kind in ("kept", "set"), user_id
    listed = list(csv.DictReader((out / "changes.csv").read_text().splitlines()))
    assert [(r["user_id"], r["change"]) for r in listed] == [
        ("101", "set"), ("102", "kept"), ("103", "kept"), ("104", "kept"),
    ]  # fmt: skip
    # the next run (the GSI imported the file, then exported again) may update 101's grade
    again = _gradebook(tmp_path, GRADEBOOK.replace("A,9,,90", "A,9,38,90"), "again.csv")
    later = write_import(again, COLUMN, {"101": 36}, out)
    assert [(c.old, c.new, c.kind) for c in later if c.user_id == "101"] == [
        ("38", "36", "changed")
    ]


def test_import_keeps_the_semicolon_delimiter(tmp_path):
    gradebook = _gradebook(
        tmp_path,
        "Student;ID;SIS User ID;SIS Login ID;Section;Lab (12)\n"
        '    Points Possible;;;;;45\n"Doe, Jane";101;s1;jdoe;A;\n',
    )
    out = tmp_path / "out"
    out.mkdir()
    write_import(gradebook, "Lab (12)", {"101": 37.5}, out)
    with open(out / "gradebook_import.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file, delimiter=";"))
    assert rows[-1] == ["Doe, Jane", "101", "s1", "jdoe", "A", "37.5"]


# ------------------------------- app/models/abstract_assignment.rb: Re-Upload Submissions names


def test_comment_files_match_canvas_upload_rule():
    """abstract_assignment.rb#infer_comment_context_from_filename: the first two all-digit
    `_` parts, or anon_<anonymous id>_<attachment id> for a name that starts with anon."""
    for name in ("Doe, Jane", "lab_group_3", "Ann-Marie O'Neil 2nd", "An On", ""):
        file = comment_file_name(name, "101", "5001", ".html")
        numbers = [part for part in file.split("_") if part.isdigit()][:2]
        assert numbers == ["101", "5001"] and not file.startswith("anon"), file
    assert comment_file_name("", "anon_aB3xZ", "5001", ".html") == "anon_aB3xZ_5001_feedback.html"


# ----------------------------------------------------------------------- submitted notebooks


def _notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    return notebook


def test_team_and_written_answers_are_read_without_running_code():
    code = nbformat.v4.new_code_cell

    def md(text, locked=False):
        cell = nbformat.v4.new_markdown_cell(text)
        if locked:
            cell.metadata.update(editable=False, deletable=False)
        return cell

    notebook = _notebook(
        code(
            'TEAM = [\n  {"name": "Jane Doe", "canvas_id": "101"},\n'
            '  {"name": "...", "canvas_id": "..."}]'
        ),
        md("<!-- BEGIN QUESTION -->\n\n### Problem 4", locked=True),
        md("**1)** What does the encoder do?\n\n_Points:_ 1", locked=True),
        md("It compresses the image."),
        md("<!-- END QUESTION -->\n\n<!-- BEGIN QUESTION -->\n\n**2)** Why?\n\n_Points:_ 2", True),
        md("_Type your answer here, replacing this text._"),
        md("<!-- END QUESTION -->\n\nMore text", locked=True),
    )
    assert read_team(notebook) == [{"name": "Jane Doe", "canvas_id": "101"}]
    answers = read_written_answers(notebook)
    assert [(a.prompt, a.points, a.answer) for a in answers] == [
        ("### Problem 4\n\n**1)** What does the encoder do?", "1", "It compresses the image."),
        ("**2)** Why?", "2", ""),
    ]
    assert read_team(_notebook(code("TEAM = [{'name': undefined}]"))) == []


def test_submitted_files_become_notebooks_or_a_reason(tmp_path):
    good = nbformat.writes(_notebook(nbformat.v4.new_code_cell("x = 1")))
    (tmp_path / "a.ipynb").write_text(good)
    assert (
        read_notebook(notebook_bytes(tmp_path / "a.ipynb", "lab.ipynb")).cells[0].source == "x = 1"
    )
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("other.ipynb", "{}")
        archive.writestr("lab.ipynb", good)
    assert notebook_bytes(tmp_path / "export.zip", "lab.ipynb") == good.encode()
    cases = {
        "page.html": ("not a notebook", "a .html file"),  # see test_html_export.py
        "broken.zip": ("unreadable", "not a valid zip"),
        "broken.ipynb": ("unreadable", "not a valid notebook"),
        "report.pdf": ("not a notebook", ".pdf"),
    }
    for name, (status, reason) in cases.items():
        (tmp_path / name).write_text('{"cells": [')
        with pytest.raises(NotGradableError) as caught:
            read_notebook(notebook_bytes(tmp_path / name, "lab.ipynb"))
        assert caught.value.status == status and reason in caught.value.reason, name


def _graded(user_id, total, team=()):
    row = Row(file=f"{user_id}.ipynb", user_id=user_id, status=GRADED)
    row.scores = {"q1": total}
    row.team = [{"name": f"p{p}", "canvas_id": p} for p in team]
    return row


def test_team_scores_go_to_partners_and_conflicts_are_not_guessed():
    rows = [
        _graded("1", 30, team=("1", "2")),  # 2 did not submit: gets 30
        _graded("3", 20, team=("3", "5")),  # 5 is named twice: the best claim, listed
        _graded("4", 10, team=("4", "5", "9")),  # 9 is not in the gradebook
        _graded("6", 25, team=("6", "7")),  # 6 and 7 both submitted: each keeps their own
        _graded("7", 15, team=("7", "6")),
    ]
    students = {str(i): {} for i in range(1, 9)}
    scores, conflicts = credit_teams(rows, students)
    assert scores == {"1": 30, "2": 30, "3": 20, "4": 10, "5": 20, "6": 25, "7": 15}
    assert rows[0].credited == ["1", "2"] and rows[1].credited == ["3", "5"]
    assert (
        "5 is named by 2 submissions (3.ipynb (20), 4.ipynb (10)): credited the best "
        "claimed score, 20" in conflicts
    )
    assert any(c.startswith("6 submitted and is also named") for c in conflicts)
    assert "partner id 9 is not in the gradebook" in rows[2].reason
    assert "conflict: partner 5" in rows[1].reason


def test_assignment_grade_student_gives_a_group_one_value(tmp_path):
    """Assignment#grade_student: one member's grade is the group's, so members get one value."""
    from aelab.grading.credit import credit_groups, read_groups

    path = tmp_path / "groups.csv"
    path.write_text(
        "name,canvas_user_id,user_id,login_id,sections,group_name,canvas_group_id,group_id\n"
        '"Doe, Jane",101,s1,jdoe,A,lab_group_3,77,\n"Roe, John",102,s2,jroe,A,lab_group_3,77,\n'
        '"Poe, Ed",103,s3,epoe,A,lab_group_4,78,\n"Moe, Al",104,s4,amoe,A,lab_group_4,78,\n'
    )
    groups = read_groups(path)
    assert groups == {"lab_group_3": ["101", "102"], "lab_group_4": ["103", "104"]}
    rows = [_graded("101", 30), _graded("103", 20), _graded("104", 25)]
    scores = {"101": 30, "103": 20, "104": 25}
    conflicts = credit_groups(scores, groups, rows)
    assert scores == {"101": 30, "102": 30}  # group 4's two submissions disagree: no score
    assert rows[0].credited == ["101", "102"]
    assert conflicts == [
        "group 'lab_group_4': members' scores differ (103: 20, 104: 25): no score given"
    ]
    with pytest.raises(ValueError, match="groups export"):
        (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
        read_groups(tmp_path / "bad.csv")


def test_grade_command_explains_missing_or_wrong_inputs(tmp_path, capsys):
    from aelab.cli import main

    autograder, download = tmp_path / "autograder.zip", tmp_path / "submissions.zip"
    args = ["grade", str(download), "--autograder", str(autograder), "--out", str(tmp_path)]
    assert main(args) == 1
    assert "run `aelab build` first" in capsys.readouterr().err
    autograder.write_bytes(b"")
    assert main(args) == 1
    assert "No submissions at" in capsys.readouterr().err
    download.write_bytes(b"not a zip")
    assert main(args) == 1
    assert "neither a folder nor a zip file" in capsys.readouterr().err
    download.unlink()
    download.mkdir()
    (tmp_path / "grades.csv").write_text("name,score\n")
    assert main([*args, "--gradebook", str(tmp_path / "grades.csv")]) == 1
    assert "not a Canvas gradebook export" in capsys.readouterr().err
    assert main(args) == 1
    assert "not an autograder" in capsys.readouterr().err
