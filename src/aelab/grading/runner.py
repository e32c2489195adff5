"""Grade notebooks: what a run is told, what it finds, and the trusted judges that do it.

Each notebook is graded by a judge process (``judge``): a trusted Python process that imports
torch and the lab's checks once and grades one notebook at a time, its cells in a sandbox and
its checks in the judge itself. ``Judges`` keeps one judge per notebook graded at once; a
judge that fails (or is lost with a notebook) costs that notebook an ``errored`` row and is
replaced, so no notebook can stop the others. Tasks and grades cross as JSON lines.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from aelab.grading import container
from aelab.grading.limits import Limits
from aelab.lab import EPOCH_CAP
from aelab.record import ERRORED, NotebookGrade

JUDGE_STARTUP_S = 120.0  # a judge importing torch and the checks on a busy machine
JUDGE_GRACE_S = 120.0  # past a notebook's own time limit, before its judge counts as lost
# --full-length: the students' whole training runs, so this many times the time limits
FULL_LENGTH = {"timeout": 6, "cell_timeout": 12}
WORKERS = os.cpu_count() or 1  # notebooks graded at once, by default


@dataclass(frozen=True)
class RunOptions:
    """How to run one notebook."""

    isolation: str = "bwrap"  # "bwrap", "docker" or "none"
    image: str = ""  # the Docker image, with --docker
    limits: Limits = field(default_factory=Limits)
    epoch_cap: int | None = EPOCH_CAP
    batch_cap: int | None = 4  # batches per pass in the capped cells (None: all, as at full length)
    threads: int = 1  # torch threads per notebook (cores / parallel notebooks)
    # Generous: a class is graded two notebooks at a time, and a busy machine is slow.
    cell_timeout: float = 300.0
    test_timeout: float = 120.0
    timeout: float = 900.0  # the whole notebook, all restarts included
    # The instructor's own notebooks (the build): failures unredacted, with the cell that
    # raised, and what each check looked up. Never for students' work.
    instructor: bool = False

    @classmethod
    def for_grading(
        cls,
        full_length: bool = False,
        timeout: float | None = None,
        cell_timeout: float | None = None,
        **options: Any,
    ) -> RunOptions:
        """Options for students' notebooks.

        ``full_length`` lifts the epoch cap and stretches the time limits not given.
        """
        scale = FULL_LENGTH if full_length else {}
        return cls(
            **{**options, **({"epoch_cap": None} if full_length else {})},
            timeout=timeout or cls.timeout * scale.get("timeout", 1),
            cell_timeout=cell_timeout or cls.cell_timeout * scale.get("cell_timeout", 1),
        )


def options_from_json(data: dict[str, Any]) -> RunOptions:
    """``RunOptions`` from its ``asdict`` form."""
    return RunOptions(**{**data, "limits": Limits(**data["limits"])})


def runnable_cells(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """The code cells to run while grading: all but otter's own plumbing and ignored cells."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if "otter_ignore" in cell.metadata.get("tags", []):
            continue
        if cell.metadata.get("otter", {}).get("ignore") or _otter_plumbing(cell.source):
            continue
        cells.append((index, cell.source))
    return cells


