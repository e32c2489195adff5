"""Grade one notebook with otter's own machinery (``otter run``), without Docker.

Each run happens in a fresh sandbox folder (its own home, temporary folder and copy of
MNIST), in its own process group with a timeout and a memory limit, and with a scrubbed
environment: ``otter run`` has no timeout of its own, and a notebook with an endless loop
would otherwise never return. This protects grading from accidents (endless loops,
runaway memory, a notebook that deletes its data or prints megabytes), not from
deliberate attacks: the student's code runs as the grader's user. Use Docker for that.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from aelab.data import RAW_FILES, verify_raw_files

EPOCH_CAP_FOR_GRADING = 1  # the two long training runs; no hidden test needs a trained model
MEMORY_LIMIT_GB = 6.0
TIMEOUT_S = 600.0
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")  # nothing else leaks in
_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Interrupt)\b.*")
_running: set[subprocess.Popen] = set()  # runs in progress, for stop_all_runs
_running_lock = threading.Lock()


@dataclass
class GradeResult:
    """Scores of one graded notebook, per question, as otter reported them."""

    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    tests: list[dict] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Points earned over all autograded questions."""
        return sum(self.scores.values())

    @property
    def possible(self) -> float:
        """Autograded points available."""
        return sum(self.max_scores.values())


class GradingError(RuntimeError):
    """``otter run`` failed, ran out of time or memory; the message says which and why."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def assignment_name(autograder_zip: Path) -> str | None:
    """The assignment name the autograder checks submissions against, if it sets one."""
    with zipfile.ZipFile(autograder_zip) as archive:
        config = json.loads(archive.read("otter_config.json"))
    return config.get("assignment_name")


def grading_environment(
    sandbox: Path,
    data_root: Path | None,
    epoch_cap: int | None = EPOCH_CAP_FOR_GRADING,
    threads: int | None = None,
) -> dict[str, str]:
    """A scrubbed environment for a grading kernel: no grader secrets, shipped MNIST, capped epochs.

    ``data_root=None`` leaves the notebook to find MNIST in ``data/`` next to it (the copy
    the autograder ships), ``epoch_cap=None`` grades at full length (the students' own
    epoch counts, unless the notebook sets its own cap). ``threads``
    caps torch's CPU threads: parallel runs that together use more threads than there are
    cores spin-wait and run several times slower.
    """
    env = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for folder in ("home", "tmp"):  # apart: a notebook that empties ~ leaves otter's files
        (sandbox / folder).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(sandbox / "home"),
        TMPDIR=str(sandbox / "tmp"),
        MPLBACKEND="Agg",
        PYTHONNOUSERSITE="1",
        CUDA_VISIBLE_DEVICES="",  # the same device, and so the same numbers, on every machine
    )
    if data_root is not None:
        env["AELAB_DATA_ROOT"] = str(data_root)
    if epoch_cap is not None:
        env["AELAB_EPOCH_CAP"] = str(epoch_cap)
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def extract_mnist(dest: Path) -> Path:
    """Verify the shipped MNIST archives and unpack them into ``dest/MNIST/raw``; return ``dest``.

    torchvision finds the unpacked files and never downloads; the archives stay untouched.
    """
    raw = verify_raw_files()
    (dest / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        target = dest / "MNIST" / "raw" / name.removesuffix(".gz")
        with gzip.open(raw / name) as packed, open(target, "wb") as unpacked:
            shutil.copyfileobj(packed, unpacked)
    return dest


def _limit_memory(limit_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def grade_notebook(
    autograder_zip: Path,
    notebook: Path,
    sandbox: Path,
    mnist: Path | None,
    timeout: float = TIMEOUT_S,
    memory_gb: float = MEMORY_LIMIT_GB,
    epoch_cap: int | None = EPOCH_CAP_FOR_GRADING,
    threads: int | None = None,
) -> GradeResult:
    """Run ``otter run`` on ``notebook`` inside the fresh folder ``sandbox``; parse its results.

    ``mnist`` is a folder made by :func:`extract_mnist`; the notebook gets its own copy
    (faster than unpacking the archives the autograder ships, which ``None`` uses).
    """
    sandbox = sandbox.resolve()
    sandbox.mkdir(parents=True, exist_ok=True)
    data_root = None
    if mnist is not None:
        data_root = sandbox / "data"
        shutil.copytree(mnist, data_root, dirs_exist_ok=True)
    out_dir = sandbox / "results"
    out_dir.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "otter", "run", "-a", str(Path(autograder_zip).resolve())]
    command += ["-o", str(out_dir), str(Path(notebook).resolve())]
    log = sandbox / "otter.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=sandbox,
            env=grading_environment(sandbox, data_root, epoch_cap, threads),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: _limit_memory(int(memory_gb * 2**30)))
            if os.name == "posix"
            else None,
        )
        with _running_lock:
            _running.add(process)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GradingError(f"timed out after {timeout:.0f} s", timed_out=True) from None
        finally:
            _kill_group(process)
            with _running_lock:
                _running.discard(process)
    results = out_dir / "results.json"
    if process.returncode != 0 or not results.is_file():
        raise GradingError(f"otter run exited {process.returncode}: {_error_line(log)}")
    return parse_results(json.loads(results.read_text()))


def docker_image(autograder_zip: Path) -> str:
    """Build (or reuse) otter's grading image for ``autograder_zip``; return its tag."""
    import hashlib

    from otter.grade.containers import build_image
    from otter.run import AutograderConfig

    tag = "aelab-" + hashlib.sha256(Path(autograder_zip).read_bytes()).hexdigest()[:12]
    config = AutograderConfig({"zips": False, "pdf": False})
    return build_image(str(autograder_zip), "ubuntu:22.04", tag, config)


def grade_notebook_in_docker(image: str, notebook: Path, timeout: float = TIMEOUT_S) -> GradeResult:
    """Grade ``notebook`` in a fresh container of ``image`` with no network (``otter grade``'s way).

    The container holds the shipped MNIST (in the autograder's files) and the notebook
    carries its epoch cap (see ``submissions.gradable_copy``); Docker gives the isolation.
    """
    from otter.grade.containers import grade_submission
    from otter.run import AutograderConfig

    results = grade_submission(str(notebook), image, timeout=int(timeout), network=False)
    if results.has_catastrophic_failure():
        error = results.catastrophic_error
        timed_out = type(error).__name__ == "TimeoutException"
        reason = f"timed out after {timeout:.0f} s" if timed_out else f"container failed: {error}"
        raise GradingError(reason, timed_out=timed_out)
    return parse_results(results.to_gradescope_dict(AutograderConfig()))


def _kill_group(process: subprocess.Popen) -> None:
    """Stop the run and whatever it started (the kernel, the student's own processes)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_all_runs() -> None:
    """Kill every grading run in progress (on Ctrl-C: their process groups ignore it)."""
    with _running_lock:
        running = list(_running)
    for process in running:
        _kill_group(process)


def _error_line(log: Path) -> str:
    """The last exception named in otter's output (its banner and tracebacks are noise)."""
    with open(log, "rb") as file:
        file.seek(max(0, log.stat().st_size - 50_000))
        lines = [line.strip() for line in file.read().decode(errors="replace").splitlines()]
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (errors or [line for line in lines if line] or ["no output"])[-1][:500]


def parse_results(results: dict) -> GradeResult:
    """Per-question scores from otter's ``results.json`` (its Gradescope-style ``tests`` list)."""
    graded = GradeResult(tests=results.get("tests", []))
    for test in graded.tests:
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        graded.scores[test["name"]] = float(test["score"])
        graded.max_scores[test["name"]] = float(test["max_score"])
    return graded
