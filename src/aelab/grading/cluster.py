"""Grade on a Dask cluster: the local run's jobs, each on a worker machine (``--cluster``).

The grader's machine keeps everything it keeps locally (the download, the gradebook, every
output); what it sends is each pending notebook's code cells, one Dask task per notebook, to a
running Dask scheduler. Each worker grades exactly as the local run does, with the same judge
processes, sandboxes, checks and limits (``runner.Judges``, one pool per worker), set up once
per worker by ``cluster_worker.Grading``: the autograder's bytes (the lab's data in them)
travel once per worker and are unpacked there once. Grades come back as each task ends, and
the caller saves each one at once, as the local pool's, so a stopped run resumes where it was.

A worker that dies mid-notebook has that notebook graded again elsewhere (Dask reschedules the
task); its judges and sandboxes end with it (a judge ends when its input does). A worker that
cannot grade as this machine would (no bubblewrap, other aelab code) refuses, and the
run stops with its reason. Dask (``pip install 'aelab[cluster]'``) is needed only here.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from aelab.grading.autograder import Autograder
from aelab.grading.pipeline import GradingError
from aelab.grading.runner import RunOptions
from aelab.record import ERRORED

CONNECT_S = 30.0  # to reach the scheduler
KEPT = "No results were written; the grades finished so far are kept in work/ for the next run."
MISSING = (
    "--cluster needs Dask's distributed package, which is not installed here: "
    "pip install 'aelab[cluster]' (on this machine and on every worker)."
)
Item = TypeVar("Item")
Cells = list[tuple[int, str]]


class ClusterError(GradingError):
    """The cluster cannot grade this run; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kept=KEPT)


def require_distributed() -> None:
    """Raise ``ClusterError`` (how to install it) when Dask's ``distributed`` is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(MISSING) from None


def grade_on_cluster(
    address: str, autograder: Autograder, run: RunOptions, jobs: Sequence[tuple[Item, Cells]]
) -> Iterator[tuple[Item, dict[str, Any]]]:
    """Grade each job's cells on the cluster at ``address``; yield (item, grade) as each ends.

    ``jobs``: an item of the caller's own (never sent) and the notebook's ``runnable_cells``.
    A grade is a ``NotebookGrade`` as a dict, ``errored`` when its task failed (its worker
    died too often, or grading raised). Raises ``ClusterError`` when the scheduler cannot be
    reached or a worker refuses to grade; every task is stopped when the iteration ends.
    """
    require_distributed()
    import distributed

    from aelab.grading import cluster_worker  # imports distributed

    try:
        client = distributed.Client(address, timeout=CONNECT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"Could not reach the Dask scheduler at {address}: {error}") from None
    plugin = cluster_worker.Grading(autograder.path.read_bytes(), asdict(run))
    futures: dict[Any, Item] = {}
    try:
        client.register_plugin(plugin, name=plugin.name)
        refusals = [why for why in client.run(cluster_worker.refusal, plugin.name).values() if why]
        if refusals:  # the workers there now; one that joins later refuses its first task
            raise ClusterError("\n".join(refusals))
        run_id = uuid.uuid4().hex[:8]  # task names: nothing of the student's
        for number, (item, cells) in enumerate(jobs):
            key = f"aelab-grade-{run_id}-{number}"
            future = client.submit(cluster_worker.grade, plugin.name, cells, key=key, pure=False)
            futures[future] = item
        for future in distributed.as_completed(list(futures), loop=client.loop):
            yield futures.pop(future), _grade(future)
    finally:  # done, refused or interrupted: nothing of this run goes on running out there
        client.cancel(list(futures))
        _unregister(client, plugin.name)
        client.close()


def _grade(future: Any) -> dict[str, Any]:
    """The task's grade; a refusal stops the run, any other failure errs this row only."""
    from distributed import KilledWorker

    from aelab.grading.cluster_worker import WorkerRefused

    try:
        return future.result()
    except WorkerRefused as refused:
        raise ClusterError(str(refused)) from None
    except KilledWorker:  # Dask gave up: the workers running it died, one after another
        return {"status": ERRORED, "reason": "grading failed (the machines grading it stopped)"}
    except Exception as error:  # e.g. a full disk on the worker: this row errs, the run goes on
        return {"status": ERRORED, "reason": f"{type(error).__name__}: {error}"}


def _unregister(client: Any, name: str) -> None:
    """Tear the run's set-up down on every worker: its judges (and their sandboxes) end."""
    try:
        client.unregister_worker_plugin(name)
    except Exception as error:  # a scheduler already gone: its workers' judges end with them
        print(f"aelab grade: the cluster's workers were not tidied up: {error}", file=sys.stderr)
