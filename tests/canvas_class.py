"""A class as Canvas hands it to a GSI: a "Download Submissions" zip and a gradebook export.

Honest students of every kind (a team, a late resubmission with mistakes, an export zip, HTML
only, a broken file, cells pasted into a new notebook, another lab's notebook, a notebook and
its HTML copy, a group's file, a text entry, an excused student, a grade set by hand) beside
one student per attack in ``tests/attacks/``. Graded once per test session.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import student_work as work

ATTACKS = Path(__file__).with_name("attacks")
MARKER = "aelab-attack-marker-7d1f"
TOKEN = "token-sentinel-93b2"  # planted in the grader's environment
SSH_KEY = "ssh-sentinel-5c7e"  # planted in the grader's home
HONEST_ANSWER = "honest-answer-sentinel-4a1e"  # one student's written answer
COLUMN = "Group Work 13: Autoencoders with MNIST (901)"
# Canvas's groups export: one student graded as a group (a group's file name holds a number)
GROUPS = {"lab_group_3": ["114"]}
HONEST = {  # user id: (Canvas name, gradebook cell of this assignment before grading)
    "101": ("Doe, Jane", ""),
    "102": ("Roe, John", ""),
    "103": ("Poe, Ed", ""),
    "104": ("Lee, Ann", ""),
    "105": ("Kim, Sue", ""),
    "106": ("Park, Kim", ""),
    "111": ("Copy, Cat", ""),
    "112": ("Wrong, Will", ""),
    "113": ("Moe, Al", ""),
    "114": ("Grouper, Gia", ""),
    "115": ("Text, Tess", ""),
    "116": ("Excused, Eve", "EX"),
    "117": ("Hand, Graded", "41"),
    "118": ("Absent, Abe", "20"),
    "119": ("Workers, Wes", ""),
}


@dataclass(frozen=True)
class Attack:
    """One file of tests/attacks/: the cell a student adds, and what must happen."""

    name: str
    user_id: str
    base: str  # "blank" or "solution"
    replaces: str  # the start of the cell it replaces, or "" to add a cell after the setup
    expect: str
    code: str


def attacks(port: int, planted: Path) -> list[Attack]:
    """The attacks, their placeholders filled in."""
    found = []
    for index, path in enumerate(sorted(ATTACKS.glob("*.py"))):
        text = path.read_text()
        header = dict(re.findall(r"^# (base|replaces|expect): (.+)$", text, re.MULTILINE))
        code = (
            text.replace("{MARKER}", MARKER)
            .replace("{PORT}", str(port))
            .replace("{PLANTED}", str(planted))
            .replace("{SURROGATE}", "\ud800")  # a lone surrogate: no UTF-8 for it
        )
        found.append(
            Attack(
                path.stem,
                str(201 + index),
                header["base"],
                header.get("replaces", ""),
                header["expect"],
                code,
            )
        )
    return found


def _with_attack(built: Path, attack: Attack) -> nbformat.NotebookNode:
    notebook = work.solution(built) if attack.base == "solution" else work.blank(built)
    if attack.replaces:
        cell = next(c for c in notebook.cells if c.source.startswith(attack.replaces))
        cell.source = attack.code
        return notebook
    return work.with_extra_cell(notebook, attack.code)


def _pasted(notebook: nbformat.NotebookNode, otter: dict | None) -> nbformat.NotebookNode:
    del notebook.metadata["otter"]
    if otter is not None:
        notebook.metadata["otter"] = otter
    return notebook


def _with_answer(notebook: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    cell = next(c for c in notebook.cells if "otter_answer_cell" in c.metadata.get("tags", []))
    cell.source = text
    return notebook


def _with_workers(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook.cells if "train_loader = DataLoader(" in c.source]
    cell.source = cell.source.replace("shuffle=True)", "shuffle=True, num_workers=2)")
    return notebook


def build_class(built: Path, folder: Path, port: int, planted: Path) -> tuple[Path, Path]:
    """Write the download zip and the gradebook; return their paths."""
    files: dict[str, nbformat.NotebookNode | str | bytes] = {
        "doejane_101_5001_autoencoders_mnist.ipynb": _with_answer(
            work.with_team(work.solution(built), [("Jane Doe", "101"), ("John Roe", "102")]),
            f"The encoder compresses each image. {HONEST_ANSWER}",
        ),
        # late, with two mistakes: the KL sign and a uniform "prior"
        "poeed_LATE_103_5003_autoencoders_mnist-1.ipynb": work.with_mistakes(built, {"q9", "q10"}),
        "kimsue_105_5005_autoencoders_mnist.html": "<html>answers</html>",
        "parkkim_106_5006_autoencoders_mnist.ipynb": '{"cells": [',
        "copycat_111_5011_autoencoders_mnist.ipynb": _pasted(work.solution(built), None),
        "wrongwill_112_5012_autoencoders_mnist.ipynb": _pasted(
            work.solution(built), {"assignment_name": "lab11"}
        ),
        # one attempt, two files: the notebook is graded, the HTML copy is kept for reading
        "moeal_113_5013_autoencoders_mnist.ipynb": work.blank(built),
        "moeal_113_5014_autoencoders_mnist.html": "<html>copy</html>",
        # a group's file: its name holds a number of its own
        "lab_group_3_114_5015_autoencoders_mnist.ipynb": work.blank(built),
        "texttess_115_text.html": "<html>I wrote my answers here</html>",
        "excusedeve_116_5016_autoencoders_mnist.ipynb": work.blank(built),
        "handgraded_117_5017_autoencoders_mnist.ipynb": work.solution(built),
        # DataLoader workers: forked processes sharing the notebook's memory, and /dev/shm
        "workerswes_119_5019_autoencoders_mnist.ipynb": _with_workers(work.solution(built)),
        "readme.txt": "not from Canvas",
    }
    for attack in attacks(port, planted):
        slug = f"attack{attack.name.replace('_', '')}"
        files[f"{slug}_{attack.user_id}_{6000 + int(attack.user_id)}_autoencoders_mnist.ipynb"] = (
            _with_attack(built, attack)
        )
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            work.write(content, folder / name)
    export = work.export_zip(work.ran(work.blank(built)), folder.parent / "export")
    shutil.copy(export, folder / "leeann_104_5004_autoencoders_mnist_2026.zip")
    download = folder.parent / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    gradebook = folder.parent / "gradebook.csv"
    people = dict(HONEST)
    people.update({a.user_id: (f"Attack, {a.name}", "") for a in attacks(port, planted)})
    lines = [
        f"Student,ID,SIS User ID,SIS Login ID,Section,Lab 12 (900),{COLUMN},"
        "Current Score,Current Score (2026 Fall)",
        "    Points Possible,,,,,20.00,45.00,(read only),(read only)",
        ",,,,,,Manual Posting,,",
    ]
    lines += [
        f'"{name}",{user_id},s{user_id},login{user_id},Lab 1,18,{cell},90,90'
        for user_id, (name, cell) in people.items()
    ]
    gradebook.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return download, gradebook
