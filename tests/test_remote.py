"""The judge's side of the pipes, against a real worker: answers as data, deadlines that hold."""

import os
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from aelab.grading.remote import OutOfTime, Pipes, Sandboxed, SandboxGone
from aelab.grading.sandbox import STUDENT_SIDE
from aelab.student_side.objects import InProcess, Ref, StudentError, rebuild

NOTEBOOK = """
import torch
from torch import nn

def add(a, b):
    print("adding", a, b)
    return helper(a) + b

def helper(a):
    return a

def broken(x):
    raise ValueError("a secret the student wrote")

def unfinished(x):
    ...

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 2), nn.ReLU())

    def forward(self, x):
        return self.layers(x)

model = Model()
"""
DOUBLES = "def twice(x):\n    return 2 * x\n"


def _worker() -> subprocess.Popen:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(STUDENT_SIDE.parent), "HOME": "/tmp"}
    return subprocess.Popen(
        [sys.executable, "-m", "student_side.worker"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture(scope="module")
def student():
    worker = _worker()
    pipes = Pipes(worker.stdin, worker.stdout)
    pipes.send({"job": {"cells": [{"index": 0, "source": NOTEBOOK}], "cell_timeout": 60}})
    events = [pipes.receive(time.monotonic() + 60)[0] for _ in range(3)]
    assert [e["event"] for e in events] == ["cell", "cell", "cells-done"]
    assert events[1]["status"] == "ok"
    student = Sandboxed(pipes)
    student.deadline = time.monotonic() + 120
    student.send_doubles(DOUBLES)
    yield student
    pipes.send({"op": "end"})
    pipes.close()
    worker.wait(timeout=30)


def test_answers_are_plain_data_or_references(student):
    add = student.get("add")
    assert isinstance(add, Ref) and add.is_callable and not add.is_module
    assert student.get("nothing here") is None
    assert add.call(torch.ones(2), b=3).tolist() == [4.0, 4.0]
    assert add.parameters() == ["a", "b"]
    model = student.get("model")
    assert model.is_module and student.get("model") is model  # one object, one reference
    structure = model.attr("layers").structure()
    assert structure == [
        "Sequential", {}, [["Linear", {"in_features": 3, "out_features": 2, "bias": True}, []],
                           ["ReLU", {}, []]],
    ]  # fmt: skip
    assert str(rebuild(structure)) == str(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    assert model.structure() == ["other", {}, []]  # a class of the notebook's own
    state = model.state()
    assert set(state) == {"layers.0.weight", "layers.0.bias"}
    model.load({key: torch.zeros_like(value) for key, value in state.items()})
    assert model.call(torch.ones(1, 3)).tolist() == [[0.0, 0.0]]
    assert student.double("twice", torch.tensor(2.0)).item() == 4.0


def test_a_run_keeps_what_was_printed_and_counts_spied_calls(student):
    done = student.get("add").run(1, 2, spy=("helper",))
    assert (done.value, done.printed, done.calls) == (3, "adding 1 2\n", {"helper": 1})


def test_the_students_errors_come_back_as_their_class_name_only(student):
    with pytest.raises(StudentError) as raised:
        student.get("broken").call(1)
    assert (raised.value.kind, raised.value.detail) == ("ValueError", "")  # no text of theirs
    unfinished = student.get("unfinished")
    assert unfinished.call(None) is None and unfinished.unfinished()
    assert unfinished.attr("no such attribute", 5) == 5 and not student.get("add").unfinished()


def test_the_instructors_own_notebook_shows_the_error_and_where_it_arose(student):
    """The build grades the instructor's master in instructor mode: the exception's text and
    the cell and line that raised it, which a student's grading never keeps."""
    instructor = Sandboxed(student.pipes, instructor=True)
    instructor.deadline = student.deadline
    with pytest.raises(StudentError) as raised:
        instructor.get("broken").call(1)
    error = raised.value
    assert (error.kind, error.detail, error.where) == (
        "ValueError",
        "a secret the student wrote",
        [0, 13],
    )
    with pytest.raises(StudentError) as raised:
        student.get("broken").call(1)
    assert (raised.value.detail, raised.value.where) == ("", None)


def test_the_same_questions_get_the_same_answers_in_this_process():
    namespace: dict = {}
    exec(NOTEBOOK, namespace)
    here = InProcess(namespace)
    assert here.get("add").call(torch.ones(2), b=3).tolist() == [4.0, 4.0]
    assert here.get("model").attr("layers").structure()[2][1][0] == "ReLU"
    with pytest.raises(StudentError) as raised:
        here.get("broken").call(1)
    assert raised.value.detail == "a secret the student wrote"  # shown to the student only


def test_a_worker_that_stops_answering_is_stuck_by_the_deadline():
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        student = Sandboxed(Pipes(sleeper.stdin, sleeper.stdout))
        started = time.monotonic()
        with pytest.raises(OutOfTime):
            student.deadline = started - 1
            student.get("x")
        big = torch.zeros(16 * 2**20 // 4)  # 16 MB: more than the pipe holds, never read
        student.deadline = started + 1
        with pytest.raises(SandboxGone) as gone:
            student.double("twice", big)
        assert gone.value.why == "stuck"
        assert time.monotonic() - started < 1 + 10 + 5  # the limit, the grace, and no more
    finally:
        sleeper.kill()
        sleeper.wait()


def test_garbage_on_the_channel_is_garbled_not_trusted():
    liar = subprocess.Popen(
        [sys.executable, "-c", "print('{\"id\": 1, \"value\": true}', flush=True)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    student = Sandboxed(Pipes(liar.stdin, liar.stdout))
    student.deadline = time.monotonic() + 20
    with pytest.raises(SandboxGone) as gone:
        student.get("x")
    assert gone.value.why == "garbled"
    liar.wait()


@pytest.mark.parametrize(
    "structure",
    [
        ["Linear", {"in_features": 10**6, "out_features": 10**6, "bias": True}, []],  # 4 TB
        ["Linear", {"in_features": "784", "out_features": 2, "bias": True}, []],
        ["Linear", {"in_features": 784, "out_features": 2}, []],  # a setting missing
        ["Sequential", {}, [["os.system", {}, []]]],
        ["other", {}, []],
        "Linear",
    ],
)
def test_a_structure_that_is_not_torch_layers_of_sane_size_is_not_made(structure):
    assert rebuild(structure) is None


def test_a_cell_error_is_reported_with_its_place_and_a_hostile_one_changes_nothing():
    """The worker reports a failed cell's error and line (the build shows it to the instructor);
    an exception whose text itself raises is still reported, and the next cell runs."""
    worker = _worker()
    pipes = Pipes(worker.stdin, worker.stdout)
    cells = [
        "x = 1\nx.nothing",
        "class Hostile(Exception):\n    def __str__(self):\n        raise RuntimeError\n"
        "raise Hostile",
        "y = 2",
    ]
    job = [{"index": i, "source": source} for i, source in enumerate(cells)]
    pipes.send({"job": {"cells": job, "cell_timeout": 60}})
    ends = []
    while len(ends) < 3:
        header = pipes.receive(time.monotonic() + 60)[0]
        if header.get("phase") == "end":
            ends.append(header)
    assert ends[0]["error"] == "AttributeError: 'int' object has no attribute 'nothing'"
    assert ends[0]["where"] == [0, 2]
    assert (ends[1]["status"], ends[1]["where"][0]) == ("error", 1)
    assert ends[2]["status"] == "ok"
    pipes.send({"op": "end"})
    pipes.close()
    worker.wait(timeout=30)
