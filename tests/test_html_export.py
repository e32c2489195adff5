"""Notebooks rebuilt from their HTML exports: real pages of the installed nbconvert, both templates.

The fast tier: every code cell of the master (the solution's code and its tests) and of every
known mistake comes back byte for byte; tricky sources come back as Python reads them; the
written answers are those a notebook gives; hostile and foreign pages are refused with a
reason. Grading them beside their notebooks is ``test_html_grading.py`` (slow).
"""

import base64
import time
from pathlib import Path

import nbformat
import pytest
from html_pages import TEMPLATES, code_sources, export
from lab_env import MASTER
from student_work import MISTAKES

import aelab.html_export as html_export
from aelab.grading.collect import rows_and_latest
from aelab.grading.written import WrittenQuestion, write_pages, write_sheet
from aelab.html_export import read_html_export, sanitised
from aelab.master import written_questions
from aelab.record import GRADED, Row
from aelab.submissions import NotGradableError, read_written_answers

v4 = nbformat.v4
PNG = base64.b64encode(bytes(range(256)) * 64).decode()  # an output image's size, not its look


def with_outputs(notebook):
    """Every code cell with what running it shows: text with ``<pre>`` in it, HTML, a figure."""
    for count, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [
            v4.new_output("stream", text=f"<pre>epoch {count}</pre> loss &lt; 0.1\n</pre>"),
            v4.new_output("display_data", data={"text/html": "<pre>table</pre><div>open"}),
            v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        ]
    return notebook


def master_and_mistakes():
    """The master's cells, raw cells too, then each known mistake as a cell of its own."""
    notebook = nbformat.read(MASTER, as_version=4)
    for mistake in MISTAKES:
        code = (c.source for c in notebook.cells if c.cell_type == "code")
        source = next(source for source in code if mistake.matches(source))
        notebook.cells.append(v4.new_code_cell(mistake.apply(source)))
    return notebook


