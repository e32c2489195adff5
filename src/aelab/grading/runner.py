"""Grade one notebook: run its cells, then each test, in a sandbox; score it from our own copy.

The worker reports each cell and each test as it finishes. The grader holds a deadline for
whatever runs now: a cell or test past its time limit is killed together with the sandbox,
which starts again without that cell (or that test), so a hanging test costs its own points
only and a notebook that never finishes still earns what its other questions are worth.

Scores come from the autograder's specs: a test counts only if the grader asked for it,
and earns exactly its points. Code aimed at the grader (found by the scan before the run, or
by the worker's integrity report after it) puts the notebook up for review instead.
"""

from __future__ import annotations

import ast
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from aelab.grading.autograder import Autograder
from aelab.grading.sandbox import HOME, Limits, Sandbox, environment
from aelab.grading.scan import scan_cells

GRADED, REVIEW, ERRORED = "graded", "needs review", "errored"
# Cells that use the lab's epoch cap are its long training runs: while grading they also pass
# over at most ``batch_cap`` batches of each loader.
CAP_MARKER = "EPOCH_CAP"
STARTUP_S = 120.0  # Python, torch and IPython starting in a fresh sandbox
GRACE_S = 10.0  # past a cell's or test's own limit, before the sandbox is killed
ATTEMPTS = 4  # sandbox starts per notebook: the first, and one per hanging cell or test
_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class RunOptions:
    """How to run one notebook."""

    isolation: str = "bwrap"  # "bwrap", "docker" or "none"
    image: str = ""  # the Docker image, with --docker
    limits: Limits = field(default_factory=Limits)
    epoch_cap: int | None = 1
    batch_cap: int | None = 4  # batches per pass in the capped cells (None: all, as at full length)
    threads: int = 1  # torch threads per notebook (cores / parallel notebooks)
    # Generous: a class is graded two notebooks at a time, and a busy machine is slow.
    cell_timeout: float = 300.0
    test_timeout: float = 120.0
    timeout: float = 900.0  # the whole notebook, all restarts included


@dataclass
class NotebookGrade:
    """What grading one notebook found."""

    status: str
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    tests: list[dict[str, Any]] = field(default_factory=list)  # name, question, passed, message
    review: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: start-up, cells, tests

    @property
    def total(self) -> float:
        """Autograded points earned."""
        return sum(self.scores.values())

    @property
    def possible(self) -> float:
        """Autograded points available."""
        return sum(self.max_scores.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form, for the result cache."""
        return self.__dict__.copy()


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


class _Run:
    """One sandbox start: feed it the job, follow its events against the deadlines."""

    def __init__(self, sandbox: Sandbox, job: dict[str, Any], until: float) -> None:
        self.sandbox, self.until = sandbox, until
        self.limits = {"cell": job["cell_timeout"], "test": job["test_timeout"]}
        self.job_cells = job["cells"]
        self.events: queue.Queue = queue.Queue()
        self.current: tuple[str, Any] | None = None  # ("cell", index) or ("test", name)
        self.started, self.since = time.monotonic(), time.monotonic()
        self.phases: dict[str, float] = {}
        threading.Thread(target=self._read, daemon=True).start()
        self.send(job)

    def send(self, message: dict[str, Any], last: bool = False) -> None:
        """One JSON line on the worker's input (it died if this fails; the reader sees it)."""
        try:
            self.sandbox.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.sandbox.process.stdin.flush()
            if last:
                self.sandbox.process.stdin.close()
        except OSError:
            pass

    def _read(self) -> None:
        for line in iter(lambda: self.sandbox.process.stdout.readline(_LINE_LIMIT), b""):
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbled"}
            self.events.put(event if isinstance(event, dict) else {"event": "garbled"})
        self.events.put(None)

    def follow(self):
        """Yield events until the end; ``{"event": "stuck"}`` when a deadline passes."""
        deadline = time.monotonic() + STARTUP_S
        while True:
            wait = min(deadline, self.until) - time.monotonic()
            try:
                event = self.events.get(timeout=max(wait, 0))
            except queue.Empty:
                yield {"event": "stuck", "over_total": time.monotonic() >= self.until}
                return
            if event is None:
                yield {"event": "ended"}
                return
            kind, phase = event.get("event"), event.get("phase")
            now = time.monotonic()
            if kind in self.limits and phase == "start":
                deadline = now + self.limits[kind] + GRACE_S
                if not self.phases:
                    self.phases["start-up"] = now - self.started
            elif kind in self.limits and phase == "end":
                key = "cells" if kind == "cell" else str(event.get("name", "")).split("/")[0]
                self.phases[key] = self.phases.get(key, 0.0) + now - self.since
            self.since = now
            yield event


def grade_notebook(
    notebook: nbformat.NotebookNode,
    autograder: Autograder,
    mnist: Path | None,
    options: RunOptions,
) -> NotebookGrade:
    """Run ``notebook`` and the autograder's tests in sandboxes; its scores and verdicts."""
    started = time.monotonic()
    cells = runnable_cells(notebook)
    review = [finding.describe() for finding in scan_cells(cells)]
    state = _State({test.key: secrets.token_hex(8) for test in autograder.tests})
    until = started + options.timeout
    for _attempt in range(ATTEMPTS):
        env = _env(options, mnist)
        sandbox = Sandbox(options.isolation, mnist, env, options.limits, options.image)
        run = _Run(sandbox, _cells_job(cells, state, options), until)
        try:
            again = state.follow(run, lambda: _tests_job(autograder, state, options))
        finally:
            sandbox.close()
        if sandbox.over_limit:
            state.notes.append(f"the sandbox was stopped: it {sandbox.over_limit}")
        for key, seconds in run.phases.items():
            state.phases[key] = state.phases.get(key, 0.0) + seconds
        if not again or time.monotonic() >= until:
            break
    grade = _grade(autograder, state, review)
    grade.seconds = time.monotonic() - started
    grade.phases = {key: round(seconds, 2) for key, seconds in state.phases.items()}
    return grade


@dataclass
class _State:
    """What the sandbox starts of one notebook found, together.

    The worker's reports must come in the order of the job: each cell's start and end, then
    ``cells-done``, then each test's start and end with that test's nonce (sent only once
    the cells are done). Anything else is the notebook writing reports of its own.
    """

    nonces: dict[str, str]  # test key → the nonce its verdict must carry
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)  # cell index → why it was left out
    integrity: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    ran: bool = False  # some cell or test ran at all

    def follow(self, run: _Run, tests_job) -> bool:
        """Record one sandbox's events; whether to start it again for what is left."""
        cells = [c["index"] for c in run.job_cells]
        tests: list[str] = []
        phase = "cells"  # then "tests", once the tests were sent
        for event in run.follow():
            kind, stage = event.get("event"), event.get("phase")
            idle = run.current is None
            if kind in ("stuck", "ended"):
                return self._stopped(run, event)
            if phase == "cells" and kind == "cell" and stage == "start" and idle and cells:
                if event.get("index") != cells[0]:
                    return self._forged(event)
                run.current, self.ran = ("cell", cells.pop(0)), True
            elif kind == "cell" and stage == "end" and run.current == ("cell", event.get("index")):
                if event.get("status") == "timeout":
                    self.skipped[run.current[1]] = "ran past its time limit"
                run.current = None
            elif phase == "cells" and kind == "cells-done" and idle and not cells:
                job = tests_job()
                tests, phase = [t["name"] for t in job["tests"]], "tests"
                run.send(job, last=True)
            elif phase == "tests" and kind == "test" and stage == "start" and idle and tests:
                if event.get("name") != tests[0]:
                    return self._forged(event)
                run.current, self.ran = ("test", tests.pop(0)), True
            elif kind == "test" and stage == "end" and run.current == ("test", event.get("name")):
                if event.get("nonce") != self.nonces[run.current[1]]:
                    return self._forged(event)
                self.verdicts[run.current[1]] = event
                run.current = None
            elif phase == "tests" and kind == "integrity" and idle and not tests:
                problems = event.get("problems")
                if not isinstance(problems, list):
                    problems = ["the integrity report was garbled"]
                self.integrity += [str(p)[:200] for p in problems[:20]]
            elif phase == "tests" and kind == "done" and idle and not tests:
                return False
            else:
                return self._forged(event)
        return False

    def _forged(self, event: dict[str, Any]) -> bool:
        self.integrity.append(
            f"the worker's reports were out of order or not its own (at {event.get('event')!r} "
            f"{event.get('phase', '')}): the notebook wrote reports of its own"
        )
        return False

    def _stopped(self, run: _Run, event: dict[str, Any]) -> bool:
        """The sandbox ended or hung: leave out what was running, if anything, and go again."""
        if run.current is None:
            return False  # finished, or failed outside any cell or test
        what, which = run.current
        if what == "cell":
            self.skipped[_int(which)] = "was stopped (it hung, crashed or used too much)"
        else:
            self.verdicts.setdefault(which, {"passed": False, "error": "TimeLimit"})
        return not event.get("over_total")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _env(options: RunOptions, mnist: Path | None) -> dict[str, str]:
    return environment(options.epoch_cap, options.threads, f"{HOME}/data" if mnist else None)


