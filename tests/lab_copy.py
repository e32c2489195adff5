"""A copy of this project's lab to change as an instructor would, and build."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
from lab_env import LAB, MASTER


def copy_lab(where: Path) -> Path:
    """The lab's folder (master, checks, description, independent answers) copied into
    ``where`` at the same place as in the project (``notebooks/autoencoders_mnist``)."""
    folder = where / "notebooks" / LAB.folder.name
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


def add_check(
    folder: Path,
    module: str,
    source: str,
    question: str,
    test: str,
    check: str,
    reads: tuple[str, ...] | None,
    points: float = 1,
    hidden: bool = True,
) -> None:
    """Add a check as docs/instructor.md's recipe says: its code and READS entry in ``module``, its
    export, a test cell at the end of ``question``'s tests, its points in both places, and its
    row in the requirements table (where the lab has one)."""
    path = folder / "lab_checks" / f"{module}.py"
    text = path.read_text(encoding="utf-8") + source
    if reads is not None:
        text = text.replace("READS = {\n", f"READS = {{\n    {check!r}: {reads!r},\n", 1)
    path.write_text(text, encoding="utf-8")
    init = folder / "lab_checks" / "__init__.py"
    init.write_text(init.read_text() + f"from .{module} import {check}\n", encoding="utf-8")
    cell = nbformat.v4.new_code_cell(
        f'""" # BEGIN TEST CONFIG\npoints: {points:g}\nhidden: {str(hidden).lower()}\n'
        f'""" # END TEST CONFIG\ndef {test}(env):\n    import lab_checks\n'
        f"    lab_checks.{check}(env)"
    )
    insert_test_cell(folder, question, cell)
    add_points(folder, question, points)
    table = folder / "lab_checks" / "REQUIREMENTS.md"
    if table.exists():
        heading = f"## Problem {question.removeprefix('q')}:"
        text = table.read_text(encoding="utf-8")
        rule = text.index("|---|---|\n", text.index(heading)) + len("|---|---|\n")
        row = f"| what `{check}` checks | `{test}` ({points:g}) |\n"
        table.write_text(text[:rule] + row + text[rule:], encoding="utf-8")


def insert_test_cell(folder: Path, question: str, cell: nbformat.NotebookNode) -> None:
    """Put ``cell`` last among ``question``'s test cells in the copy's master."""
    path = folder / MASTER.name
    master = nbformat.read(path, as_version=4)
    start = next(i for i, c in enumerate(master.cells) if f"name: {question}\n" in c.source)
    end = next(i for i, c in enumerate(master.cells) if i > start and c.source == "# END TESTS")
    master.cells.insert(end, cell)
    nbformat.write(master, path)


def add_points(folder: Path, question: str, points: float) -> None:
    """``points`` more for ``question`` (its ``points:`` line) and the lab (``lab.toml``)."""
    path = folder / MASTER.name
    master = nbformat.read(path, as_version=4)
    (cell,) = [c for c in master.cells if f"name: {question}\n" in c.source]
    declared = float(re.search(r"^points:\s*([\d.]+)", cell.source, re.M)[1])
    cell.source = re.sub(
        r"^points:.*$", f"points: {declared + points:g}", cell.source, count=1, flags=re.M
    )
    nbformat.write(master, path)
    toml = folder / "lab.toml"
    total = float(re.search(r"^points = ([\d.]+)", toml.read_text(), re.M)[1])
    toml.write_text(
        re.sub(
            r"^points = [\d.]+",
            f"points = {total + points:g}",
            toml.read_text(),
            count=1,
            flags=re.M,
        )
    )
