"""The build's instructor-facing parts, fast: declared names, leaks, changes, failures, the fill."""

import json

import nbformat
import pytest
from lab_env import LAB, MASTER, master_tests

from aelab import check_names, handout, proof
from aelab.fill import filled
from aelab.master import MasterError, read_tests
from aelab.record import NotebookGrade


def test_every_check_declares_names_the_problem_text_gives():
    master = nbformat.read(MASTER, as_version=4)
    declared = check_names.declared(LAB)
    found = read_tests(master, LAB.checks_module)
    assert check_names.declaration_problems(master, found, declared, LAB.checks_module) == []
    assert {t.check for t in found} <= set(declared.reads)


def test_a_name_the_problem_never_gives_is_refused_with_its_check_and_file():
    master = nbformat.read(MASTER, as_version=4)
    declared = check_names.declared(LAB)
    declared.reads["dataset_sizes"] += ("full_trainset",)
    found = read_tests(master, LAB.checks_module)
    (problem,) = check_names.declaration_problems(master, found, declared, LAB.checks_module)
    assert problem.startswith(
        "q1 test_dataset_sizes reads `full_trainset` (dataset_sizes, lab_checks/p01_data.py), "
        "which the problem text never gives students"
    )


def test_a_name_read_but_not_declared_is_named():
    master = nbformat.read(MASTER, as_version=4)
    found = read_tests(master, LAB.checks_module)
    graded = [
        {"question": "q1", "name": "test_dataset_sizes", "reads": [["name", "full_trainset", 1]]}
    ]
    (problem,) = check_names.read_problems(master, graded, found, check_names.declared(LAB))
    assert problem.startswith(
        "q1 test_dataset_sizes read `full_trainset`, which dataset_sizes does not declare in "
        "READS (lab_checks/p01_data.py)"
    )


def test_a_test_written_as_an_inline_assert_is_refused():
    """Students got 'The test stopped with KeyError' and the fast tests crashed: now the build
    refuses it before anything is built, saying what a test cell must be."""
    master = nbformat.read(MASTER, as_version=4)
    (cell,) = [c for c in master.cells if "def test_dataset_sizes(env):" in c.source]
    cell.source = cell.source.split("def ")[0] + (
        "def test_dataset_sizes(env):\n    assert len(env['full_trainset']) == 60000"
    )
    with pytest.raises(MasterError) as refused:
        read_tests(master, LAB.checks_module)
    message = str(refused.value)
    assert message.startswith("q1: the test in cell ")
    assert (
        "(test_dataset_sizes) is not a call to one of lab_checks's checks: a test cell is"
        in message
    )


def test_handed_out_bindings_and_leaks():
    master = nbformat.v4.new_notebook()
    leaked = (
        "class A(nn.Module):\n    def __init__(self):\n        self.encoder = nn.Linear(2, 2)\n"
    )
    master.cells = [nbformat.v4.new_code_cell(leaked + "        # BEGIN SOLUTION\n        ...\n")]
    student = nbformat.v4.new_notebook()
    student.cells = [nbformat.v4.new_code_cell(leaked + "        ...\n")]
    student.cells[0].metadata["tags"] = [handout.ANSWER_TAG]
    reads = [
        {"question": "q2", "name": "test_enc", "hidden": True, "reads": [["attr", "encoder", 1]]}
    ]
    (leak,) = handout.leaks(student, master, reads, set())
    assert leak.startswith(
        "The handout gives away `self.encoder`, which the hidden test q2 test_enc checks: student "
        "notebook cell 0 ('class A(nn.Module):'), line 3: 'self.encoder = nn.Linear(2, 2)'. In "
        "the master's cell 0, move '# BEGIN SOLUTION' above line 3."
    )
    assert handout.leaks(student, master, reads, {"encoder"}) == []  # declared GIVEN
    public = [{**reads[0], "hidden": False}]
    assert handout.leaks(student, master, public, set()) == []  # public tests show it anyway