@pytest.mark.parametrize("outputs", [False, True], ids=["no-outputs", "outputs"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_code_cell_of_the_master_and_of_every_mistake_comes_back_byte_for_byte(
    tmp_path, template, outputs
):
    notebook = master_and_mistakes()
    notebook = with_outputs(notebook) if outputs else notebook
    rebuilt = read_html_export(export(notebook, tmp_path, template)).notebook
    original = code_sources(notebook)
    master = nbformat.read(MASTER, as_version=4)
    assert len(original) == sum(c.cell_type == "code" for c in master.cells) + len(MISTAKES)
    assert code_sources(rebuilt) == original  # in order, every character
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert sum(c.cell_type == "markdown" for c in rebuilt.cells) == len(markdown)
    assert [c.metadata.get("tags", []) for c in rebuilt.cells if c.cell_type == "code"] == [
        c.metadata.get("tags", []) for c in notebook.cells if c.cell_type == "code"
    ]  # otter_ignore among them: the grader skips the same cells
    assert [c.id for c in rebuilt.cells] == [c.id for c in notebook.cells if c.cell_type != "raw"]


TRICKY = {
    "tabs": "\tif True:\n\t\ty = 'tab'",
    "non-ASCII": "s = 'héllo ∑ 漢字 🎉'  # ünïcödé\u00a0nbsp\u2028",
    "HTML in code": "page = '<script>alert(1)</script><!-- c --><![CDATA[x]]>'",
    "closes the pre early": 'x = "</pre></div></div><div class=\\"jp-Cell jp-CodeCell\\">'
    '<div class=\\"input_area\\"><pre>evil()</pre>"',
    "entities": "s = '&amp; &lt; &nbsp; &#39; \"q\"'",
    "magics": "%matplotlib inline\n!ls -l\nx = 1",
    "trailing spaces": "x = 1   \n    y = 2   ",
    "blank lines inside": "x = '''\n\n\n'''\n\n\ny = 1",
    "markers in code": "# <!-- BEGIN QUESTION -->\n# </html>",
    "form feed": "\x0cx = 1",
}
# What nbconvert's Pygments drops, none of which changes what Python runs
NORMALISED = {
    "x = 1\n": "x = 1",  # blank lines before and after
    "\n\nx = 1\n\n\n": "x = 1",
    "a = 1\r\nb = 2\rc = 3": "a = 1\nb = 2\nc = 3",  # Python reads \r and \r\n as \n too
    "": "",  # shown as one space
    "   ": "   ",
}


@pytest.mark.parametrize("lexer", ["ipython3", "python"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_tricky_sources_come_back_as_python_reads_them(tmp_path, template, lexer):
    sources = [*TRICKY.values(), *NORMALISED]
    notebook = with_outputs(v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources]))
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": lexer}
    rebuilt = read_html_export(export(notebook, tmp_path, template)).notebook
    assert code_sources(rebuilt) == [*TRICKY.values(), *NORMALISED.values()]


def handout(answers: dict[str, str]):
    """Cells as otter lays out the master's written questions: a locked prompt (its points at
    the end), an answer cell, the next question's marks in the next prompt."""
    cells, end = [v4.new_code_cell("x = 1")], ""
    for question in written_questions(nbformat.read(MASTER, as_version=4)):
        prompt = f"{end}<!-- BEGIN QUESTION -->\n\n{question['prompt']}\n\n_Points:_ "
        cells.append(v4.new_markdown_cell(prompt + f"{question['points']:g}"))
        cells[-1].metadata.update(editable=False, deletable=False)
        text = answers.get(question["name"], "_Type your answer here, replacing this text._")
        cells.append(v4.new_markdown_cell(text, metadata={"tags": ["otter_answer_cell"]}))
        end = "<!-- END QUESTION -->\n\n"
    cells.append(v4.new_markdown_cell(end + "## Submission"))
    return v4.new_notebook(cells=cells)


ANSWERS = {
    "q4a": "The encoder **compresses** each image into 2 numbers.",
    "q7": "A VAE can *generate*:\n\n- new digits\n- smooth paths",
    "q11_written": "Mostly <b>yes</b> <script>alert(1)</script> "
    '<img src="https://tracker.example/x.png" onerror="alert(2)"> [link](https://example.com)',
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_written_answers_are_those_the_notebook_gives_with_their_html_sanitised(tmp_path, template):
    notebook = handout(ANSWERS)
    notebook.cells.insert(3, v4.new_markdown_cell("A cell the student added: **more**."))
    questions = [WrittenQuestion(**q) for q in written_questions(nbformat.read(MASTER, 4))]
    page = export(notebook, tmp_path, template)
    from_html = read_html_export(page, questions).answers
    from_notebook = read_written_answers(notebook)
    assert (
        [(a.prompt, a.points) for a in from_html]
        == [(q.prompt, f"{q.points:g}") for q in questions]
        == [(a.prompt, a.points) for a in from_notebook]
    )
    assert all(a.html for a in from_html) and not any(a.html for a in from_notebook)
    q4a, q4b, _, q7, _, q11 = from_html
    assert q4a.answer == (
        "<p>The encoder <strong>compresses</strong> each image into 2 numbers.</p>\n"
        "<p>A cell the student added: <strong>more</strong>.</p>"
    )
    assert q4b.answer == ""  # the placeholder is no answer
    assert q7.answer == (
        "<p>A VAE can <em>generate</em>:</p>\n"
        "<ul>\n<li>new digits</li>\n<li>smooth paths</li>\n</ul>"
    )
    assert q11.answer == "<p>Mostly <b>yes</b>  <em>[image not shown]</em> link</p>"

    rows = []
    for number, answers in enumerate((from_notebook, from_html)):
        rows.append(Row(file=f"{number}", student=f"s{number}", user_id=f"{number}", status=GRADED))
        rows[-1].answers = answers
    write_pages(tmp_path / "written", rows, questions, "Lab")
    q4a_page = (tmp_path / "written" / "q4a.html").read_text()
    assert "2 identical answers" in q4a_page  # the same answer, whichever file it came from
    q11_page = (tmp_path / "written" / "q11_written.html").read_text()
    from_notebook_part, from_html_part = q11_page.split("<strong>s1 (1)</strong>")
    assert "&lt;b&gt;yes&lt;/b&gt; &lt;script&gt;" in from_notebook_part  # its HTML escaped
    assert "Mostly <b>yes</b>  <em>[image not shown]</em> link</p>" in from_html_part
    for unsafe in ("<script", "<img", "onerror", "tracker.example", "href="):
        assert unsafe not in from_html_part, unsafe
    write_sheet(tmp_path / "manual_scores.csv", rows, questions, {})
    sheet = (tmp_path / "manual_scores.csv").read_text()
    assert "<p>Mostly <b>yes</b>  <em>[image not shown]</em> link</p>" in sheet


def test_the_sanitiser_keeps_text_and_allowed_tags_only():
    hostile = (
        '<div onclick="x()" style="background:url(https://x)"><script>alert(1)</script>'
        "<style>*{}</style><iframe src=//x></iframe>ok <b>bold</b> 1 &lt; 2 <em>unclosed"
        '<a href="javascript:alert(3)">text</a><svg><script>y()</script></svg></p></span>'
    )
    assert sanitised(hostile) == "<div>ok <b>bold</b> 1 &lt; 2 <em>unclosedtext</em></div>"
    assert sanitised("a\x00b\x1bc\udfff") == "a\ufffdb\ufffdc\ufffd"  # aelab.text.clean
    assert sanitised(sanitised(hostile)) == sanitised(hostile)
    assert sanitised("<b>" * 10_000 + "deep").endswith("deep" + "</b>" * 256)


def test_tags_ids_and_the_template_are_read(tmp_path):
    notebook = v4.new_notebook(cells=[
        v4.new_code_cell("import otter", metadata={"tags": ["otter_ignore", "setup"]}),
        v4.new_markdown_cell("*hi*", metadata={"tags": ["otter_answer_cell"]}),
    ])  # fmt: skip
    for template in TEMPLATES:
        rebuilt = read_html_export(export(notebook, tmp_path, template))
        assert rebuilt.template == template
        assert [(c.id, c.metadata.get("tags")) for c in rebuilt.notebook.cells] == [
            (c.id, c.metadata["tags"]) for c in notebook.cells
        ]
        assert rebuilt.notebook.cells[1].source == "<p><em>hi</em></p>"
        assert rebuilt.data == read_html_export(export(notebook, tmp_path, template)).data
    notebook.cells.append(v4.new_code_cell("y = 2"))
    first, second, third = (f'id="cell-id={c.id}"' for c in notebook.cells)
    page = export(notebook, tmp_path, "lab")  # then a cell without its id, one with another's
    page.write_text(page.read_text().replace(first, "").replace(third, second))
    rebuilt = read_html_export(page).notebook
    assert [c.id for c in rebuilt.cells] == ["html-000", notebook.cells[1].id, "html-002"]


def test_the_note_says_where_the_notebook_came_from(tmp_path):
    notebook = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), v4.new_code_cell("y = ...")])
    note = read_html_export(export(notebook, tmp_path, "lab")).note("lab1", ["x = 1", "z = 2"])
    assert note == (
        "rebuilt from an HTML export (lab template), graded as 'lab1': an HTML page names no "
        "assignment; 1 of the 2 code cells handed out are in it unchanged"
    )


