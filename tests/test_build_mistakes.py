"""An instructor's mistakes in a copy of the lab: each refused or reported, first line quoted.

Each test makes one mistake a new instructor made (issue 26) and checks the first line the
build says about it (``aelab build`` prints it after ``Build failed: ``). The last one
follows docs/instructor.md's *Add a check* recipe and runs the lab's fast tests on the copy.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from lab_copy import add_check, add_points, copy_lab, edit_master
from lab_env import LAB, MASTER

from aelab.build import BuildError, build_assignment
from aelab.lab import load_lab

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MARKER = "        # BEGIN SOLUTION\n"
ENCODER = """        self.encoder = nn.Sequential(
            nn.Linear(28 * 28, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, latent_dim),
        )
"""
SAMPLES = "latent_samples = torch.randn(NUM_IMAGES, 2)\n"
# A hidden test of Problem 1 that reads a name only the reference solution uses.
FULL_TRAINSET = '''

def full_training_set(env: Any) -> None:
    """The full MNIST training set is kept."""
    student = observe(env)
    size = _length(need(student, "full_trainset", PROBLEM_1))
    expect(size == 60000, "full_trainset should hold 60,000 images, not {size}.", size=size)
'''
# The recipe's check: it passes the solution and catches none of the known mistakes.
SPLITS_COVER = '''

def splits_cover_the_training_set(env: Any) -> None:
    """The training and validation sets hold the 60,000 training images between them."""
    student = observe(env)
    train, val = need(student, "train_dataset", PROBLEM_1), need(student, "val_dataset", PROBLEM_1)
    total = _length(train) + _length(val)
    expect(total == 60000, "The two sets should hold 60,000 images, not {total}.", total=total)
'''


def _refusal(folder: Path, out: Path) -> str:
    """The build's refusal (nothing left to hand out), as the command prints it."""
    with pytest.raises(BuildError) as refused:
        build_assignment(out, load_lab(folder))
    assert not (out / "student").exists() and not (out / "autograder.zip").exists()
    return f"Build failed: {refused.value}"


def _master_metadata(folder: Path, starts: str, **metadata) -> None:
    path = folder / MASTER.name
    master = nbformat.read(path, as_version=4)
    (cell,) = [c for c in master.cells if c.cell_type == "code" and starts in c.source]
    for key, value in metadata.items():
        if value is None:
            cell.metadata.pop(key, None)
        else:
            cell.metadata[key] = value
    nbformat.write(master, path)


def test_solution_code_moved_out_of_its_block_is_refused(tmp_path):
    """The encoder above its marker (the blank notebook would still score 0) and one Problem 10
    answer line above its marker: both named, with the cell, the line and what to move."""
    folder = copy_lab(tmp_path)
    edit_master(folder, MARKER + ENCODER, ENCODER + MARKER)
    edit_master(folder, f"# BEGIN SOLUTION\n{SAMPLES}", f"{SAMPLES}# BEGIN SOLUTION\n")
    first, more, second = _refusal(folder, tmp_path / "out").splitlines()
    assert first == (
        "Build failed: Solution code in the handout: The handout gives away `self.encoder`, "
        "which the hidden test q2 test_latent_dim_and_output_order checks: student notebook "
        "cell 10 ('class AutoEncoder(nn.Module):'), line 5: 'self.encoder = nn.Sequential('. "
        "In the master's cell 23, move '# BEGIN SOLUTION' above line 5. (If students are meant "
        "to get `encoder`, declare it in GIVEN beside the check.)"
    )
    assert more == "(1 more below)"
    master = nbformat.read(MASTER, as_version=4).cells
    cell = next(i for i, c in enumerate(master) if c.cell_type == "code" and SAMPLES in c.source)
    assert second.startswith(
        "The handout gives away `latent_samples`, which the hidden test q10 "
        "test_samples_come_from_the_standard_normal checks: student notebook cell 47 "
        "('NUM_IMAGES = 250'), line 3: 'latent_samples = torch.randn(NUM_IMAGES, 2)'. "
        f"In the master's cell {cell}, move '# BEGIN SOLUTION' above line 3."
    )


def test_a_hidden_test_that_reads_a_solution_only_name_is_refused(tmp_path):
    """Undeclared, declared honestly, or declared as something else: refused each time, before
    anything is built or once the independently written notebooks fail it."""
    undeclared = copy_lab(tmp_path / "a")
    add_check(undeclared, "p01_data", FULL_TRAINSET, "q1", "test_full", "full_training_set", None)
    assert _refusal(undeclared, tmp_path / "a" / "out").splitlines()[0] == (
        "Build failed: The checks' names: q1 test_full: full_training_set declares no names: "
        'add "full_training_set": (the names it reads,) to READS in lab_checks/p01_data.py'
    )
    honest = copy_lab(tmp_path / "b")
    reads = ("full_trainset",)
    add_check(honest, "p01_data", FULL_TRAINSET, "q1", "test_full", "full_training_set", reads)
    assert _refusal(honest, tmp_path / "b" / "out").splitlines()[0] == (
        "Build failed: The checks' names: q1 test_full reads `full_trainset` (full_training_set, "
        "lab_checks/p01_data.py), which the problem text never gives students: name it in the "
        "problem, or check what the problem asks for instead"
    )
    wrong = copy_lab(tmp_path / "c")
    reads = ("train_dataset",)
    add_check(wrong, "p01_data", FULL_TRAINSET, "q1", "test_full", "full_training_set", reads)
    first, _, second, *_ = _refusal(wrong, tmp_path / "c" / "out").splitlines()
    assert first == (
        "Build failed: A test fails correct work: q1 test_full fails the independent 'loops' "
        "notebook, a correct answer written another way: it relied on `full_trainset`, which "
        "that notebook does not define; it said: `full_trainset` is not defined yet: run "
        "Problem 1's cell first (it makes the datasets and their loaders)."
    )
    assert second.startswith("q1 test_full fails the independent 'helpers' notebook")


