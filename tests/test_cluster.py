"""``aelab grade --cluster``: the same grades on a Dask cluster's workers as on this machine.

The cluster is ``distributed.LocalCluster`` on this machine (worker processes under nannies,
as on a real cluster); its workers grade with real judges and bubblewrap sandboxes.
"""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict

import canvas_class
import nbformat
import pytest
import student_work as work
import synthetic_class
from lab_env import LAB, score

from aelab.cli import main
from aelab.grading.cluster import MISSING
from aelab.grading.pipeline import GradingOptions, grade_submissions
from aelab.grading.sandbox import bwrap_missing_message

pytestmark = pytest.mark.slow
needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="Dask's distributed is not installed (pip install -e '.[dev]' installs it)",
)
SLEEP_S = 40  # a cell that sleeps: its notebook is still being graded when its worker dies


def _cluster(**options):
    from distributed import LocalCluster

    return LocalCluster(processes=True, dashboard_address=None, **options)


def _rows(path):
    """results.csv's rows, timing aside."""
    with open(path, newline="", encoding="utf-8") as file:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(file)]


def _gradebook(path, students):
    column = "Autoencoders with MNIST (901)"
    lines = [f"Student,ID,SIS User ID,SIS Login ID,Section,{column}",
             f"    Points Possible,,,,,{LAB.points:.2f}"]  # fmt: skip
    lines += [f'"{name}",{user_id},s{user_id},l{user_id},Lab 1,' for user_id, name in students]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _mixed_class(built, folder):
    """Complete, with mistakes, blank, broken, hostile, and a cell that never ends."""
    every = {mistake.question for mistake in work.MISTAKES}
    attacks = {a.name: a for a in canvas_class.attacks(0, folder / "nothing-planted")}
    notebooks = {
        "doejane_101_1_lab.ipynb": work.with_team(work.solution(built), [("Jane Doe", "101")]),
        "roejohn_102_2_lab.ipynb": work.with_mistakes(built, every),
        "poeed_103_3_lab.ipynb": work.blank(built),
        "snoopy_105_5_lab.ipynb": canvas_class._with_attack(built, attacks["read_other_students"]),
        "loopy_106_6_lab.ipynb": canvas_class._with_attack(built, attacks["endless_cell"]),
    }
    folder.mkdir()
    for name, notebook in notebooks.items():
        work.write(notebook, folder / name)
    (folder / "leeann_104_4_lab.ipynb").write_text('{"cells": [')
    names = ["Doe, Jane", "Roe, John", "Poe, Ed", "Lee, Ann", "Snoop, Sy", "Loop, Lou"]
    return _gradebook(
        folder.parent / "gradebook.csv", list(zip(range(101, 107), names, strict=True))
    )


def test_without_distributed_cluster_says_how_to_install_it_and_writes_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    download = synthetic_class.write(
        {"a_1_1_lab.ipynb": synthetic_class.notebook()}, tmp_path / "d"
    )
    zip_path = synthetic_class.autograder(tmp_path)
    out = tmp_path / "grades"
    argv = ["grade", str(download), "--autograder", str(zip_path), "--out", str(out)]
    assert main([*argv, "--cluster", "tcp://127.0.0.1:1"]) == 1
    assert MISSING in capsys.readouterr().err and "pip install 'aelab[cluster]'" in MISSING
    assert not out.exists()


@needs_dask
def test_a_mixed_class_grades_the_same_on_a_cluster_as_here(built, tmp_path, capsys):
    out, _ = built
    gradebook = _mixed_class(out, tmp_path / "download")
    argv = ["grade", str(tmp_path / "download"), "--gradebook", str(gradebook)]
    argv += ["--autograder", str(out / "autograder.zip"), "--cell-timeout", "20"]
    assert main([*argv, "--out", str(tmp_path / "here"), "--workers", "2"]) == 0
    with _cluster(n_workers=2, threads_per_worker=1) as cluster:
        address = cluster.scheduler_address
        assert main([*argv, "--out", str(tmp_path / "there"), "--cluster", address]) == 0
        assert f"on {address}" in capsys.readouterr().out
        # Run again: every grade is found in work/, none is graded twice.
        assert main([*argv, "--out", str(tmp_path / "there"), "--cluster", address]) == 0
        assert "0 graded in this run" in capsys.readouterr().out
    here, there = tmp_path / "here", tmp_path / "there"
    rows = _rows(there / "results.csv")
    assert rows == _rows(here / "results.csv")
    found = {row["user_id"]: (row["status"], row["total"]) for row in rows}
    full = score(LAB.points)
    assert (found["101"], found["103"], found["104"]) == (
        ("graded", full),
        ("graded", "0"),
        ("unreadable", ""),
    )
    assert found["102"][0] == "graded" and 0 < float(found["102"][1]) < float(full)
    assert found["105"] == ("needs review", "0")
    loopy = next(row for row in rows if row["user_id"] == "106")
    assert (loopy["status"], loopy["total"]) == ("graded", full)
    assert "ran past its time limit" in loopy["reason"]  # its own limit stopped it
    imports = [path / "gradebook_import.csv" for path in (here, there)]
    assert imports[0].read_bytes() == imports[1].read_bytes()


