"""The built assignment: no leaks, full and zero marks, reproducible, wrong work caught."""

import json
import re
import zipfile

import nbformat
import pytest

from aelab.build import MASTER, NOTEBOOK_NAME, build_assignment
from aelab.otter_run import grade_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "autograder"
    report = build_assignment(out)
    return out, report


def _solution_lines():
    """Lines only the master's solutions hold (not its given code), and hidden tests' names."""
    master = nbformat.read(MASTER, as_version=4)
    solution, given, hidden = set(), set(), set()
    for cell in master.cells:
        inside = False
        for line in cell.source.splitlines():
            if "# END SOLUTION" in line:
                inside = False
            elif "# BEGIN SOLUTION" in line:
                inside = True
            (solution if inside else given).add(line.strip())
        if "hidden: true" in cell.source:
            hidden.update(re.findall(r"def (test_\w+)", cell.source))
    return {line for line in solution - given if len(line) > 12}, hidden


def test_solution_earns_everything_and_blank_nothing(built):
    out, report = built
    assert report.possible == 38
    assert report.solution_score == report.possible
    assert report.blank_score == 0
    assert report.seconds < 180
    assert json.loads((out / "build_report.json").read_text())["solution_score"] == 38


def test_student_notebook_has_no_solution_and_no_hidden_test(built):
    out, _ = built
    student = (out / "student" / NOTEBOOK_NAME).read_text()
    notebook = nbformat.reads(student, as_version=4)
    student_lines = {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}
    solution, hidden = _solution_lines()
    assert len(solution) > 80 and len(hidden) >= 15
    leaked = sorted(solution & student_lines)
    assert not leaked, leaked[:5]
    assert not [name for name in hidden if name in student]
    assert "Reference answer" not in student and "Rubric" not in student
    assert "aelab" not in student.replace("AELAB_", "")


def test_autograder_holds_every_hidden_test(built):
    out, _ = built
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        tests = "".join(
            archive.read(n).decode() for n in archive.namelist() if n.startswith("tests/")
        )
    _, hidden = _solution_lines()
    assert all(f"def {name}(" in tests for name in hidden)


def test_build_is_reproducible(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    build_assignment(again)
    for path in ("student/" + NOTEBOOK_NAME, "solution/" + NOTEBOOK_NAME):
        assert (out / path).read_text() == (again / path).read_text()
    with (
        zipfile.ZipFile(out / "autograder.zip") as a,
        zipfile.ZipFile(again / "autograder.zip") as b,
    ):
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


# Realistic mistakes, one per question: (question, text marking the cell, right code, wrong code).
MISTAKES = [
    ("q1", "train_loader = ", "shuffle=True)", "shuffle=False)"),
    # the course's original loop: the best weights are never restored
    ("q3", "def train_autoencoder(", "    model.load_state_dict(best_state)\n", ""),
    (
        "q6",
        "def extrapolate_digits(",
        "torch.linspace(0, 1, num_images)",
        "(torch.arange(num_images) / num_images)",
    ),
    ("q8", "class VAE(", "torch.exp(0.5 * logvar)", "torch.exp(logvar)"),
    ("q9", "def vae_loss(", "kl = -0.5 * torch.sum", "kl = 0.5 * torch.sum"),
    ("q10", "latent_samples = ", "torch.randn(NUM_IMAGES, 2)", "torch.rand(NUM_IMAGES, 2)"),
    ("q11", "approx_posterior = ", "torch.exp(0.5 * latent_logvar)", "torch.exp(latent_logvar)"),
]


def test_hidden_tests_catch_realistic_mistakes(built, tmp_path):
    out, _ = built
    notebook = nbformat.read(out / "solution" / NOTEBOOK_NAME, as_version=4)
    for _question, marker, right, wrong in MISTAKES:
        (cell,) = [
            cell for cell in notebook.cells if marker in cell.source and right in cell.source
        ]
        cell.source = cell.source.replace(right, wrong)
    wrong_path = tmp_path / NOTEBOOK_NAME
    nbformat.write(notebook, wrong_path)
    result = grade_notebook(out / "autograder.zip", wrong_path, tmp_path / "graded")
    for question, *_ in MISTAKES:
        assert result.scores[question] < result.max_scores[question], question
    # The wrong answers do not spill into other questions.
    for question in ("q2", "q5"):
        assert result.scores[question] == result.max_scores[question], question
