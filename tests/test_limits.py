"""Limits that count everything a notebook uses, and a neighbour it cannot slow down."""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import student_work as work

from aelab.grading.limits import Cgroup, Limits, tree_usage
from aelab.grading.runner import Judges, RunOptions

ATTACKS = Path(__file__).with_name("attacks")


def test_the_watch_counts_memfds_that_no_process_maps():
    """Without cgroups, memory held in a memfd (never mapped: no PSS, no RLIMIT_AS) still counts."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time\nfd = os.memfd_create('x')\nos.posix_fallocate(fd, 0, 300 * 2**20)\n"
         "print('ready', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == b"ready\n"
        memory, tasks = tree_usage(holder.pid)
        assert memory > 300 * 2**20 and tasks >= 1
    finally:
        holder.kill()
        holder.wait()


def test_cgroups_are_made_and_removed_where_the_machine_allows():
    group = Cgroup.make("aelab-test-cgroup", Limits(memory_gb=1, processes=10), cpus=1)
    if group is None:
        pytest.skip("this machine lets the grader make no cgroup: the watch counts memory instead")
    try:
        memory = group.folders["memory"] / "memory.limit_in_bytes"
        assert int(memory.read_text()) == 2**30
        assert (group.folders["pids"] / "pids.max").read_text().strip() == "10"
        assert (group.folders["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "100000"
        entered = subprocess.run(group.enter(["cat", "/proc/self/cgroup"]), capture_output=True)
        assert entered.returncode == 0 and "aelab-test-cgroup" in entered.stdout.decode()
        assert group.over(Limits()) == ""
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders.values())


@pytest.mark.slow
def test_a_notebook_spinning_many_sessions_does_not_slow_its_neighbour(built, mnist):
    """24 children in sessions of their own, spinning, beside an honest notebook: at most 1.5x."""
    probe = Cgroup.make("aelab-probe", Limits(), cpus=1)
    if probe is None:
        pytest.skip("CPU is capped only where the grader can make cgroups (see docs/security.md)")
    probe.remove()
    out, _ = built
    spinner = (ATTACKS / "spinning_sessions.py").read_text() + "\ntime.sleep(40)\n"
    hog, honest = work.with_extra_cell(work.blank(out), spinner), work.solution(out)
    options = RunOptions(cell_timeout=60)
    with (
        Judges(out / "autograder.zip", mnist, options, size=2) as judges,
        ThreadPoolExecutor(2) as pool,
    ):
        list(pool.map(judges.grade, [work.blank(out)] * 2))  # both judges start: no import timed
        alone = judges.grade(honest)
        spinning = pool.submit(judges.grade, hog)
        time.sleep(2)
        beside = pool.submit(judges.grade, honest).result()
        assert spinning.result().total == 0
    assert alone.total == beside.total == 38
    slowdown = beside.seconds / alone.seconds
    print(f"honest notebook alone {alone.seconds:.1f} s, beside the spinner {beside.seconds:.1f} s")
    assert slowdown <= 1.5, (alone.seconds, beside.seconds)