def _cells_job(cells, state: _State, options: RunOptions) -> dict[str, Any]:
    return {
        "cells": [{"index": i, "source": s} for i, s in cells if i not in state.skipped],
        "cap_marker": CAP_MARKER,
        "batch_cap": options.batch_cap if options.epoch_cap is not None else None,
        "cell_timeout": options.cell_timeout,
        "test_timeout": options.test_timeout,
        "limits": options.limits.rlimits(),
    }


def _tests_job(autograder: Autograder, state: _State, options: RunOptions) -> dict[str, Any]:
    tests = [t for t in autograder.job_tests() if t["name"] not in state.verdicts]
    return {
        "tests": [{**t, "nonce": state.nonces[t["name"]]} for t in tests],
        "checks_source": autograder.checks_source,
        "checks_module": autograder.lab.checks_module,
        "test_timeout": options.test_timeout,
    }


def _grade(autograder: Autograder, state: _State, review: list[str]) -> NotebookGrade:
    if not state.ran:
        reason = "; ".join(state.notes) or "the sandbox did not start the notebook"
        return NotebookGrade(status=ERRORED, reason=reason)
    grade = NotebookGrade(status=GRADED, max_scores=autograder.questions)
    grade.scores = dict.fromkeys(autograder.questions, 0.0)
    late = []
    for test in autograder.tests:
        verdict = state.verdicts.get(test.key)
        passed = bool(verdict and verdict.get("passed") is True)
        if passed:
            grade.scores[test.question] += test.points
        elif verdict is None or verdict.get("error") == "TimeLimit":
            late.append(test.question)
        grade.tests.append(
            {
                "name": test.function,
                "question": test.question,
                "points": test.points,
                "hidden": test.hidden,
                "passed": passed,
                "message": "" if passed else autograder.message(verdict or {"error": "TimeLimit"}),
            }
        )
    reasons = [f"cell {index} {why}" for index, why in sorted(state.skipped.items())]
    if late:
        reasons.append("timed out or not run: " + ", ".join(dict.fromkeys(late)))
    grade.review = state.integrity + review
    if grade.review:
        grade.status = REVIEW
        reasons.insert(0, "for review: " + "; ".join(grade.review[:5]))
    grade.reason = "; ".join(reasons + state.notes)
    return grade