def _sleeper(seconds: float) -> nbformat.NotebookNode:
    notebook = synthetic_class.notebook()
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    return notebook


def _descendants(pid):
    import psutil

    return psutil.Process(pid).children(recursive=True)


def _grading(worker_pid):
    """Whether a judge of the worker runs a notebook in a sandbox (past its own start-up)."""
    import psutil

    try:
        judges = [p for p in _descendants(worker_pid) if _is_judge(p)]
        return any(child.name() == "bwrap" for judge in judges for child in judge.children())
    except psutil.NoSuchProcess:  # one ended while we looked
        return False


def _is_judge(process):
    return "aelab.grading.judge" in process.cmdline()


@needs_dask
def test_a_notebook_whose_worker_dies_is_graded_elsewhere_and_its_judge_ends(tmp_path):
    import psutil
    from distributed import Client

    files = {f"s{n}_{100 + n}_{n}_lab.ipynb": _sleeper(SLEEP_S) for n in range(2)}
    download = synthetic_class.write(files, tmp_path / "download")
    zip_path = synthetic_class.autograder(tmp_path)
    with _cluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        options = GradingOptions(zip_path, cluster=cluster.scheduler_address)
        graded = {}

        def grade():
            graded["summary"] = grade_submissions(
                download, tmp_path / "out", options, None, None, False
            )

        thread = threading.Thread(target=grade)
        thread.start()
        victim, deadline = None, time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:  # a worker mid-notebook
            time.sleep(1)
            victim = next(filter(_grading, client.run(os.getpid).values()), None)
        assert victim is not None, "no worker's judge started a sandbox"
        time.sleep(3)  # well into the sleeping cell
        orphans = _descendants(victim)  # its judge, bubblewrap and the notebook's processes
        os.kill(victim, signal.SIGKILL)
        _, alive = psutil.wait_procs(orphans, timeout=10)
        assert alive == [], "a dead worker's judge or sandbox went on running"
        thread.join(timeout=300)
        assert not thread.is_alive()
        # The run is over: its judges ended on every worker (the workers themselves go on).
        workers = client.run(os.getpid).values()
        assert not [p for pid in workers for p in _descendants(pid) if _is_judge(p)]
    rows = _rows(tmp_path / "out" / "results.csv")
    assert sorted(row["file"] for row in rows) == sorted(files)  # each exactly once
    assert {(row["status"], row["total"]) for row in rows} == {("graded", "38")}
    assert graded["summary"].graded_now == 2


@needs_dask
def test_a_worker_without_bubblewrap_refuses_to_grade(tmp_path, capsys):
    from distributed import Client

    files = {"a_101_1_lab.ipynb": synthetic_class.notebook()}
    download = synthetic_class.write(files, tmp_path / "download")
    zip_path = synthetic_class.autograder(tmp_path)
    out = tmp_path / "grades"
    argv = ["grade", str(download), "--autograder", str(zip_path), "--out", str(out)]
    # Workers whose PATH has no bwrap (and nothing else), as on a machine without bubblewrap;
    # none at first: the first joins once the run waits for one, and refuses its notebook.
    cluster = _cluster(n_workers=0, threads_per_worker=1, env={"PATH": str(tmp_path)})
    with cluster, Client(cluster) as client:

        def join_once_waited_for():
            while not client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
                time.sleep(0.5)
            cluster.scale(1)

        threading.Thread(target=join_once_waited_for, daemon=True).start()
        assert main([*argv, "--cluster", cluster.scheduler_address]) == 1
        refused_a_task = capsys.readouterr().err
        # The worker is there now: the run is refused before anything is sent to be graded.
        assert main([*argv, "--cluster", cluster.scheduler_address]) == 1
        refused_at_once = capsys.readouterr().err
    for error in (refused_a_task, refused_at_once):
        assert "refuses to grade" in error and bwrap_missing_message() in error
    assert not (out / "results.csv").exists() and not list(out.rglob("result.json"))


def test_a_judge_ends_with_its_input_and_kills_the_sandbox_it_runs(tmp_path):
    """A judge whose grader is gone (its input ends) does not run out the notebook's limits."""
    import psutil

    from aelab.grading.runner import RunOptions, runnable_cells

    setup = {"autograder": str(synthetic_class.autograder(tmp_path)), "data": None}
    setup["options"] = asdict(RunOptions())
    judge = subprocess.Popen(
        [sys.executable, "-m", "aelab.grading.judge"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    cells = runnable_cells(_sleeper(SLEEP_S))
    judge.stdin.write((json.dumps(setup) + "\n" + json.dumps({"cells": cells}) + "\n").encode())
    judge.stdin.flush()
    assert json.loads(judge.stdout.readline()) == {"ready": True}
    deadline = time.monotonic() + 60
    while not any(p.name() == "bwrap" for p in _descendants(judge.pid)):
        assert time.monotonic() < deadline, "the judge started no sandbox"
        time.sleep(0.5)
    time.sleep(3)
    sandbox = _descendants(judge.pid)
    judge.stdin.close()
    assert judge.wait(timeout=10) == 0
    _, alive = psutil.wait_procs(sandbox, timeout=10)
    assert alive == []
