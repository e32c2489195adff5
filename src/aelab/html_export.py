"""A notebook rebuilt from its HTML export, for grading: the course's own submission format.

``jupyter nbconvert --to html`` (JupyterLab's and Notebook's "Save and Export Notebook As →
HTML", VS Code's export) writes each code cell's source in a ``<pre>`` in the cell's input
area, highlighted by Pygments and HTML-escaped: joined up and unescaped, it is the source
again. Pygments drops blank lines before and after the code, turns carriage returns into
newlines and shows an empty cell as one space, none of which changes what Python runs; the
page itself holds control characters other than tab, newline and form feed as ``?``
(nbconvert's ``clean_html``), which only a string literal typed with such a raw character
would notice.
Both of nbconvert's page templates are read: ``lab`` (``jp-Cell`` …) and ``classic``.

Markdown cells are in the page only as rendered HTML. It is kept sanitised (an allow-list
of tags, no attribute at all: no script, handler, style or remote image survives), and the
written answers are found in it the way :func:`aelab.submissions.read_written_answers`
finds them in a notebook: between otter's ``BEGIN``/``END QUESTION`` comments, which the
page keeps. The page does not keep which cells were locked, so a question's prompt is
recognised by its words, which the autograder holds; every other cell of the question is
the answer.

The page is untrusted. It is read by the standard library's HTML tokenizer (no regular
expression looks at it), a chunk at a time against a deadline, never deeper than
``MAX_DEPTH`` elements, and refused above ``MAX_BYTES``. Nothing in it runs.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import NoReturn, Protocol

import nbformat
from nbconvert.filters import markdown2html

from aelab.submissions import ANSWER_PLACEHOLDER, NotGradableError, WrittenAnswer
from aelab.text import clean

HTML_SUFFIXES = (".html", ".htm")
MAX_BYTES = 64 * 2**20  # an export with every figure of this lab is under 2 MB
MAX_DEPTH = 256  # nbconvert's pages nest about 12 deep; Markdown adds a few
SECONDS = 20.0  # reading a 2 MB export takes about 0.2 s
_CHUNK = 2**20  # fed at a time: the deadline is checked between chunks and in every callback
BEGIN, END = "BEGIN QUESTION", "END QUESTION"
ANSWER_TAG = "otter_answer_cell"
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}  # fmt: skip
_CELL_KINDS = {"jp-CodeCell": "code", "jp-MarkdownCell": "markdown",  # lab
               "code_cell": "code", "text_cell": "markdown"}  # classic  # fmt: skip
_INPUT_AREAS = {"jp-InputArea-editor", "input_area"}
_RENDERED_MARKDOWN = {"jp-RenderedMarkdown", "text_cell_render"}


class Question(Protocol):
    """A written question as the autograder holds it (``aelab.grading.written``)."""

    prompt: str
    points: float


@dataclass
class HtmlExport:
    """What an export page gave back: the notebook to grade and the written answers."""

    notebook: nbformat.NotebookNode
    answers: list[WrittenAnswer]
    template: str  # nbconvert's template: "lab" or "classic"

    @property
    def data(self) -> bytes:
        """The rebuilt notebook as JSON (the same page gives the same bytes)."""
        return nbformat.writes(self.notebook).encode()

    def note(self, assignment: str | None, scaffold: Sequence[str]) -> str:
        """Where the notebook came from, and how much of the handout it holds, for its row."""
        given = {cell.strip() for cell in scaffold}
        code = {cell.source.strip() for cell in self.notebook.cells if cell.cell_type == "code"}
        return (
            f"rebuilt from an HTML export ({self.template} template), graded as {assignment!r}: "
            f"an HTML page names no assignment; {len(given & code)} of the {len(given)} code "
            "cells handed out are in it unchanged"
        )


def read_html_export(path: Path, questions: Sequence[Question] = ()) -> HtmlExport:
    """The notebook an nbconvert HTML export shows, and its written answers.

    Raises :class:`NotGradableError` for a page too large, too deep or too slow to read, and
    for HTML that is not such an export (a browser's "Save page as", a renamed PDF).
    """
    size = path.stat().st_size
    if size > MAX_BYTES:
        _refuse(f"an HTML page of {size / 2**20:.0f} MB, over the {MAX_BYTES / 2**20:.0f} MB "
                "an export of this lab can be")  # fmt: skip
    page = _page_text(path.read_bytes())
    cells, template = _read_cells(page)
    notebook = nbformat.v4.new_notebook(
        cells=[_notebook_cell(c, i) for c, i in zip(cells, _cell_ids(cells), strict=True)],
        metadata={"language_info": {"name": "python"}},
    )
    return HtmlExport(notebook, _written_answers(cells, questions), template)


def sanitised(fragment: str) -> str:
    """``fragment`` (HTML) with only allow-listed tags, no attributes, and all text escaped."""
    return _read_fragment(fragment).html()


# ----------------------------------------------------------------------- sanitised HTML

_ALLOWED = {
    "p", "br", "hr", "div", "span", "strong", "b", "em", "i", "u", "s", "del", "ins", "mark",
    "small", "sub", "sup", "code", "kbd", "pre", "blockquote", "ul", "ol", "li", "dl", "dt",
    "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_DROPPED_WITH_CONTENT = {
    "script", "style", "template", "iframe", "object", "embed", "svg", "math", "noscript",
    "head", "title", "textarea", "select", "button", "form", "audio", "video", "canvas",
}  # fmt: skip


class _SafeHtml:
    """HTML rebuilt from a stream of tags: allow-listed tags without attributes only.

    Text is escaped, every element closed, an image named but not shown; the content of
    scripts, styles, frames and forms is left out.
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self.words: list[str] = []  # the text, for matching prompts
        self.open: list[str] = []
        self.dropping: list[str] = []  # elements whose content is left out

    def start(self, tag: str) -> None:
        if self.dropping or tag in _DROPPED_WITH_CONTENT:
            if tag not in _VOID and len(self.dropping) < MAX_DEPTH:
                self.dropping.append(tag)
        elif tag == "img":
            self.out.append("<em>[image not shown]</em>")
        elif tag in _ALLOWED and len(self.open) < MAX_DEPTH:
            self.out.append(f"<{tag}>")
            if tag not in _VOID:
                self.open.append(tag)

    def end(self, tag: str) -> None:
        if self.dropping:
            if tag in self.dropping:
                del self.dropping[self.dropping.index(tag) :]
        elif tag in self.open:
            while self.open:
                closed = self.open.pop()
                self.out.append(f"</{closed}>")
                if closed == tag:
                    break

    def text(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(clean(data), quote=False))  # no control characters
            self.words += _words(data)

    def html(self) -> str:
        """What was kept, every element still open closed."""
        return ("".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))).strip()


