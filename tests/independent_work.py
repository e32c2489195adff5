"""Correct notebooks written independently of the reference solution, and a disguised copy of one.

The similarity report must tell these apart: two students who each wrote their own correct
answers (in the styles students really use: loops building layers, named layers and
``F.relu``, helper functions) are not near-copies, while a copy of the solution with its
variables renamed and its cells reordered is.
"""

from __future__ import annotations

import re

import nbformat
import student_work as work

# The styles live beside the lab (the build grades them too): its independent_answers.py
from independent_answers import HELPERS, LOOPS, VARIANTS, style_sources
from independent_answers import with_answers as _with_answers

__all__ = [
    "HELPERS", "LOOPS", "VARIANTS", "disguised", "style_sources", "variant", "with_answers"
]  # fmt: skip

# The disguise: every name the solution's answers choose (none the autograder looks up), renamed.
RENAMES = {
    "full_trainset": "mnist_all", "train_size": "n_tr", "best_loss": "lowest_seen",
    "best_state": "snapshot", "patience_counter": "strikes", "criterion": "loss_function",
    "optimizer": "opt", "images": "imgs", "_labels": "_y",
    "latent": "code", "total": "running", "count": "n_seen", "val_loss": "validation",
    "hidden": "feats", "std": "sigma", "squared_error": "rec_term", "kl": "kl_term",
    "weights": "alphas", "path": "line", "start": "z_from", "end": "z_to",
}  # fmt: skip


def variant(built, name: str) -> nbformat.NotebookNode:
    """The solution notebook with every answer written the ``name`` way instead."""
    return with_answers(built, VARIANTS[name])


def with_answers(built, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The solution notebook with the cell holding each marker replaced by its new source."""
    return _with_answers(work.solution(built), answers)


def disguised(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with its answers' own names renamed and its two model classes swapped
    in order (the VAE defined before the autoencoder), as a copier hides a copy."""
    notebook = nbformat.from_dict(notebook)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b")
    for cell in notebook.cells:
        if cell.cell_type == "code" and "otter_assign_solution_cell" in cell.metadata.get(
            "tags", []
        ):
            cell.source = pattern.sub(lambda m: RENAMES[m[1]], cell.source)
    cells = notebook.cells
    vae = next(i for i, c in enumerate(cells) if "class VAE(" in c.source)
    autoencoder = next(i for i, c in enumerate(cells) if "class AutoEncoder(" in c.source)
    cells.insert(autoencoder, cells.pop(vae))
    return notebook