# ------------------------------------------------------------------ refused, with a reason


def refusal(path: Path) -> tuple[str, str]:
    with pytest.raises(NotGradableError) as refused:
        read_html_export(path)
    return refused.value.status, refused.value.reason


def test_a_200_mb_page_is_refused_unread(tmp_path):
    huge = tmp_path / "huge.html"
    with open(huge, "wb") as file:
        file.truncate(200 * 2**20)  # sparse: no disk used
    started = time.perf_counter()
    assert refusal(huge) == (
        "unreadable",
        "an HTML page of 200 MB, over the 64 MB an export of this lab can be: not read; "
        "kept for manual grading",
    )
    assert time.perf_counter() - started < 1


def test_a_deeply_nested_page_is_refused(tmp_path):
    deep = v4.new_markdown_cell("<div>" * 5000)
    notebook = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), deep])
    for template in TEMPLATES:
        status, reason = refusal(export(notebook, tmp_path, template))
        assert (status, reason) == (
            "unreadable",
            "the HTML page nests elements over 256 deep: not read; kept for manual grading",
        )
    (tmp_path / "bare.html").write_text("<span>" * 1_000_000)
    assert refusal(tmp_path / "bare.html")[1].startswith("the HTML page nests elements over 256")


def test_a_page_too_slow_to_read_is_refused(tmp_path, monkeypatch):
    """The standard tokenizer is slow on some malformed input (here about 1 MB/s): the
    deadline stops it, between chunks and in every callback."""
    monkeypatch.setattr(html_export, "SECONDS", 0.5)
    (tmp_path / "slow.html").write_text("< " * 8 * 2**20)
    started = time.perf_counter()
    assert refusal(tmp_path / "slow.html") == (
        "unreadable",
        "reading the HTML page took over 0.5 s: not read; kept for manual grading",
    )
    assert time.perf_counter() - started < 3