def test_a_typo_in_the_master_is_shown_with_its_real_error_and_cell(tmp_path):
    """model.paramters() in train_vae: the real error (unredacted: the instructor's own code)
    and the master's cell and line come first; q10 and q11's follow-on failures fold."""
    folder = copy_lab(tmp_path)
    optimizer = "    # BEGIN SOLUTION\n    optimizer = optim.Adam(model.parameters()"
    edit_master(folder, optimizer, optimizer.replace("parameters", "paramters"))
    lines = _refusal(folder, tmp_path / "out").splitlines()
    master = nbformat.read(MASTER, as_version=4).cells
    cell = next(i for i, c in enumerate(master) if c.source.startswith("def vae_loss("))
    assert lines[0] == (
        "Build failed: The reference solution loses points: q9 test_train_vae_early_stopping: "
        "Calling train_vae raised AttributeError: 'ScriptedModel' object has no attribute "
        f"'paramters' (the master's cell {cell} ('def vae_loss(reconstruction, x, mu, logvar):'), "
        "line 20: 'optimizer = optim.Adam(model.paramters(), lr=0.001)')"
    )
    assert all(line.startswith("q9 ") and "'paramters'" in line for line in lines[1:-1])
    assert lines[-1].startswith("then 6 tests of later questions fail too (q10: 3, q11: 3)")


def test_a_locked_team_cell_is_refused_with_advice_for_a_team_cell(tmp_path):
    folder = copy_lab(tmp_path)
    _master_metadata(folder, "TEAM = [", editable=False, deletable=False)
    assert _refusal(folder, tmp_path / "out").splitlines()[0] == (
        "Build failed: The student notebook's cell locks are wrong: cell 3 (code, 'TEAM = [') "
        "is the TEAM cell (students write their names there) but locked (editable/deletable "
        "false): students cannot type there. In the master, keep it outside any '# BEGIN "
        "QUESTION' block and remove 'editable': false and 'deletable': false from its metadata "
        "(otter keeps a cell's metadata outside questions)."
    )


def test_an_unlocked_set_up_cell_is_refused(tmp_path):
    folder = copy_lab(tmp_path)
    _master_metadata(folder, "otter.Notebook(", editable=None, deletable=None)
    assert _refusal(folder, tmp_path / "out").splitlines()[0] == (
        "Build failed: The student notebook's cell locks are wrong: cell 0 (code, '# Otter checks "
        "your answers (grader.check) and makes the zip') is otter's set-up cell (grader = "
        "otter.Notebook(...)) but students can edit it: in the master, set its metadata "
        "'editable': false and 'deletable': false (otter keeps a cell's metadata outside "
        "questions)."
    )


def test_a_points_change_and_new_given_code_are_reported(built, tmp_path):
    """Raising a test's points changes what a known mistake costs (the encoder's ReLU after its
    latent layer now costs 2): the build says so, and shows the new given line, against the
    last build's report."""
    out, _ = built
    folder = copy_lab(tmp_path)
    test = 'points: 1\nhidden: true\n""" # END TEST CONFIG\ndef test_encoder_architecture('
    edit_master(folder, test, test.replace("points: 1", "points: 2"))
    given = "transform = transforms.ToTensor()\n"
    edit_master(folder, given, given + "# ToTensor scales each pixel to [0, 1]\n")
    (tmp_path / "out").mkdir()
    shutil.copy(out / "build_report.json", tmp_path / "out")
    assert _refusal(folder, tmp_path / "out").splitlines()[0] == (
        "Build failed: Points in autoencoders_mnist.ipynb: q2 says points: 4, but its tests add "
        "up to 5 (1 + 1 + 2 + 0.5 + 0.5): change one so that they agree"
    )
    add_points(folder, "q2", 1)  # a failed build in between: changes still count from the last
    report = build_assignment(tmp_path / "out", load_lab(folder))
    assert report.points_changes == [
        "q2 test_encoder_architecture: 1 -> 2 points: every known mistake that fails it now "
        "costs +1 (tests/student_work.py states each mistake's cost)"
    ]
    assert report.given_changes == [
        "student notebook cell 7 ('transform = transforms.ToTensor()'): +1 -0 lines, now giving: "
        "# ToTensor scales each pixel to [0, 1]"
    ]
    assert report.possible == LAB.points + 1
    printed = json.loads((tmp_path / "out" / "build_report.json").read_text())
    assert printed["points_changes"] == report.points_changes


def test_recipe_adds_a_check_and_the_lab_tests_pass_without_editing_a_count(tmp_path):
    """docs/instructor.md's *Add a check*, followed on a copy of the project's lab and tests: a
    1-point hidden check of Problem 1; then the lab's fast tests, unchanged, run green on it."""
    folder = copy_lab(tmp_path)
    reads = ("train_dataset", "val_dataset")
    check = "splits_cover_the_training_set"
    add_check(folder, "p01_data", SPLITS_COVER, "q1", "test_splits", check, reads)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "tests", tmp_path / "tests", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    fast = ["tests/test_lab_checks.py", "tests/test_instructor_loop.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", *fast],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "test_splits" in (folder / MASTER.name).read_text()
    assert re.search(r"\d+ passed", done.stdout) and not re.search(r"\d+ failed", done.stdout)
