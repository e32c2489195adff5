"""Grade one notebook with otter's own machinery (``otter run``), without Docker.

Each run gets its own process group and a timeout: ``otter run`` has none, and a
notebook with an endless loop would otherwise never return.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aelab.data import default_root

EPOCH_CAP_FOR_GRADING = 1  # the two long training runs; no hidden test needs a trained model


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
    """``otter run`` failed or timed out; the message says which and why."""


def grading_environment() -> dict[str, str]:
    """Environment for a grading kernel: shipped MNIST, capped epochs, no GPU surprises."""
    env = dict(os.environ)
    env.update(
        AELAB_DATA_ROOT=str(default_root()),
        AELAB_EPOCH_CAP=str(EPOCH_CAP_FOR_GRADING),
        MPLBACKEND="Agg",
    )
    return env


def grade_notebook(
    autograder_zip: Path, notebook: Path, out_dir: Path, timeout: float = 600
) -> GradeResult:
    """Run ``otter run`` on ``notebook`` and parse its ``results.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "otter",
        "run",
        "-a",
        str(autograder_zip),
        "-o",
        str(out_dir),
        str(notebook),
    ]
    process = subprocess.Popen(
        command,
        cwd=out_dir,
        env=grading_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise GradingError(f"timed out after {timeout:.0f} s") from None
    results = out_dir / "results.json"
    if process.returncode != 0 or not results.is_file():
        tail = output.decode(errors="replace").strip().splitlines()[-5:]
        raise GradingError(f"otter run exited {process.returncode}: " + " | ".join(tail))
    return parse_results(json.loads(results.read_text()))


def parse_results(results: dict) -> GradeResult:
    """Per-question scores from otter's ``results.json`` (its Gradescope-style ``tests`` list)."""
    graded = GradeResult(tests=results.get("tests", []))
    for test in graded.tests:
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        graded.scores[test["name"]] = float(test["score"])
        graded.max_scores[test["name"]] = float(test["max_score"])
    return graded