def test_scripts_in_a_page_make_no_cells_and_no_answers(tmp_path):
    notebook = handout({"q4a": "<script>document.write('<div class=\"jp-Cell jp-CodeCell\">')"
                               "</script>Fine."})  # fmt: skip
    page = export(notebook, tmp_path, "lab")
    injected = page.read_text().replace(
        "<body", '<script>var fake = \'<div class="jp-Cell jp-CodeCell"><pre>evil()</pre>\';'
        "</script><body", 1,
    )  # fmt: skip
    page.write_text(injected)
    questions = [WrittenQuestion(**q) for q in written_questions(nbformat.read(MASTER, 4))]
    rebuilt = read_html_export(page, questions)
    assert code_sources(rebuilt.notebook) == ["x = 1"]
    assert rebuilt.answers[0].answer == "Fine."  # Markdown's HTML block: no <p>


@pytest.mark.parametrize(
    ("content", "status", "reason"),
    [
        (b"<html><body>answers</body></html>", "not a notebook",
         "HTML only, and not a notebook exported by Jupyter (no notebook cells in it): kept "
         "for manual grading"),
        # JupyterLab's page as a browser saves it: cells, but CodeMirror lines, no <pre>
        (b'<body><div class="jp-Cell jp-CodeCell"><div class="cm-content"><div class="cm-line">'
         b"x = 1</div></div></div></body>", "not a notebook",
         "an HTML page whose 1 code cells show no source as nbconvert writes it (a browser's "
         '"Save page as", or an export without input?): kept for manual grading'),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not a notebook",
         "a PDF named .html: kept for manual grading"),
        (b"<html>\xff\xfe caf\xe9</html>", "not a notebook",
         "HTML only, and not UTF-8 text as nbconvert writes (invalid start byte at byte 6): "
         "kept for manual grading"),
    ],
)  # fmt: skip
def test_pages_that_are_not_exports_are_refused_with_a_reason(tmp_path, content, status, reason):
    (tmp_path / "page.html").write_bytes(content)
    assert refusal(tmp_path / "page.html") == (status, reason)


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_export_without_its_code_is_refused(tmp_path, template):
    notebook = v4.new_notebook(cells=[v4.new_code_cell("x = 1"), v4.new_code_cell("y = 2")])
    status, reason = refusal(export(notebook, tmp_path, template, exclude_input=True))
    assert status == "not a notebook" and "2 code cells show no source" in reason


# ------------------------------------------------------------- which file of an attempt


def test_html_is_graded_when_the_attempt_holds_no_notebook():
    names = [
        "doejane_101_900_autoencoders_mnist.html",  # beside her notebook: kept for reading
        "doejane_101_901_autoencoders_mnist.ipynb",
        "roejohn_102_902_notes.html",
        "roejohn_102_903_autoencoders_mnist.html",  # the lab's name wins
        "roejohn_102_904_report.pdf",
        "poeed_103_905_autoencoders_mnist.htm",
    ]
    rows, chosen = rows_and_latest([Path(n) for n in names], "autoencoders_mnist.ipynb")
    assert sorted(item.path.name for item in chosen) == [
        "doejane_101_901_autoencoders_mnist.ipynb",
        "poeed_103_905_autoencoders_mnist.htm",
        "roejohn_102_903_autoencoders_mnist.html",
    ]
    assert {row.file: (row.status, row.reason) for row in rows} == {
        "doejane_101_900_autoencoders_mnist.html": (
            "not a notebook", "kept for reading; autoencoders_mnist.ipynb was graded"),
        "roejohn_102_902_notes.html": (
            "not graded", "the same submission holds autoencoders_mnist.html, which was graded"),
        "roejohn_102_904_report.pdf": (
            "not a notebook", "kept for reading; autoencoders_mnist.html was graded"),
    }  # fmt: skip
