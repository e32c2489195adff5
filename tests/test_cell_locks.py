"""Students can type in every answer cell; prompts and checks stay locked; the build enforces it."""

import nbformat
import pytest
from lab_copy import copy_lab
from lab_env import MASTER

from aelab.build import BuildError, build_assignment
from aelab.cell_locks import cell_role, lock_problems
from aelab.lab import load_lab


def _cell(kind, source, **metadata):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata.update(metadata)
    return cell


LOCKED = {"editable": False, "deletable": False}


@pytest.mark.parametrize(
    ("kind", "source", "tags", "role"),
    [
        ("code", "x = 1\n...\n", [], "answer"),
        ("code", "latent_samples = ...\nreconstruction = ...", [], "answer"),
        ("code", 'TEAM = [{"name": "...", "canvas_id": "..."}]', [], "team"),
        ("code", 'import otter\ngrader = otter.Notebook("lab.ipynb")', ["otter_ignore"], "setup"),
        ("code", "html = 1\ngrader.export(pdf=False, files=['a.html'])", [], "submission"),
        ("code", "def f():\n    return 1", ["otter_assign_solution_cell"], "answer"),
        ("markdown", "_Type your answer here._", ["otter_answer_cell"], "answer"),
        ("code", 'grader.check("q1")', [], "check"),
        ("markdown", "### Problem 3: Training\n\nFinish it.\n\n_Points:_ 6", [], "prompt"),
        ("markdown", "<!-- BEGIN QUESTION -->\n\n**1)** Why?\n\n_Points:_ 1", [], "prompt"),
        ("markdown", "Now train your autoencoder in full.", [], None),
        ("code", "import torch\nprint('...')", [], None),
    ],
)
def test_cell_roles(kind, source, tags, role):
    assert cell_role(_cell(kind, source, tags=tags)) == role


def test_lock_problems_name_each_wrong_cell():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        _cell("markdown", "### Problem 1: Data\n\n_Points:_ 4", **LOCKED),
        _cell("code", "transform = ...\n...", **LOCKED),  # a locked answer: the bug students met
        _cell("code", 'grader.check("q1")'),  # an unlocked check
        _cell("code", "x = ...", tags=["otter_assign_solution_cell"]),
        _cell("code", 'grader.check("q2")', **LOCKED),
    ]
    problems = lock_problems(notebook)
    assert len(problems) == 2
    assert problems[0].startswith("cell 1 (code, 'transform = ...')")
    assert "answer cell but locked" in problems[0] and "# BEGIN SOLUTION" in problems[0]
    assert problems[1].startswith("cell 2 (code, 'grader.check(\"q1\")') is a check cell")


def test_each_kind_of_cell_gets_advice_that_fits_it():
    """A locked TEAM cell is not told to move between solution markers; set-up and Submission
    cells students could edit are told to be locked in the master."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        _cell("code", 'import otter\ngrader = otter.Notebook("a.ipynb")', tags=["otter_ignore"]),
        _cell("code", 'TEAM = [{"name": "...", "canvas_id": "..."}]', **LOCKED),
        _cell("code", "grader.export(pdf=False)", editable=False),  # deletable still
    ]
    setup, team, submission = lock_problems(notebook)
    assert setup.startswith("cell 0 (code, 'import otter') is otter's set-up cell")
    assert "set its metadata 'editable': false and 'deletable': false" in setup
    assert team.startswith(
        'cell 1 (code, \'TEAM = [{"name": "...", "canvas_id": "..."}]\') is the TEAM'
    )
    assert "outside any '# BEGIN QUESTION' block" in team and "BEGIN SOLUTION" not in team
    assert submission.startswith("cell 2 (code, 'grader.export(pdf=False)') is the Submission cell")


def test_built_student_notebook_has_open_answers_and_locked_prompts(built):
    out, _ = built
    notebook = nbformat.read(out / "student" / MASTER.name, as_version=4)
    assert lock_problems(notebook) == []
    roles = [cell_role(cell) for cell in notebook.cells]
    # 9 code answers, 3 calls of Problem 6, 6 written answers; a check per coding problem
    assert roles.count("answer") == 18
    assert roles.count("team") == roles.count("setup") == roles.count("submission") == 1
    assert roles.count("check") == 9
    assert roles.count("prompt") >= 15


@pytest.mark.slow
def test_build_refuses_a_master_with_a_locked_answer_cell(tmp_path):
    """The master as it was before the fix: Problem 1's answer outside a solution block."""
    folder = copy_lab(tmp_path)
    master = nbformat.read(MASTER, as_version=4)
    (start,) = [
        i for i, c in enumerate(master.cells) if c.source.startswith("transform = transforms")
    ]
    assert master.cells[start - 1].source == master.cells[start + 1].source.replace("END", "BEGIN")
    del master.cells[start + 1], master.cells[start - 1]
    nbformat.write(master, folder / MASTER.name)
    with pytest.raises(BuildError) as refused:
        build_assignment(tmp_path / "autograder", load_lab(folder))
    message = str(refused.value)
    assert "transform = transforms.ToTensor()" in message and "locked" in message
    assert not (tmp_path / "autograder" / "student").exists()
