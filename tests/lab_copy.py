"""A copy of this project's lab to change as an instructor would, and build."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from lab_env import MASTER


def copy_lab(where: Path) -> Path:
    """``notebooks/`` (master, checks, description, independent answers) copied into ``where``."""
    folder = where / "notebooks"
    shutil.copytree(
        MASTER.parent, folder, ignore=shutil.ignore_patterns("__pycache__", "data", ".ipynb*")
    )
    return folder


def edit_master(folder: Path, old: str, new: str) -> None:
    """Replace ``old`` (found in exactly one cell) by ``new`` in the copy's master."""
    path = folder / MASTER.name
    master = nbformat.read(path, as_version=4)
    (cell,) = [c for c in master.cells if old in c.source]
    cell.source = cell.source.replace(old, new)
    nbformat.write(master, path)
