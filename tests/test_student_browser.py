"""A student does the lab in a real browser: JupyterLab on localhost, driven in headless Chromium.

Debian's ``chromium`` package, driven by Playwright for Python (no browser download). The
student types each answer, checks Problem 1 with its ``grader.check`` cell, saves, and the
saved file holds what was typed; prompts and checks refuse typing. On failure a screenshot
is kept in ``out/browser-test/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
import student_work
from browser import SCREENSHOTS, launch
from lab_env import NOTEBOOK_NAME

from aelab.cell_locks import OPEN, cell_role
from aelab.data import verify_raw_files

pytestmark = pytest.mark.slow

WRITTEN = "The encoder compresses each 784-pixel image into a 2-number latent code."
TYPED = "# typed key by key by a student"
# Every cell in the page (JupyterLab 4 otherwise renders only the visible ones); no news pop-up.
LAB_SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "apputils-extension/notification": {"fetchNews": "false"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_folder(built, tmp_path_factory):
    """A student's folder: the handed-out notebook and MNIST in data/ beside it."""
    out, _ = built
    folder = tmp_path_factory.mktemp("student")
    shutil.copy(out / "student" / NOTEBOOK_NAME, folder / NOTEBOOK_NAME)
    raw = folder / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for archive in verify_raw_files().glob("*.gz"):
        shutil.copy(archive, raw / archive.name)
    return folder


@pytest.fixture(scope="module")
def jupyterlab(lab_folder, tmp_path_factory):
    """JupyterLab serving the student's folder; yields its base URL with the token."""
    settings = tmp_path_factory.mktemp("lab-settings")
    for plugin, values in LAB_SETTINGS.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), "student-test-token"
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("jupyter-config")),
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("jupyter-runtime")),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={lab_folder}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start within 60 s")
            time.sleep(0.5)
    yield url, token
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def page(jupyterlab):
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/lab/tree/{NOTEBOOK_NAME}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        yield page
        browser.close()


@pytest.fixture
def screenshot_on_failure(page, request):
    yield
    if request.node.rep_call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", full_page=True)


def _cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


def _editor(page, index):
    return _cells(page).nth(index).locator(".cm-content")


def _focus(page, index, double=False):
    """Put cell ``index`` in edit mode; wait until its editor has the keyboard."""
    cell = _cells(page).nth(index)
    if double:  # a rendered Markdown cell: a double click shows its source, Enter edits it
        cell.locator(".jp-MarkdownOutput").dblclick()
        page.keyboard.press("Enter")
    else:
        cell.locator(".cm-content").click()
    cell.locator(".cm-editor.cm-focused").wait_for()


def _replace(page, index, text, markdown=False):
    _focus(page, index, double=markdown)
    page.keyboard.press("Control+A")  # in the editor: its text, not every cell
    page.keyboard.insert_text(text)  # as a paste does: no auto-indent or bracket closing
    if markdown:
        page.keyboard.press("Shift+Enter")  # render it


def _run(page, index):
    """Run one cell with Shift+Enter and wait until its execution count appears."""
    cell = _cells(page).nth(index)
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputPrompt")
    deadline = time.monotonic() + 120
    while not any(ch.isdigit() for ch in prompt.inner_text()):
        assert time.monotonic() < deadline, f"cell {index} did not finish running"
        time.sleep(0.2)
    return cell.locator(".jp-OutputArea").inner_text()


def test_a_student_types_every_answer_checks_and_saves(
    built, lab_folder, page, screenshot_on_failure
):
    out, _ = built
    student = nbformat.read(lab_folder / NOTEBOOK_NAME, as_version=4)
    solution = student_work.solution(out)
    answers = _answers(student, solution)
    every_cell = "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n"
    page.wait_for_function(every_cell, arg=len(student.cells))
    for index, text in answers.items():
        _replace(page, index, text, markdown=student.cells[index].cell_type == "markdown")
    problem_1 = next(i for i in answers if student.cells[i].source.startswith("transform"))
    _focus(page, problem_1)
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(TYPED)  # key by key, as a student types

    # Locked cells refuse typing: prompts' and checks' editors are read-only.
    roles = [cell_role(cell) for cell in student.cells]
    for index, role in enumerate(roles):
        readonly = _editor(page, index).get_attribute("aria-readonly") if role else None
        assert readonly == (None if role in OPEN or role is None else "true"), (index, role)
    check_cell = roles.index("check")
    _editor(page, check_cell).click()
    page.keyboard.type("qqq")  # letters that are no command-mode shortcut
    assert _editor(page, check_cell).inner_text().strip() == student.cells[check_cell].source

    for index in range(check_cell + 1):
        if student.cells[index].cell_type == "code":
            output = _run(page, index)
    assert "q1" in output and "passed" in output, output
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top = _cells(page).nth(problem_1).bounding_box()
    bottom = _cells(page).nth(check_cell).bounding_box()
    clip = {**top, "height": bottom["y"] + bottom["height"] - top["y"]}
    page.screenshot(path=SCREENSHOTS / "typed-answer-and-check.png", clip=clip)

    before = (lab_folder / NOTEBOOK_NAME).stat().st_mtime
    page.keyboard.press("Control+S")
    deadline = time.monotonic() + 30
    while (lab_folder / NOTEBOOK_NAME).stat().st_mtime == before:
        assert time.monotonic() < deadline, "the notebook was not saved"
        time.sleep(0.2)
    time.sleep(1)  # let the write finish
    saved = nbformat.read(lab_folder / NOTEBOOK_NAME, as_version=4)
    for index, text in answers.items():
        assert text.strip() in saved.cells[index].source, f"cell {index} lost what was typed"
    assert TYPED in saved.cells[problem_1].source
    assert saved.cells[check_cell].source == student.cells[check_cell].source


def _answers(student, solution):
    """What to type in each answer cell: the reference solution's code, and a written answer."""
    code = [_without_markers(c.source) for c in solution.cells if "# BEGIN SOLUTION" in c.source]
    by_first_line = {source.splitlines()[0]: source for source in code}
    calls = [source for source in code if source.startswith("extrapolate_digits(")]
    answers, written = {}, False
    for index, cell in enumerate(student.cells):
        if cell_role(cell) != "answer":
            continue
        if cell.cell_type == "markdown":
            if not written:
                answers[index], written = WRITTEN, True
        elif cell.source.strip() == "...":
            answers[index] = calls.pop(0)
        elif not cell.source.startswith("TEAM"):
            answers[index] = by_first_line[cell.source.splitlines()[0]]
        else:
            answers[index] = 'TEAM = [{"name": "Ada Lovelace", "canvas_id": "101"}]'
    return answers


def _without_markers(source):
    return "\n".join(
        line
        for line in source.splitlines()
        if "# BEGIN SOLUTION" not in line and "# END SOLUTION" not in line
    )