def _read_fragment(fragment: str) -> _SafeHtml:
    reader = _FragmentReader()
    reader.feed(fragment)
    reader.close()
    return reader.safe


class _FragmentReader(HTMLParser):
    """Feeds a fragment's tags and text into one :class:`_SafeHtml`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.safe = _SafeHtml()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.safe.start(tag)

    def handle_endtag(self, tag: str) -> None:
        self.safe.end(tag)

    def handle_data(self, data: str) -> None:
        self.safe.text(data)


def _words(text: str) -> list[str]:
    """Lower-case words: what a prompt and its rendering have in common."""
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


# ----------------------------------------------------------------------------- the page


def _page_text(data: bytes) -> str:
    """The page as text, newlines normalised as an HTML parser's input stream does."""
    if data.startswith(b"%PDF"):
        raise NotGradableError("not a notebook", "a PDF named .html: kept for manual grading")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotGradableError(
            "not a notebook",
            f"HTML only, and not UTF-8 text as nbconvert writes ({error.reason} at byte "
            f"{error.start}): kept for manual grading",
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _refuse(why: str) -> NoReturn:
    raise NotGradableError("unreadable", f"{why}: not read; kept for manual grading")


@dataclass
class _Part:
    """A stretch of a Markdown cell's rendered HTML, after one of otter's marks (or none)."""

    mark: str
    safe: _SafeHtml = field(default_factory=_SafeHtml)


@dataclass
class _Cell:
    """A cell as the page shows it."""

    kind: str  # "code" or "markdown"
    id: str
    tags: list[str]
    code: list[str] | None = None  # code: the text of its input's <pre>, once found
    parts: list[_Part] = field(default_factory=list)  # markdown: its rendered HTML

    @property
    def source(self) -> str:
        """The code as written: Pygments' closing newline off; its one space for "" undone."""
        text = "".join(self.code or [])
        text = text[:-1] if text.endswith("\n") else text
        return "" if text == " " else text


def _read_cells(page: str) -> tuple[list[_Cell], str]:
    """The cells of an export page, and its template; :class:`NotGradableError` otherwise."""
    reader = _ExportReader(time.monotonic() + SECONDS)
    for start in range(0, len(page), _CHUNK):
        reader.check_time()
        reader.feed(page[start : start + _CHUNK])
    # never close(): what is left unparsed at the end (after </html>) holds no cell, and
    # closing would make the tokenizer read a malformed rest slowly, past any deadline
    if not reader.cells:
        raise NotGradableError(
            "not a notebook",
            "HTML only, and not a notebook exported by Jupyter (no notebook cells in it): "
            "kept for manual grading",
        )
    blind = [n for n, c in enumerate(reader.cells) if c.kind == "code" and c.code is None]
    if blind:
        raise NotGradableError(
            "not a notebook",
            f"an HTML page whose {len(blind)} code cells show no source as nbconvert writes it "
            '(a browser\'s "Save page as", or an export without input?): kept for manual grading',
        )
    return reader.cells, "lab" if reader.lab else "classic"


class _ExportReader(HTMLParser):
    """Cells out of nbconvert's markup, read as a stream of tags.

    A cell starts at an element with a cell's classes, wherever it sits (a student's
    unbalanced HTML in a Markdown cell cannot hide the next cell). Its code is the text of
    the first ``<pre>`` in its input area; its Markdown, what its rendered area holds.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.stack: list[str] = []  # open elements
        self.roles: dict[str, int] = {}  # "input", "code", "markdown", "skip" → its depth
        self.cells: list[_Cell] = []
        self.lab = False

    def check_time(self) -> None:
        """Stop once the deadline has passed."""
        if time.monotonic() > self.deadline:
            _refuse(f"reading the HTML page took over {SECONDS:g} s")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.check_time()
        if tag not in _VOID:
            self.stack.append(tag)
            if len(self.stack) > MAX_DEPTH:
                _refuse(f"the HTML page nests elements over {MAX_DEPTH} deep")
        depth = len(self.stack)
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        kinds = {_CELL_KINDS[c] for c in classes & _CELL_KINDS.keys()}
        cell = self.cells[-1] if self.cells else None
        if len(kinds) == 1 and classes & {"jp-Cell", "cell"}:
            self.lab |= "jp-Cell" in classes
            self.roles.clear()
            cell_id = (values.get("id") or "").removeprefix("cell-id=")
            self.cells.append(_Cell(kinds.pop(), cell_id, _tags(classes)))
        elif cell is None:
            return
        elif cell.kind == "code" and cell.code is None:
            if classes & _INPUT_AREAS:
                self.roles["input"] = depth
            elif tag == "pre" and "input" in self.roles:
                self.roles["code"], cell.code = depth, []
        elif cell.kind == "markdown" and not cell.parts and classes & _RENDERED_MARKDOWN:
            self.roles["markdown"] = depth
            cell.tags += [t for t in _tags(classes) if t not in cell.tags]  # lab puts them here
            cell.parts.append(_Part(""))
        elif "markdown" in self.roles:
            if tag == "a" and "anchor-link" in classes:  # nbconvert's ¶ beside headings
                self.roles.setdefault("skip", depth)
            elif "skip" not in self.roles:
                cell.parts[-1].safe.start(tag)

    def handle_endtag(self, tag: str) -> None:
        self.check_time()
        if tag not in self.stack:
            return  # a stray end tag closes nothing
        while self.stack.pop() != tag:
            pass
        depth = len(self.stack)
        self.roles = {role: at for role, at in self.roles.items() if at <= depth}
        if "markdown" in self.roles and "skip" not in self.roles:
            self.cells[-1].parts[-1].safe.end(tag)

    def handle_data(self, data: str) -> None:
        self.check_time()
        if "code" in self.roles:
            self.cells[-1].code.append(data)
        elif "markdown" in self.roles and "skip" not in self.roles:
            self.cells[-1].parts[-1].safe.text(data)

    def handle_comment(self, data: str) -> None:
        if "markdown" in self.roles and data.strip() in (BEGIN, END):
            self.cells[-1].parts.append(_Part(data.strip()))


def _tags(classes: set[str]) -> list[str]:
    """A cell's tags, from nbconvert's ``celltag_<tag>`` classes."""
    return sorted(c.removeprefix("celltag_") for c in classes if c.startswith("celltag_"))


def _notebook_cell(cell: _Cell, cell_id: str) -> nbformat.NotebookNode:
    """The cell as a notebook holds it: code as written, Markdown as sanitised HTML."""
    metadata = {"tags": cell.tags} if cell.tags else {}
    if cell.kind == "code":
        made = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
    else:
        parts = [f"<!-- {p.mark} -->\n{p.safe.html()}" if p.mark else p.safe.html()
                 for p in cell.parts]  # fmt: skip
        made = nbformat.v4.new_markdown_cell("\n".join(parts).strip(), metadata=metadata)
    made.id = cell_id
    return made


def _cell_ids(cells: list[_Cell]) -> list[str]:
    """The page's cell ids, or stable ones where a cell's is missing, invalid or repeated.

    Never nbformat's random ones: the same page always makes the same notebook (and result).
    """
    ids, seen = [], set()
    for index, cell in enumerate(cells):
        valid = 0 < len(cell.id) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_")
                                               for c in cell.id)  # nbformat's rule  # fmt: skip
        ids.append(cell.id if valid and cell.id not in seen else f"html-{index:03d}")
        seen.add(ids[-1])
    return ids


# --------------------------------------------------------------------- written answers


@dataclass
class _Piece:
    """What one cell adds to a question: its HTML, its words, whether it is an answer cell."""

    html: str
    words: list[str]
    answer_cell: bool


def _written_answers(cells: list[_Cell], questions: Sequence[Question]) -> list[WrittenAnswer]:
    """Each question between otter's marks, its prompt recognised by the autograder's words."""
    expected = [(q, _prompt_words(q.prompt)) for q in questions]
    answers = []
    for pieces in _question_pieces(cells):
        question, prompt = _matching_question(pieces, expected)
        if question:
            text, points = question.prompt, f"{question.points:g}"
        else:  # not one of the autograder's questions: its leading cells are the prompt
            lead = next((n for n, p in enumerate(pieces) if p.answer_cell), len(pieces))
            prompt, points = set(range(lead)), ""
            text = " ".join(" ".join(pieces[n].words) for n in sorted(prompt))
        placeholder = _words(ANSWER_PLACEHOLDER.strip("_"))
        answer = [p.html for n, p in enumerate(pieces)
                  if n not in prompt and p.words and p.words != placeholder]  # fmt: skip
        answers.append(WrittenAnswer(text, points, "\n".join(answer), html=True))
    return answers


def _question_pieces(cells: list[_Cell]) -> list[list[_Piece]]:
    """The pieces between each ``BEGIN QUESTION`` and its ``END QUESTION``."""
    questions: list[list[_Piece]] = []
    current: list[_Piece] | None = None
    for cell in cells:
        tagged = ANSWER_TAG in cell.tags
        if cell.kind == "code":
            parts = [("", f"<pre><code>{html.escape(cell.source)}</code></pre>",
                      _words(cell.source))]  # fmt: skip
        else:
            parts = [(p.mark, p.safe.html(), p.safe.words) for p in cell.parts]
        for mark, fragment, words in parts:
            if mark == END and current is not None:
                questions.append(current)
                current = None
            if mark == BEGIN:
                current = []
            if current is not None and words:
                current.append(_Piece(fragment, words, tagged))
    if current is not None:
        questions.append(current)
    return questions


def _matching_question(
    pieces: list[_Piece], expected: list[tuple[Question, list[str]]]
) -> tuple[Question | None, set[int]]:
    """The question whose prompt the pieces spell out, and which pieces do."""
    for question, words in expected:
        prompt = _prompt_pieces(pieces, words)
        if prompt is not None:
            return question, prompt
    return None, set()


def _prompt_pieces(pieces: list[_Piece], prompt: list[str]) -> set[int] | None:
    """Which pieces spell out ``prompt`` in order (otter's "Points: n" aside); None if none do."""
    found, at = set(), 0
    for number, piece in enumerate(pieces):
        words = _without_points(piece.words)
        if not piece.answer_cell and words and prompt[at : at + len(words)] == words:
            found.add(number)
            at += len(words)
    return found if prompt and at == len(prompt) else None


def _without_points(words: list[str]) -> list[str]:
    """Words without the ``Points: n`` otter adds at the end of a prompt."""
    if "points" in words:
        cut = len(words) - 1 - words[::-1].index("points")
        if words[cut + 1 :] and all(w.isdigit() for w in words[cut + 1 :]):
            return words[:cut]
    return words


def _prompt_words(prompt: str) -> list[str]:
    """A prompt's words once rendered as nbconvert renders Markdown."""
    return _read_fragment(markdown2html(prompt)).words
