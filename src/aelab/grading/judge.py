"""The trusted judge: grades one notebook at a time, and never runs a line of its code.

The notebook's cells run in a sandbox (see ``sandbox``), in the worker of
``aelab.student_side``. Every check runs here, in the judge's own process: it asks the
sandboxed notebook its questions (``remote.Sandboxed``), gets plain data back, compares it
with what it computed itself, and the verdict and its message are made here. The sandbox
receives the notebook's cells, the checks' test doubles and the inputs each check chose
(drawn afresh for each notebook), and nothing else of the checks.

Deadlines: each cell and each test has its own time limit. A cell or test past its limit is
stopped, and if the sandbox does not answer within a grace period it is killed and started
again without that cell (or past that test), so a hanging test costs its own points only and
a notebook that never finishes still earns what its other questions are worth.

``python -m aelab.grading.judge`` is one judge process (see ``runner.Judges``): it reads its
set-up, then one notebook per line, as JSON on its standard input, and writes each grade as a
line of JSON. When its input ends (its grader is gone: killed, or a cluster's worker that died)
it ends at once, and kills the sandbox of a notebook in progress first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import resource
import secrets
import signal
import sys
import tempfile
import threading
import time
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from aelab.grading.autograder import (
    Autograder,
    TestSpec,
    given_cell_message,
    read_autograder,
    stopped_message,
)
from aelab.grading.inside import HOME, environment
from aelab.grading.remote import GRACE_S, OutOfTime, Pipes, Sandboxed, SandboxGone
from aelab.grading.runner import RunOptions, options_from_json
from aelab.grading.sandbox import Sandbox
from aelab.grading.scan import scan_cells
from aelab.record import ERRORED, GRADED, REVIEW, NotebookGrade
from aelab.student_side.objects import StudentError

STARTUP_S = 120.0  # Python, torch and IPython starting in a fresh sandbox
FIRST_ANSWER_S = 20.0  # for the first request after the cells (the doubles): no code of theirs
JUDGE_MEMORY = 4 * 2**30  # bytes of address space for a judge (it needs under 1 GB)
ATTEMPTS = 4  # sandbox starts per notebook: the first, and one per hanging cell or test
CRASH_MESSAGE = "Your code stopped the test's process (it crashed, or used too much memory)."
NOT_RUN = "The test was not run: the notebook interfered with the grader."


def load_checks(autograder: Autograder, folder: Path) -> types.ModuleType:
    """The autograder's checks (a module or a package), imported from a copy in ``folder``."""
    for name, source in autograder.checks.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source, encoding="utf-8")
    top = folder / autograder.lab.checks
    unique = f"checks_{autograder.digest[:16]}"
    if top.is_dir():
        spec = importlib.util.spec_from_file_location(
            unique, top / "__init__.py", submodule_search_locations=[str(top)]
        )
    else:
        spec = importlib.util.spec_from_file_location(unique, top)
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module


def worker_limits(options: RunOptions) -> dict[str, int]:
    """The limits the worker sets on itself: a per-user one only in bubblewrap's user namespace."""
    return options.limits.rlimits(per_user=options.isolation == "bwrap")


@dataclass
class _Progress:
    """What the sandbox starts of one notebook found, together."""

    seed: int  # the checks' random inputs, drawn afresh for each notebook
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # test key → verdict
    skipped: dict[int, str] = field(default_factory=dict)  # cell index → why it was left out
    failed: dict[int, str] = field(default_factory=dict)  # cell index → the exception it raised
    review: list[str] = field(default_factory=list)  # what a person should look at
    notes: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)  # instructor runs
    ran: bool = False  # some cell or test ran at all
    tampered: bool = False  # the notebook broke the channel: nothing more can be asked

    def time(self, phase: str, since: float) -> float:
        """Add the seconds since ``since`` to ``phase``; now."""
        now = time.monotonic()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now