def test_given_code_changes_are_summarised():
    before = ["import torch", "class A:\n    ...", "x = 1", "z = 3"]
    after = ["import torch", "class A:\n    self.encoder = 1\n    ...", "x = 1", "y = 2"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Lab")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in after]
    assert handout.changes(before, notebook) == [
        "student notebook cell 2 ('class A:'): +1 -0 lines, now giving: self.encoder = 1",
        "student notebook cell 4 ('y = 2'): +1 -1 lines, now giving: y = 2",
    ]
    assert handout.changes(after, notebook) == []
    assert handout.changes([*after, "w = 4"], notebook) == [
        "gone since the last build: the code cells 'w = 4'"
    ]


def _grade(*tests):
    return NotebookGrade(status="graded", tests=list(tests), max_scores={"q9": 2, "q10": 1})


def test_the_solutions_first_error_comes_first_and_later_failures_fold():
    master = nbformat.v4.new_notebook()
    master.cells = [nbformat.v4.new_code_cell("def train_vae(model):\n    model.paramters()")]
    graded = nbformat.from_dict(master)
    message = "Calling train_vae raised AttributeError: 'VAE' object has no attribute 'paramters'"
    failed = {"passed": False, "message": message, "where": [0, 2]}
    grade = _grade(
        {"question": "q9", "name": "test_a", **failed},
        {"question": "q9", "name": "test_b", **failed},
        {"question": "q10", "name": "test_c", "passed": False, "message": "`x` is not defined"},
        {"question": "q10", "name": "test_d", "passed": False, "message": "`x` is not defined"},
    )
    first, second, folded = proof.solution_failure(grade, graded, master).splitlines()
    assert first == (
        "q9 test_a: Calling train_vae raised AttributeError: 'VAE' object has no attribute "
        "'paramters' (the master's cell 0 ('def train_vae(model):'), line 2: 'model.paramters()')"
    )
    assert second.startswith("q9 test_b: Calling train_vae")
    assert folded.startswith("then 2 tests of later questions fail too (q10: 2)")


def test_the_filled_handout_is_the_handout_with_the_solutions_answers(built):
    out, report = built
    student = nbformat.read(out / "student" / LAB.master, as_version=4)
    done = nbformat.read(report.filled_notebook, as_version=4)
    assert [c.id for c in done.cells] == [c.id for c in student.cells]
    assert "self.encoder = nn.Sequential(" in done.cells[10].source
    assert "# BEGIN SOLUTION" not in json.dumps(done.cells)
    written = [c for c in done.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    assert written and all(c.source.startswith("**Reference answer.**") for c in written)
    assert filled(student, nbformat.read(out / "solution" / LAB.master, as_version=4)) == done


def test_the_build_report_counts_from_the_lab_description(built):
    _, report = built
    assert report.possible == report.solution_score == LAB.points
    assert sum(report.tests.values()) == LAB.points
    assert len(report.tests) == len(master_tests())
    assert report.canvas_assignment == LAB.canvas_assignment
    assert set(report.independent.values()) == {LAB.points}


def test_a_failure_the_check_did_not_reach_names_the_first_cell_that_raised():
    """A typo in a cell of the master itself: its tests only see a missing name."""
    master = nbformat.v4.new_notebook()
    master.cells = [nbformat.v4.new_code_cell("import torch\ndata = torch.MNSIT()")]
    graded = nbformat.from_dict(master)
    missing = {"passed": False, "message": "`data` is not defined yet: run Problem 1's cell first."}
    grade = _grade({"question": "q1", "name": "test_data", **missing})
    grade.cell_errors = [
        {"index": 0, "error": "AttributeError: module 'torch' has no attribute 'MNSIT'",
         "where": [0, 2]}
    ]  # fmt: skip
    assert proof.solution_failure(grade, graded, master) == (
        "q1 test_data: `data` is not defined yet: run Problem 1's cell first. (the first cell that "
        "raised: the master's cell 0 ('import torch'), line 2: 'data = torch.MNSIT()': "
        "AttributeError: module 'torch' has no attribute 'MNSIT')"
    )


def test_the_problem_text_is_what_students_see():
    """Given code and prompts count; solution blocks and reference answers do not."""
    cells = [
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 1"),
        nbformat.v4.new_markdown_cell("Store the data in `told`."),
        nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
        nbformat.v4.new_code_cell("given = 1\n# BEGIN SOLUTION\nsolved = 2\n# END SOLUTION"),
        nbformat.v4.new_markdown_cell("**Reference answer.** `reference_only`"),
        nbformat.v4.new_raw_cell("# END SOLUTION"),
    ]
    master = nbformat.v4.new_notebook()
    master.cells = cells
    text = check_names.problem_text(master)["q1"]
    assert "told" in text and "given = 1" in text
    assert "solved" not in text and "reference_only" not in text