def _otter_plumbing(source: str) -> bool:
    """Only ``import otter``, ``grader = otter.Notebook(...)`` and ``grader.check(...)``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    for node in body:
        if isinstance(node, ast.Import) and [a.name for a in node.names] == ["otter"]:
            continue
        value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] != ["grader"]:
            return False
        if not isinstance(value, ast.Call):
            return False
        called = ast.unparse(value.func)
        if called not in ("otter.Notebook", "grader.check", "grader.check_all", "grader.export"):
            return False
    return bool(body)


class JudgeLost(RuntimeError):  # noqa: N818 (an outcome, like ProcessLookupError)
    """A judge process died, hung or answered with something that is not a grade."""


class _JudgeProcess:
    """One judge: ``python -m aelab.grading.judge``, ready for notebooks."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.containers = setup["options"]["isolation"] == "docker"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aelab.grading.judge"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # its errors go where the grader's go: the GSI's log
            start_new_session=True,  # Ctrl-C reaches the grader, which ends every judge
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._send(setup)
            self._receive(JUDGE_STARTUP_S)
        except JudgeLost:
            self.stop()
            raise

    def grade(self, cells: list[tuple[int, str]], seconds: float) -> dict[str, Any]:
        """The judge's grade of ``cells`` (a ``NotebookGrade`` as a dict)."""
        self._send({"cells": cells})
        answer = self._receive(seconds)
        if not isinstance(answer.get("grade"), dict):
            raise JudgeLost("the judge answered with something that is not a grade")
        return answer["grade"]

    def stop(self) -> None:
        """End the judge and its sandboxes (bubblewrap's die with it; containers are removed)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.containers:  # the engine's, not the judge's children: they would outlive it
            container.remove_started_by(self.process.pid)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.process.stdin.write(json.dumps(message, ensure_ascii=True).encode() + b"\n")
            self.process.stdin.flush()
        except OSError as error:
            raise JudgeLost(f"the judge stopped (exit status {self.process.poll()})") from error

    def _receive(self, seconds: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            raise JudgeLost(f"the judge gave no answer in {seconds:.0f} s") from None
        if line is None:
            raise JudgeLost(f"the judge stopped (exit status {self.process.wait()})")
        return json.loads(line)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)


class Judges:
    """Trusted judge processes, one per notebook graded at once; use ``with``."""

    def __init__(self, autograder: Path, data: Path | None, options: RunOptions, size: int):
        self.options = options
        self.setup = {
            "autograder": str(autograder),
            "data": str(data) if data else None,
            "options": asdict(options),
        }
        self.size, self.idle, self.started = size, queue.Queue(), []
        self.closed = False
        self._lock = threading.Lock()

    def __enter__(self) -> Judges:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def grade(self, notebook: nbformat.NotebookNode) -> NotebookGrade:
        """Grade ``notebook`` with the next free judge (starting one if fewer run)."""
        return self.grade_cells(runnable_cells(notebook))

    def grade_cells(self, cells: list[tuple[int, str]]) -> NotebookGrade:
        """Grade a notebook's ``runnable_cells`` (all a cluster's worker receives of it)."""
        judge = self._take()
        try:
            if judge is None:
                judge = self._start()
            grade = judge.grade(cells, self.options.timeout + JUDGE_GRACE_S)
        except JudgeLost as lost:  # what went wrong is the GSI's to read, not the student's
            print(f"aelab grade: a judge was lost: {lost}", file=sys.stderr)
            self._retire(judge)
            judge = None
            return NotebookGrade(status=ERRORED, reason="grading failed (its judge stopped)")
        finally:
            if judge is not None:
                self.idle.put(judge)
        return NotebookGrade(**grade)

    def close(self) -> None:
        """Stop every judge (and so every sandbox)."""
        with self._lock:
            judges, self.started, self.closed = self.started, [], True
        for judge in judges:
            judge.stop()

    def _take(self) -> _JudgeProcess | None:
        with self._lock:
            if len(self.started) < self.size and self.idle.empty():
                return None
        return self.idle.get()

    def _start(self) -> _JudgeProcess:
        judge = _JudgeProcess(self.setup)
        with self._lock:
            if not self.closed:
                self.started.append(judge)
                return judge
        judge.stop()  # closed while it started (a cluster's worker lives on): none outlives it
        raise JudgeLost("the judges were closed while it started")

    def _retire(self, judge: _JudgeProcess | None) -> None:
        if judge is None:
            return
        with self._lock:
            if judge in self.started:
                self.started.remove(judge)
        judge.stop()


def grade_notebook(
    notebook: nbformat.NotebookNode, autograder: Any, data: Path | None, options: RunOptions
) -> NotebookGrade:
    """Grade one notebook with a judge of its own (``autograder``: read, or its path)."""
    path = Path(getattr(autograder, "path", autograder))
    with Judges(path, data, options, size=1) as judges:
        return judges.grade(notebook)
