"""``make build`` where bubblewrap is not (macOS, Windows, a Linux without it): it still builds,
proves the autograder unsandboxed, and says so; the Makefile installs nothing without apt-get.

The machine is made to look like one without bubblewrap by a PATH whose folders hold every
program but ``bwrap`` (links to the real ones), and like one without Debian's apt-get by
``make APT_GET=``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aelab.proof import UNSANDBOXED

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _path_without(program: str, farm: Path) -> str:
    """This PATH, each folder that holds ``program`` replaced by links to all else in it."""
    folders = []
    for index, folder in enumerate(os.environ["PATH"].split(os.pathsep)):
        if not (Path(folder) / program).exists():
            folders.append(folder)
            continue
        copy = farm / str(index)
        copy.mkdir(parents=True)
        for entry in Path(folder).iterdir():
            if entry.name != program:
                (copy / entry.name).symlink_to(entry)
        folders.append(str(copy))
    return os.pathsep.join(folders)


def test_make_build_without_bubblewrap_builds_proves_and_says_so(tmp_path):
    path = _path_without("bwrap", tmp_path / "bin")
    env = {**os.environ, "PATH": path}
    hidden = subprocess.run(["sh", "-c", "command -v bwrap"], env=env, capture_output=True)
    assert hidden.returncode != 0  # the test's premise: no bwrap to be found
    venv = Path(sys.prefix)
    out = tmp_path / "autograder"
    make = ["make", "-o", f"{venv}/bin/aelab", "build", f"VENV={venv}", "APT_GET="]
    built = subprocess.run(
        [*make, f"BUILD_ARGS=--out {out}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    said = built.stdout.splitlines()
    assert built.returncode == 0, built.stdout + built.stderr
    assert said.count(UNSANDBOXED) == 1
    told = "Not installed: bubblewrap. make build does not need it"
    assert [line for line in said if line.startswith(told)] != []
    assert "apt-get" not in built.stdout + built.stderr  # nothing was installed
    report = json.loads((out / "build_report.json").read_text())
    assert (report["solution_score"], report["blank_score"]) == (report["possible"], 0)
    assert report["possible"] > 0 and (out / "student" / "autoencoders_mnist.ipynb").is_file()
