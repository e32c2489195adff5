"""Every page kind escapes every text field; a template that lacks a value fails (fast)."""

import json
import re
import sys
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape

from aelab import pages
from aelab.grading.collect import Row
from aelab.grading.outputs import WrittenPart, write_feedback
from aelab.grading.written import WrittenQuestion, feedback_section, write_pages
from aelab.report.class_report import write_report
from aelab.submissions import WrittenAnswer

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "aelab"
# markup, an attribute break-out, template syntax and a quote of each kind (no "$": matplotlib
# would read a pair of them in a question name as mathematics)
X = """<script>alert('x')</script>"><img src=x onerror=alert(1)>{{ 6*7 }}{% if %}&amp;"""
CODE = "def train(model):\n" + "".join(f"    step_{i} = model.fit({i}, '{X}')\n" for i in range(30))


def _hostile_rows() -> list[Row]:
    tests = [
        {"question": f"q1{X}", "name": f"t{n}{X}", "passed": n == 0, "hidden": n == 1,
         "points": 1.0, "message": f"expected {X}"}
        for n in range(3)
    ]  # fmt: skip
    graded = Row(
        file=f"a{X}.ipynb", student=f"Doe{X}", user_id="101", attachment_id="1", late=True,
        status="graded", reason=f"r{X}", team=[{"name": f"Roe{X}", "canvas_id": f"102{X}"}],
        scores={f"q1{X}": 1.0}, max_scores={f"q1{X}": 3.0}, tests=tests, seconds=3.0,
        phases={f"run{X}": 3.0}, credited=["101", "102"], code=CODE,
        answers=[WrittenAnswer(f"w1{X}", "1", f"*md* {X}"), WrittenAnswer(f"w2{X}", "1", X, True)],
    )  # fmt: skip
    other = Row(file=f"b{X}.txt", student=f"Doe{X}", user_id="101", attachment_id="2",
                status="not a notebook", reason=f"why{X}")  # fmt: skip
    copy = Row(file=f"c{X}.ipynb", student=f"Poe{X}", user_id="103", attachment_id="3",
               status="graded", scores={f"q1{X}": 0.0}, max_scores={f"q1{X}": 3.0},
               tests=tests, seconds=2.0, credited=["103"], code=CODE)  # fmt: skip
    failed = Row(file=f"d{X}.ipynb", student=f"Zed{X}", user_id="104", attachment_id="4",
                 status=f"errored{X}", reason=f"raised {X}")  # fmt: skip
    return [graded, other, copy, failed]


def _assert_inert(text: str) -> None:
    assert str(escape(X)) in text  # the field reached the page, escaped
    assert X not in text
    assert "<script" not in text and "<img src=x" not in text


def test_every_text_field_of_every_page_is_escaped(tmp_path):
    rows = _hostile_rows()
    questions = [WrittenQuestion("w1", f"w1{X}", 1.0, f"ref{X}"),
                 WrittenQuestion("w2", f"w2{X}", 1.0, f"ref{X}")]  # fmt: skip
    scores = {("101", "w1"): (1.0, f"comment{X}")}

    def written(row):
        return WrittenPart(feedback_section(row, questions, scores), None, 2.0)

    write_feedback(rows, {"101": {"Student": f"Doe{X}"}}, tmp_path / "feedback", f"Lab{X}", written)
    write_pages(tmp_path / "written", rows, questions, f"Lab{X}")
    record = {
        "title": f"Lab{X}",
        "questions": {f"q1{X}": 3.0},
        "written_questions": {"w1": 1.0, "w2": 1.0},
        "tests": [
            {"key": f"q1{X}/t{n}{X}", "question": f"q1{X}", "points": 1.0, "hidden": False}
            for n in range(3)
        ],
        "scaffold": [],
        "rows": [{**vars(r), "answers": [], "written": None} for r in rows],
    }
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "rows.json").write_text(json.dumps(record))
    write_report(tmp_path / "report")
    made = sorted(tmp_path.rglob("*.html"))
    assert [p.parent.name for p in made].count("feedback") == 4 and len(made) == 7
    for path in made:
        _assert_inert(path.read_text())
    report = (tmp_path / "report" / "report.html").read_text()
    assert "<mark>" in report  # the two copies, side by side: their code escaped, not dropped
    (feedback,) = (tmp_path / "feedback").glob("*_101.html")
    assert "<em>md</em>" in feedback.read_text()  # Markdown still renders


def test_a_missing_value_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError, match="title"):
        pages.render("base.html")
    with pytest.raises(jinja2.UndefinedError, match="question"):
        pages.render("written.html", title="t", prompt="p", reference="r", count=0, groups=[])
    assert pages.render("base.html", title="t").count("<h1>t</h1>") == 1


def test_html_is_taken_as_it_is_in_one_place_only():
    marked = [p.relative_to(SOURCE) for p in SOURCE.rglob("*.py")
              if re.search(r"Markup\([^)]", p.read_text())]  # fmt: skip
    assert marked == [Path("pages.py")]
    for template in (SOURCE / "templates").iterdir():
        assert not re.search(r"\|\s*safe|autoescape", template.read_text()), template


def test_the_templates_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["aelab"]
    templates = sorted((SOURCE / "templates").iterdir())
    assert templates and all(any(t.match(g) for g in globs) for t in templates)
