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
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from aelab.grading.autograder import Autograder
from aelab.grading.read import Submission
from aelab.grading.runner import Judges, RunOptions
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
) -> int:
    """Give each submission's row its grade (saved, or graded now); how many were graded now."""
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
    if jobs:
        with tempfile.TemporaryDirectory(prefix="aelab-data-") as scratch:
            data = autograder.unpack_data(Path(scratch))
            _grade_in_parallel(jobs, Judges(autograder.path, data, run, workers), workers, progress)
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


def _grade_in_parallel(jobs: list[Job], judges: Judges, workers: int, progress: bool) -> None:
    """Grade ``workers`` at a time; save each grade as it arrives; on Ctrl-C stop every run."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    futures = {pool.submit(judges.grade, job.submission.notebook): job for job in jobs}
    try:
        bar = tqdm(total=len(futures), desc="Grading", unit="notebook", disable=not progress)
        for future in as_completed(futures):
            job = futures[future]
            try:
                grade = asdict(future.result())
            except Exception as error:  # e.g. a full disk: this row errs, the run goes on
                grade = {"status": ERRORED, "reason": f"{type(error).__name__}: {error}"}
            job.work.mkdir(parents=True, exist_ok=True)
            (job.work / "result.json.tmp").write_text(json.dumps({"key": job.key, "grade": grade}))
            (job.work / "result.json.tmp").replace(job.work / "result.json")
            job.submission.row.apply(grade)
            bar.update()
        bar.close()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        judges.close()
