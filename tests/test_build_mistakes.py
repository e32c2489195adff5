"""An instructor's mistakes in a copy of the lab: each refused or reported, first line first.

Each test makes one mistake a new instructor made (issue 26) and quotes the first line the
build says about it (``aelab build`` prints it after ``Build failed: ``).
"""

import json
import shutil

import nbformat
import pytest
from lab_copy import add_check, copy_lab, edit_master
from lab_env import MASTER

from aelab.build import BuildError, build_assignment
from aelab.lab import load_lab

pytestmark = pytest.mark.slow

ENCODER = """        # BEGIN SOLUTION
        self.encoder = nn.Sequential(
            nn.Linear(28 * 28, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, latent_dim),
        )
"""
SAMPLES = "# BEGIN SOLUTION\nlatent_samples = torch.randn(NUM_IMAGES, 2)\n"
# A hidden test of Problem 1 that reads a name only the reference solution uses.
FULL_TRAINSET = '''

def full_training_set(env: Any) -> None:
    """The full MNIST training set is kept."""
    student = observe(env)
    size = _length(need(student, "full_trainset", PROBLEM_1))
    expect(size == 60000, "full_trainset should hold 60,000 images, not {size}.", size=size)
'''


def _refusal(folder, out):
    with pytest.raises(BuildError) as refused:
        build_assignment(out, load_lab(folder))
    assert not (out / "student").exists() and not (out / "autograder.zip").exists()
    return str(refused.value)


def test_solution_code_moved_out_of_its_block_is_refused(tmp_path):
    """The encoder above its marker (the blank notebook still scores 0), and one Problem 10
    answer line above its marker: both named, with the cell, the line and what to move."""
    folder = copy_lab(tmp_path)
    edit_master(folder, ENCODER, ENCODER.replace("        # BEGIN SOLUTION\n", "") + "        # BEGIN SOLUTION\n")
    edit_master(folder, SAMPLES, "latent_samples = torch.randn(NUM_IMAGES, 2)\n# BEGIN SOLUTION\n")
    message = _refusal(folder, tmp_path / "out")
    first, *rest = message.splitlines()
    assert first.startswith(
        "Solution code in the handout: The handout gives away `self.encoder`, which the hidden "
        "test q2 test_latent_dim_and_output_order checks: student notebook cell 10 "
        "('class AutoEncoder(nn.Module):'), line 5: 'self.encoder = nn.Sequential('. In the "
        "master's cell 23, move '# BEGIN SOLUTION' above line 5."
    ), first
    assert any(
        "gives away `latent_samples`, which the hidden test q10 " in line
        and "'latent_samples = torch.randn(NUM_IMAGES, 2)'" in line
        for line in rest
    ), rest


def test_a_hidden_test_that_reads_a_solution_only_name_is_refused(tmp_path):
    """Declared: refused before anything is built. Undeclared: the independently written
    notebooks fail it, and the build names the test and the name it relied on."""
    folder = copy_lab(tmp_path)
    add_check(folder, "p01_data", FULL_TRAINSET, "q1", "test_full_training_set", "full_training_set")
    message = _refusal(folder, tmp_path / "out")
    assert message.splitlines()[0] == (
        "The checks' names: full_training_set declares no names: add \"full_training_set\": "
        "(the names it reads,) to READS in lab_checks/p01_data.py (q1 test_full_training_set)"
    ) or message.startswith("The checks' names: q1 test_full_training_set: full_training_set declares no names")
