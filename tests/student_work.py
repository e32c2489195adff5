"""Realistic student notebooks made from the built assignment, for grading tests and benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

NOTEBOOK_NAME = "autoencoders_mnist.ipynb"

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


def solution(built: Path) -> nbformat.NotebookNode:
    """The reference solution as the build wrote it."""
    return nbformat.read(built / "solution" / NOTEBOOK_NAME, as_version=4)


def blank(built: Path) -> nbformat.NotebookNode:
    """The untouched student notebook."""
    return nbformat.read(built / "student" / NOTEBOOK_NAME, as_version=4)


def with_mistakes(built: Path, questions: set[str]) -> nbformat.NotebookNode:
    """The solution with the realistic mistakes of ``questions`` put in."""
    notebook = solution(built)
    for question, marker, right, wrong in MISTAKES:
        if question not in questions:
            continue
        (cell,) = [c for c in notebook.cells if marker in c.source and right in c.source]
        cell.source = cell.source.replace(right, wrong)
    return notebook


def with_team(
    notebook: nbformat.NotebookNode, team: list[tuple[str, str]]
) -> nbformat.NotebookNode:
    """``notebook`` with its TEAM cell filled in."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("TEAM")]
    cell.source = "TEAM = " + json.dumps([{"name": n, "canvas_id": i} for n, i in team])
    return notebook


def with_extra_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """``notebook`` with a code cell added after its setup cell (the first to import torch)."""
    index = next(i for i, c in enumerate(notebook.cells) if "import torch" in c.source)
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.insert(index + 1, cell)
    return notebook


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """Save ``notebook`` at ``path``."""
    nbformat.write(notebook, path)
    return path


def export_zip(notebook: nbformat.NotebookNode, folder: Path) -> Path:
    """The zip the notebook's Submission cell makes, by running that cell's code in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / NOTEBOOK_NAME)
    (cell,) = [c for c in notebook.cells if "grader.export(" in c.source]
    code = f"import otter\ngrader = otter.Notebook({NOTEBOOK_NAME!r})\n{cell.source}"
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True, capture_output=True)
    (zip_path,) = folder.glob("autoencoders_mnist_*.zip")
    return zip_path