class Judge:
    """Grades notebooks with one autograder's checks (imported once)."""

    def __init__(self, autograder: Autograder, data: Path | None, options: RunOptions) -> None:
        self.autograder, self.data, self.options = autograder, data, options
        self.time_message = autograder.lab.time_message
        self._folder = tempfile.TemporaryDirectory(prefix="aelab-checks-")
        self.checks = load_checks(autograder, Path(self._folder.name))
        self._sandbox: Sandbox | None = None  # the one running now, for ``end``
        self._lock = threading.Lock()

    def grade(self, cells: list[tuple[int, str]]) -> NotebookGrade:
        """Run ``cells`` in sandboxes and judge them with every test of the autograder."""
        started = time.monotonic()
        checks = self.autograder.lab.checks_module
        review = [finding.describe() for finding in scan_cells(cells, checks)]
        progress = _Progress(seed=secrets.randbits(31))
        until = started + self.options.timeout
        for _attempt in range(ATTEMPTS):
            env = environment(
                self.options.epoch_cap, self.options.threads, f"{HOME}/data" if self.data else None
            )
            with self._lock:
                sandbox = self._sandbox = Sandbox(
                    self.options.isolation, self.data, env, self.options.limits, self.options.image
                )
            pipes = Pipes(sandbox.process.stdin, sandbox.process.stdout)
            try:
                again = self._attempt(pipes, cells, progress, until)
            finally:
                pipes.close()
                with self._lock:  # ``end`` must not kill a process group that is gone
                    sandbox.close()
                    self._sandbox = None
            if sandbox.over_limit:
                progress.notes.append(f"the sandbox was stopped: it {sandbox.over_limit}")
            if not again or time.monotonic() >= until:
                break
        grade = self._verdict(progress, review, self._given_failures(cells, progress))
        grade.seconds = time.monotonic() - started
        grade.phases = {key: round(seconds, 2) for key, seconds in progress.phases.items()}
        return grade

    def end(self) -> None:
        """End this process now, with the sandbox it runs (no one is left to read a grade)."""
        with self._lock:  # held until the end: no sandbox starts after this one is killed
            if self._sandbox is not None:
                self._sandbox.kill()
            self._folder.cleanup()
            os._exit(0)

    def _attempt(self, pipes: Pipes, cells, progress: _Progress, until: float) -> bool:
        """One sandbox start: the cells not left out, then the tests not judged yet.

        Returns whether to start again (a cell or test hung or crashed the sandbox).
        """
        started = time.monotonic()
        pipes.send({"job": self._job(cells, progress)})
        stopped = self._run_cells(pipes, _left(cells, progress), progress, until, started)
        if stopped is not None:
            return stopped
        student = Sandboxed(pipes, str(self.data) if self.data else None, self.options.instructor)
        try:
            student.deadline = time.monotonic() + FIRST_ANSWER_S
            try:
                student.send_doubles(self.autograder.doubles)
            except SandboxGone as gone:  # an honest worker answers this at once
                if gone.why != "stuck":
                    raise
                lost = "the worker stopped hearing the grader once the cells ran"
                return self._tampered(progress, lost)
            for index, test in enumerate(self.autograder.tests):
                if test.key not in progress.verdicts:
                    self._judge_test(student, test, index, progress)
            student.deadline = time.monotonic() + STARTUP_S
            progress.review += student.integrity()
            pipes.send({"op": "end"})
        except SandboxGone as gone:
            return self._gone(gone, progress, until)
        return False

    def _job(self, cells, progress: _Progress) -> dict[str, Any]:
        options = self.options
        return {
            "cells": [{"index": i, "source": s} for i, s in _left(cells, progress)],
            "cap_marker": self.autograder.lab.cap_marker,
            "batch_cap": options.batch_cap if options.epoch_cap is not None else None,
            "cell_timeout": options.cell_timeout,
            "limits": worker_limits(options),
            "own_pids": options.isolation != "none",  # unsandboxed, the grader's are there too
        }

    def _run_cells(self, pipes: Pipes, cells, progress: _Progress, until: float, since: float):
        """Follow the cells' reports; None when all ran, else whether to start again.

        The reports must come in the order of the job: each cell's start and end, then
        ``cells-done``. Anything else is the notebook writing reports of its own.
        """
        pending = [i for i, _ in cells]
        current, deadline = None, time.monotonic() + STARTUP_S
        while True:
            try:
                header, _ = pipes.receive(min(deadline, until))
            except SandboxGone as gone:
                if current is None or gone.why == "garbled":
                    return self._gone(gone, progress, until)
                why = "ran past its time limit" if gone.why == "stuck" else "was stopped"
                progress.skipped[current] = f"{why} (it hung, crashed or used too much)"
                return time.monotonic() < until
            event, phase = header.get("event"), header.get("phase")
            if event == "cell" and phase == "start" and current is None and pending:
                if header.get("index") != pending[0]:
                    return self._tampered(progress, "the grader got cell reports out of order")
                if not progress.ran:
                    since = progress.time("start-up", since)
                current, progress.ran = pending.pop(0), True
                deadline = time.monotonic() + self.options.cell_timeout + GRACE_S
            elif event == "cell" and phase == "end" and current is not None:
                if header.get("index") != current:
                    return self._tampered(progress, "the grader got cell reports out of order")
                if header.get("status") == "timeout":
                    progress.skipped[current] = "ran past its time limit"
                elif header.get("status") == "error":
                    error = str(header.get("error", ""))
                    progress.failed[current] = error.split(":")[0][:80]
                    if self.options.instructor:
                        where = header.get("where")
                        progress.cell_errors.append(
                            {"index": current, "error": error[:400], "where": where}
                        )
                current, deadline = None, time.monotonic() + STARTUP_S
                since = progress.time("cells", since)
            elif event == "cells-done" and current is None and not pending:
                return None
            else:
                return self._tampered(progress, "the grader got reports that were not the worker's")

    def _judge_test(self, student: Sandboxed, test: TestSpec, index: int, progress) -> None:
        """Run one check against the sandboxed notebook; its verdict, made here.

        The check's own work is bounded too (answers far larger than asked for could keep it
        busy): past the test's limit and the waits it allows, an alarm stops it.
        """
        started = time.monotonic()
        torch.manual_seed(progress.seed + index)  # the check's own inputs, fresh per notebook
        student.deadline = started + self.options.test_timeout
        check = getattr(self.checks, test.check)
        try:
            with _alarm(self.options.test_timeout + 2 * GRACE_S):
                check(student, *test.arguments)
            verdict: dict[str, Any] = {"passed": True}
        except (OutOfTime, JudgeOutOfTime):
            verdict = {"passed": False, "error": "TimeLimit", "message": self.time_message}
        except SandboxGone as gone:
            message = {"stuck": self.time_message, "ended": CRASH_MESSAGE}.get(gone.why, NOT_RUN)
            verdict = {"passed": False, "error": "TimeLimit", "message": message}
            progress.verdicts[test.key] = verdict
            raise
        except StudentError as error:
            verdict = {"passed": False, "message": stopped_message(error.kind)}
            if self.options.instructor:
                verdict.update(message=_unredacted(error), where=error.where)
        except Exception as failure:  # a verdict (CheckFailed), or an answer it could not use
            verdict = {"passed": False, "message": self.autograder.render(failure)}
            if self.options.instructor:
                cause = failure.__context__
                where = cause.where if isinstance(cause, StudentError) else None
                verdict.update(message=_unredacted(failure), where=where)
        if self.options.instructor:
            verdict["reads"] = [list(read) for read in student.reads]
        progress.verdicts[test.key] = verdict
        progress.ran = True
        progress.time(test.question, started)
        student.deadline = time.monotonic() + STARTUP_S
        student.forget()

    def _gone(self, gone: SandboxGone, progress: _Progress, until: float) -> bool:
        """The sandbox ended, hung or garbled its answers: start again, or not."""
        if gone.why == "garbled":
            garbled = f"the grader got answers not the worker's ({gone.detail})"
            return self._tampered(progress, garbled)
        return progress.ran and time.monotonic() < until

    def _tampered(self, progress: _Progress, what: str) -> bool:
        """The notebook meddled with the channel to the grader: nothing more can be asked."""
        progress.review.append(f"{what}: the notebook meddled with the worker's channel")
        progress.tampered = True
        return False

    def _given_failures(self, cells, progress: _Progress) -> dict[str, str]:
        """Each question one of whose given cells raised after the answer: the message why."""
        ran = {source.strip(): index for index, source in cells}
        broken = {}
        for question, sources in self.autograder.given.items():
            for source in sources:
                index = ran.get(source.strip())
                if index in progress.failed:
                    broken[question] = given_cell_message(source, progress.failed[index])
                    break
        return broken

    def _verdict(self, progress: _Progress, review: list[str], broken: dict[str, str]):
        """The grade: each test's verdict; none passes in a question whose given cell failed."""
        if not progress.ran:
            reason = "; ".join(progress.notes) or "the sandbox did not start the notebook"
            return NotebookGrade(status=ERRORED, reason=reason)
        autograder = self.autograder
        grade = NotebookGrade(status=GRADED, max_scores=autograder.questions, seed=progress.seed)
        grade.scores = dict.fromkeys(autograder.questions, 0.0)
        late = []
        for test in autograder.tests:
            verdict = progress.verdicts.get(test.key)
            if verdict is None and progress.tampered:
                verdict = {"passed": False, "message": NOT_RUN}
            passed = bool(verdict and verdict.get("passed") is True)
            if passed and test.question in broken:
                passed, verdict = False, {"message": broken[test.question]}
            if passed:
                grade.scores[test.question] += test.points
            elif verdict is None or verdict.get("error") == "TimeLimit":
                late.append(test.question)
            message = (verdict or {}).get("message", self.time_message)
            grade.tests.append(
                {
                    "name": test.function,
                    "question": test.question,
                    "points": test.points,
                    "hidden": test.hidden,
                    "passed": passed,
                    "message": "" if passed else message,
                }
            )
            if self.options.instructor:  # what the build reports (see ``aelab.proof``)
                grade.tests[-1].update(
                    {key: verdict[key] for key in ("reads", "where") if key in (verdict or {})}
                )
        grade.cell_errors = progress.cell_errors
        reasons = [f"cell {index} {why}" for index, why in sorted(progress.skipped.items())]
        if late:
            reasons.append("timed out or not run: " + ", ".join(dict.fromkeys(late)))
        grade.review = progress.review + review
        if grade.review:
            grade.status = REVIEW
            reasons.insert(0, "for review: " + "; ".join(grade.review[:5]))
        grade.reason = "; ".join(reasons + progress.notes)
        return grade


