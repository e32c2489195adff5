"""The sandbox's command lines and the grader's scan, checked without running a notebook."""

import os
import sys
from pathlib import Path

import pytest

from aelab.grading.container import docker_command
from aelab.grading.inside import INSIDE, STUDENT_SIDE, environment
from aelab.grading.judge import worker_limits
from aelab.grading.limits import Limits
from aelab.grading.runner import RunOptions
from aelab.grading.sandbox import bwrap_available, bwrap_command, bwrap_missing_message
from aelab.grading.scan import scan_cells


def test_python_is_mounted_after_the_tmpfs_it_may_live_under():
    """A virtual environment under /tmp (a CI clone) must not be hidden by the sandbox's /tmp."""
    command = bwrap_command(Path("/data/mnist"), {}, Limits())
    tmpfs = command.index("/tmp", command.index("--tmpfs"))
    for prefix in {sys.prefix, sys.base_prefix} - {
        p for p in (sys.prefix,) if p.startswith("/usr/")
    }:
        if not prefix.startswith("/usr/"):
            assert command.index(prefix) > tmpfs
    assert command[command.index("--size") + 1] == str(Limits().disk_mb * 2**20)
    assert command[-2:] == ["-m", "student_side.worker"] and "--die-with-parent" in command
    assert command[command.index("--remount-ro") + 1] == "/dev"  # no writable tmpfs there
    assert command.index("--remount-ro") < command.index("--clearenv")
    mounted = command.index(str(STUDENT_SIDE))  # the worker's package, and nothing else of aelab
    inside = f"{INSIDE}/student_side"
    assert command[mounted - 1 : mounted + 2] == ["--ro-bind", str(STUDENT_SIDE), inside]
    assert not [part for part in command if "grading" in part or "lab_checks" in part]


def test_environment_holds_nothing_of_the_graders():
    env = environment(epoch_cap=1, threads=2, data_root="/home/student/data")
    assert set(env) == {
        "HOME", "TMPDIR", "LANG", "MPLBACKEND", "MPLCONFIGDIR", "IPYTHONDIR", "PYTHONNOUSERSITE",
        "PYTHONDONTWRITEBYTECODE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "PATH", "PYTHONPATH", "AELAB_DATA_ROOT", "AELAB_EPOCH_CAP",
    }  # fmt: skip
    assert "AELAB_DATA_ROOT" not in environment(None, 1, None)


def test_docker_runs_the_same_worker_locked_down():
    command = docker_command("lab-image", "aelab-x", Path("/data/mnist"), {"A": "1"}, Limits(), 1)
    text = " ".join(command)
    for flag in ("--network none", "--memory 6.0g", "--memory-swap 6.0g", "--pids-limit 64",
                 "--cpus 1", "--read-only", "--user 65534:65534", "--cap-drop ALL",
                 "no-new-privileges", "--log-driver none"):  # fmt: skip
        assert flag in text
    assert command[-4:] == ["lab-image", "python", "-m", "student_side.worker"]
    assert "-e A=1" in text
    # Mounted: MNIST and the worker's package, read-only; nothing else of the grader's.
    mounts = [command[i + 1] for i, part in enumerate(command) if part == "-v"]
    worker = f"{STUDENT_SIDE}:{INSIDE}/student_side:ro"
    assert mounts == ["/data/mnist:/home/student/data:ro", worker]
    assert not [part for part in command if "grading" in part or "lab_checks" in part]


def test_only_bubblewrap_sets_a_per_user_process_limit():
    """User 65534 is one kernel user in every container, and without a sandbox the limit would
    count the grader's own processes: only bubblewrap's user namespace is the notebook's own."""
    for isolation, per_user in (("bwrap", True), ("docker", False), ("none", False)):
        limits = worker_limits(RunOptions(isolation=isolation))
        assert ("RLIMIT_NPROC" in limits) is per_user, isolation
        assert limits["RLIMIT_AS"] == 6 * 2**30


