"""A Dask worker's side of ``--cluster`` (see ``cluster``): set up once, then a task per notebook.

``Grading`` is registered as a worker plugin: the scheduler hands it to every worker, once, and
to every worker that joins later. It carries the autograder's bytes and the run's options; on
the worker it checks that this machine can grade as the grader's would (the same sandbox, the
same aelab code), unpacks the lab's data from the autograder once, and keeps one
``runner.Judges`` pool (a judge per task the worker runs at once) until the run unregisters
it. ``grade`` is the task.

Nothing of a submission is written on the worker: a task's cells go from memory to a judge's
input, and from there into that notebook's own sandbox, as in a local run.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import distributed
from distributed.diagnostics.plugin import WorkerPlugin

import aelab
from aelab.grading.autograder import read_autograder
from aelab.grading.container import image_problem
from aelab.grading.runner import Judges, RunOptions, options_from_json
from aelab.grading.sandbox import bwrap_available, bwrap_missing_message


class WorkerRefused(RuntimeError):  # noqa: N818 (an outcome, like runner.JudgeLost)
    """A worker cannot grade as the grader's machine would; the message says why."""


class Grading(WorkerPlugin):
    """One grading run's set-up on a worker: the autograder, its data and a pool of judges."""

    def __init__(self, autograder: bytes, run: dict[str, Any]) -> None:
        self.autograder, self.run, self.code = autograder, run, code_digest()
        self.name = f"aelab-{uuid.uuid4().hex[:12]}"  # one per run: runs can share workers
        self.refusal = ""  # why this worker does not grade, or ""
        self.judges: Judges | None = None
        self.folder: Path | None = None

    async def setup(self, worker: distributed.Worker) -> None:
        """Make this worker ready (in a thread: the worker's event loop must go on)."""
        await asyncio.to_thread(self._prepare, worker.state.nthreads)
        if self.refusal:
            self.refusal = f"Worker {worker.address} refuses to grade: {self.refusal}"

    async def teardown(self, worker: distributed.Worker) -> None:
        """End the judges (and so their sandboxes) and remove the autograder and its data."""
        await asyncio.to_thread(self._clear)

    def _prepare(self, nthreads: int) -> None:
        if self.code != code_digest():  # grades are cached under the grader's code
            self.refusal = "its aelab is not the grader's (install the same aelab on every worker)"
            return
        run = options_from_json(self.run)
        self.refusal = _sandbox_problem(run)
        if self.refusal:
            return
        self.folder = Path(tempfile.mkdtemp(prefix="aelab-worker-"))
        try:
            path = self.folder / "autograder.zip"
            path.write_bytes(self.autograder)
            data = read_autograder(path).unpack_data(self.folder / "data")
        except Exception as error:  # e.g. a full disk: the message says what went wrong
            self.refusal = f"{type(error).__name__}: {error}"
            return
        # Each notebook gets its share of the cores this worker may use (a Slurm job's, not
        # the node's), as a local run gives each its share of the machine.
        threads = max(1, _cores() // max(1, nthreads))
        self.judges = Judges(path, data, replace(run, threads=threads), nthreads)

    def _clear(self) -> None:
        if self.judges is not None:
            self.judges.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def grade(name: str, cells: list[tuple[int, str]]) -> dict[str, Any]:
    """The Dask task: grade one notebook's cells with this worker's judges; its grade."""
    worker = distributed.get_worker()
    plugin = worker.plugins.get(name)
    if not isinstance(plugin, Grading):
        raise WorkerRefused(f"Worker {worker.address} was not set up for this run")
    if plugin.refusal or plugin.judges is None:
        raise WorkerRefused(plugin.refusal or f"Worker {worker.address} is not ready")
    return asdict(plugin.judges.grade_cells(cells))


def refusal(name: str, dask_worker: distributed.Worker) -> str:
    """Why this worker does not grade the run ``name``, or "" (for ``Client.run``)."""
    plugin = dask_worker.plugins.get(name)
    if not isinstance(plugin, Grading):
        return f"Worker {dask_worker.address} was not set up for this run"
    return plugin.refusal


@functools.cache
def code_digest() -> str:
    """A digest of the aelab package's code: a worker must grade with the grader's own."""
    digest = hashlib.sha256()
    package = Path(aelab.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _sandbox_problem(run: RunOptions) -> str:
    """Why this machine cannot make the run's sandbox, in the local run's words; or ""."""
    if run.isolation == "bwrap" and not bwrap_available():
        return bwrap_missing_message()
    if run.isolation == "docker":
        return image_problem(run.image)
    return ""


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