def _unredacted(error: BaseException) -> str:
    """An error as the instructor needs it: its whole first line (their own notebook's)."""
    if isinstance(error, StudentError):
        return f"{error.kind}: {error.detail}" if error.detail else error.kind
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class JudgeOutOfTime(BaseException):
    """A check ran past its time limit in the judge itself."""


@contextlib.contextmanager
def _alarm(seconds: float):
    """While active, ``JudgeOutOfTime`` is raised in this (the main) thread after ``seconds``."""

    def expire(*_: Any) -> None:
        raise JudgeOutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _left(cells: list[tuple[int, str]], progress: _Progress) -> list[tuple[int, str]]:
    """The cells still to run: all but those left out for hanging or crashing."""
    return [(index, source) for index, source in cells if index not in progress.skipped]


def main() -> None:
    """Read the set-up, then grade one notebook per line until the input ends.

    A notebook whose grading fails in a way nothing above foresaw gets an ``errored`` grade:
    the judge goes on with the next one.
    """
    requests, replies = sys.stdin, sys.stdout
    sys.stdout = sys.stderr  # nothing printed by a library can garble the replies
    setup = json.loads(requests.readline())
    options = options_from_json(setup["options"])
    torch.set_num_threads(1)
    # Answers are plain data, but a check may still be handed more than it asked for: a soft
    # cap on the judge's own memory (its sandboxes set their own).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (JUDGE_MEMORY, hard))
    data = Path(setup["data"]) if setup.get("data") else None
    judge = Judge(read_autograder(Path(setup["autograder"])), data, options)
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    notebooks: queue.Queue = queue.Queue()
    threading.Thread(target=_follow, args=(requests, notebooks, judge), daemon=True).start()
    while True:
        line = notebooks.get()
        cells = [(int(index), str(source)) for index, source in json.loads(line)["cells"]]
        try:
            grade = judge.grade(cells)
        except Exception as error:  # logged for the GSI; the row says only that it failed
            print(f"aelab judge: grading a notebook failed: {error!r}", file=sys.stderr)
            grade = NotebookGrade(status=ERRORED, reason="grading failed (the log says why)")
        replies.write(json.dumps({"grade": asdict(grade)}, ensure_ascii=True) + "\n")
        replies.flush()


def _follow(requests: Any, notebooks: queue.Queue, judge: Judge) -> None:
    """Pass each request on; when the input ends, end the judge and its sandbox at once.

    The input ends only when the grader is gone (it kills its judges itself otherwise): a
    notebook in progress would otherwise run out its time limits with no one to read its grade.
    """
    for line in requests:
        notebooks.put(line)
    judge.end()


if __name__ == "__main__":
    main()