def _fake_bwrap(folder: Path, status: int) -> str:
    """A PATH whose only ``bwrap`` exits with ``status`` (as one refused user namespaces)."""
    (folder / "bwrap").write_text(f"#!/bin/sh\nexit {status}\n")
    (folder / "bwrap").chmod(0o755)
    return str(folder)


def test_bwrap_counts_as_available_only_when_it_can_make_a_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert not bwrap_available()  # not installed
    monkeypatch.setenv("PATH", _fake_bwrap(tmp_path, 1))
    assert not bwrap_available()  # installed, but user namespaces are refused here
    monkeypatch.setenv("PATH", _fake_bwrap(tmp_path, 0))
    assert bwrap_available()
    assert "apt-get install -y bubblewrap" in bwrap_missing_message()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import ctypes", "imports ctypes"),
        ("import sys\nsys.settrace(None)", "uses sys.settrace"),
        ("x = eval('1')", "uses eval"),
        ("f = open(3, 'w')", "opens a file descriptor"),
        ("import torch\ntorch.allclose = lambda *a, **k: True", "replaces torch.allclose"),
        ("import os\nos.environ['AELAB_EPOCH_CAP'] = '1'", "changes os.environ"),
        ("!cat /etc/passwd", "runs !"),
        ("data = open('/proc/1/environ').read()", "names a path or file of the grader"),
    ],
)
def test_scan_names_grader_directed_code(code, reason):
    (finding,) = scan_cells([(4, code)])[-1:]
    assert reason in finding.reason and finding.cell == 4


def test_scan_leaves_honest_code_alone():
    honest = (
        "import os\nimport torch\nDATA_ROOT = os.environ.get('AELAB_DATA_ROOT', 'data')\n"
        "model.eval()\nwith torch.no_grad():\n    x = model(torch.rand(2, 784))\n"
        "torch.backends.cudnn.deterministic = True\n%matplotlib inline\n"
        "TEAM = [{'name': '...', 'canvas_id': '...'}]\nplt.savefig('figure.png')"
    )
    assert scan_cells([(1, honest)]) == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("_ = %time __import__('gc').get_objects()", "uses __import__"),  # IPython-only syntax
        ("%%time\nimport gc\nx = 1", "imports gc"),  # a cell magic's body is code too
        ("%%capture out\nimport ctypes", "imports ctypes"),
        ("%timeit -n1 -r1 x = 1", "runs code the scan cannot read"),  # options: not Python
        ("x = !cat /etc/passwd", "runs !cat"),
        ("%load_ext evil", "runs %load_ext"),
        ("get_ipython().run_line_magic('time', 'import gc')", "imports gc"),
        ("get_ipython().run_line_magic(name, 'x')", "runs %(computed)"),
        ("ip = get_ipython()", "uses get_ipython"),
    ],
)
def test_scan_reads_cells_as_ipython_runs_them(code, reason):
    assert reason in " | ".join(f.reason for f in scan_cells([(2, code)]))


def test_scan_allows_the_magics_students_use():
    cells = ["%matplotlib inline\nx = 1", "%time y = 2", "%%time\nz = 3", "x?", "%%capture\nq = 1"]
    assert scan_cells(list(enumerate(cells))) == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import os as _o\n_o.write(5, b'')", "uses os.write"),
        ("import sys as _s\nm = _s.modules['signal']", "uses sys.modules"),
        ("import student_side.worker", "imports student_side.worker"),
    ],
)
def test_scan_sees_through_import_aliases(code, reason):
    assert reason in " | ".join(f.reason for f in scan_cells([(2, code)]))


def test_unsandboxed_the_worker_counts_only_the_processes_it_started():
    """Beside the grader's own processes (the build's proof without bubblewrap) only the
    worker's descendants are the notebook's: a child and its child count, others not."""
    import subprocess
    import time

    from aelab.student_side.worker import _descendants

    child = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        time.sleep(0.5)  # the grandchild started
        grandchildren = _descendants(child.pid)
        found = _descendants(os.getpid())
        assert len(grandchildren) == 1 and {child.pid, *grandchildren} <= set(found)
        assert not {1, os.getpid(), os.getppid()} & set(found)
    finally:
        child.kill()
        child.wait()
