"""Run the notebooks: each in a sandbox, scored by a trusted judge, its grade saved as it comes.

Grades are cached in ``work/<file>/result.json`` under a key of the notebook's bytes, the
autograder, the grading code and the options that change a score: a run that is stopped and
started again grades only what is left, and new code or options grade everything again.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from aelab.grading.autograder import Autograder
from aelab.grading.read import Submission
from aelab.grading.runner import Judges, RunOptions, runnable_cells
from aelab.grading.sandbox import STUDENT_SIDE
from aelab.record import ERRORED


@dataclass
class Job:
    """A notebook to grade, and where its grade is kept."""

    submission: Submission
    work: Path  # its folder under work/
    key: str  # what its saved grade must have been made from


def grade_notebooks(
    submissions: list[Submission],
    autograder: Autograder,
    run: RunOptions,
    workers: int,
    work: Path,
    progress: bool = True,
    cluster: str = "",
) -> int:
    """Give each submission's row its grade (saved, or graded now); how many were graded now.

    ``cluster``: a Dask scheduler's address, to grade on its workers (``grading.cluster``).
    """
    jobs = []
    for submission in submissions:
        job = Job(
            submission, work / Path(submission.row.file).stem, job_key(submission, autograder, run)
        )
        saved = _load(job.work / "result.json")
        if saved.get("key") == job.key:
            submission.row.apply(saved["grade"])
        else:
            jobs.append(job)
    if not jobs:
        return 0
    bar = tqdm(total=len(jobs), desc="Grading", unit="notebook", disable=not progress)
    if cluster:
        _grade_on_cluster(jobs, autograder, run, cluster, bar)
    else:
        with tempfile.TemporaryDirectory(prefix="aelab-data-") as scratch:
            judges = Judges(autograder.path, autograder.unpack_data(Path(scratch)), run, workers)
            _grade_in_parallel(jobs, judges, workers, bar)
    bar.close()
    return len(jobs)


def job_key(submission: Submission, autograder: Autograder, run: RunOptions) -> str:
    """The cache key: the file, the autograder, the grading code, the options that score."""
    digest = hashlib.sha256(submission.data)
    digest.update(autograder.digest.encode())
    grading = Path(__file__).parent
    code = [*sorted(STUDENT_SIDE.glob("*.py")), grading / "judge.py", grading / "remote.py"]
    for path in code:  # the worker, and the judge that asks it: new code grades again
        digest.update(path.read_bytes())
    digest.update(repr((run.isolation, run.image, run.epoch_cap, run.limits)).encode())
    return digest.hexdigest()


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _grade_in_parallel(jobs: list[Job], judges: Judges, workers: int, bar: tqdm) -> None:
    """Grade ``workers`` at a time; save each grade as it arrives; on Ctrl-C stop every run."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    futures = {pool.submit(judges.grade, job.submission.notebook): job for job in jobs}
    try:
        for future in as_completed(futures):
            try:
                grade = asdict(future.result())
            except Exception as error:  # e.g. a full disk: this row errs, the run goes on
                grade = {"status": ERRORED, "reason": f"{type(error).__name__}: {error}"}
            _save(futures[future], grade)
            bar.update()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        judges.close()


def _grade_on_cluster(
    jobs: list[Job], autograder: Autograder, run: RunOptions, address: str, bar: tqdm
) -> None:
    """The same jobs on a Dask cluster's workers, each grade saved as it arrives."""
    from aelab.grading.cluster import grade_on_cluster  # Dask: only with --cluster

    cells = [(job, runnable_cells(job.submission.notebook)) for job in jobs]
    with closing(grade_on_cluster(address, autograder, run, cells)) as graded:
        for job, grade in graded:
            _save(job, grade)
            bar.update()


def _save(job: Job, grade: dict) -> None:
    """Keep a notebook's grade in its work folder (a rerun finds it by key) and on its row."""
    job.work.mkdir(parents=True, exist_ok=True)
    (job.work / "result.json.tmp").write_text(json.dumps({"key": job.key, "grade": grade}))
    (job.work / "result.json.tmp").replace(job.work / "result.json")
    job.submission.row.apply(grade)
