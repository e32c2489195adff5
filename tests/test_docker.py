"""``aelab grade --docker IMAGE`` end to end: the hostile class graded in containers and with
bubblewrap, one after the other in one session, must come out the same.

Needs a Docker engine and the grading image (``make docker-image``; on a machine that reaches
no image registry, ``make docker-base`` first: see docs/grading.md). Without them it is skipped,
and says which is missing. ``AELAB_DOCKER_IMAGE`` names another image.
"""

import csv
import os

import pytest
import student_work as work
from canvas_class import MARKER, SSH_KEY, TOKEN, attacks
from hostile_run import grade_class

from aelab.grading import container
from aelab.grading.runner import Judges, RunOptions
from aelab.grading.sandbox import bwrap_available

pytestmark = pytest.mark.slow
IMAGE = os.environ.get("AELAB_DOCKER_IMAGE", "aelab-grader")
SLOWER_AT_MOST = 1.5  # the goal: a notebook in a container against the same in bubblewrap


def _missing() -> str:
    """What this machine lacks for the comparison ("" if nothing)."""
    if not bwrap_available():
        return "bubblewrap is not available here: nothing to compare the containers with"
    return container.image_problem(IMAGE)


@pytest.fixture(scope="module")
def engine():
    """Skips the module, saying why, where there is no engine, image or bubblewrap."""
    missing = _missing()
    if missing:
        pytest.skip(f"No Docker grading here: {missing}")


@pytest.fixture(scope="module")
def both(engine, graded_class, built, tmp_path_factory):
    """The class graded with bubblewrap (conftest's graded_class), then in containers."""
    out, _ = built
    run = RunOptions(
        isolation="docker", image=IMAGE, cell_timeout=graded_class.options.run.cell_timeout
    )
    docker = grade_class(out, tmp_path_factory.mktemp("docker"), run)
    for isolation, graded in (("bwrap", graded_class), ("docker", docker)):
        print(f"{isolation}: {len(graded.summary.rows)} files in {graded.summary.seconds:.0f} s")
    return graded_class, docker


def _rows(graded):
    with open(graded.results / "results.csv", newline="", encoding="utf-8") as file:
        return {row["user_id"]: row for row in csv.DictReader(file)}


def test_containers_give_every_row_the_status_and_score_of_bubblewrap(both):
    bwrap, docker = (_rows(graded) for graded in both)
    assert bwrap.keys() == docker.keys() and len(docker) >= 40
    differ = {
        user: ((b["status"], b["total"]), (docker[user]["status"], docker[user]["total"]))
        for user, b in bwrap.items()
        if (b["status"], b["total"]) != (docker[user]["status"], docker[user]["total"])
    }
    assert differ == {}
    assert docker["101"]["total"] == "38" and docker["103"]["total"] == "34.5"


def test_every_attack_in_a_container_earns_nothing_and_limits_stop_it(both):
    _, graded = both
    rows = _rows(graded)
    for attack in attacks(graded.port, graded.planted):
        row = rows[attack.user_id]
        if attack.base == "solution":  # an endless cell: that cell only is lost
            assert (row["status"], row["total"]) == ("graded", "38"), attack.name
            continue
        assert row["total"] in ("", "0"), (attack.name, row["total"])
        if "needs review" in attack.expect:
            assert row["status"] == "needs review", (attack.name, row["reason"])
        if "stopped" in attack.expect:  # the engine's memory or process limit, read back
            assert "the sandbox was stopped" in row["reason"], (attack.name, row["reason"])


def test_nothing_of_the_grader_reached_a_container_and_no_container_is_left(both):
    _, graded = both
    assert graded.changed == [] and graded.connections == []
    for path in [*graded.results.glob("*.csv"), *(graded.results / "feedback").iterdir()]:
        text = path.read_text(errors="replace")
        assert TOKEN not in text and SSH_KEY not in text, path.name
    assert container.started() == []  # every container was removed
    survivors = []  # a container's processes are this kernel's too
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if MARKER.encode() in file.read():
                    survivors.append(pid)
        except OSError:
            continue
    assert survivors == []


def test_a_notebook_in_a_container_takes_at_most_half_again_its_time_in_bubblewrap(
    engine, built, mnist
):
    """Each notebook graded in bubblewrap, then at once in a container, turn by turn, so that
    the machine's other work slows both alike (the class runs above are minutes apart)."""
    out, _ = built
    notebooks = [work.solution(out), work.blank(out)] * 3
    seconds = {"bwrap": [], "docker": []}
    runs = {isolation: RunOptions(isolation=isolation, image=IMAGE) for isolation in seconds}
    judges = {name: Judges(out / "autograder.zip", mnist, run, 1) for name, run in runs.items()}
    try:
        for judge in judges.values():
            judge.grade(work.blank(out))  # the judge started: its import is not timed
        for notebook in notebooks:
            for isolation, judge in judges.items():
                grade = judge.grade(notebook)
                assert grade.status == "graded", (isolation, grade.reason)
                seconds[isolation].append(grade.seconds)
    finally:
        for judge in judges.values():
            judge.close()
    ratio = sum(seconds["docker"]) / sum(seconds["bwrap"])
    print(f"per notebook, in turn: {seconds} ({ratio:.2f}x)")
    assert ratio <= SLOWER_AT_MOST, seconds
