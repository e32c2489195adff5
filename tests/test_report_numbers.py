"""The class report's numbers and pairing rules on a hand-made record (fast: no grading)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from copydetect import compare_files

from aelab.report.similarity import Fingerprints, Pair, Submission, groups, similar_pairs
from aelab.report.statistics import class_statistics

SCAFFOLD = ["import torch\n\nSEED = 503", "def train(model):\n    ..."]
ANSWER = """def train(model):
    optimiser = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(10):
        for images, labels in loader:
            loss = torch.nn.functional.mse_loss(model(images), images)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"epoch {epoch}: {loss.item():.4f}")
    return model


def evaluate(model, loader):
    total, count = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            reconstruction = model(images.view(len(images), -1))
            total += torch.sum((reconstruction - images.view(len(images), -1)) ** 2).item()
            count += len(images)
    return total / count


def show(model, images, count=8):
    figure, axes = plt.subplots(2, count, figsize=(count, 2))
    with torch.no_grad():
        decoded = model(images[:count].view(count, -1)).view(count, 28, 28)
    for column in range(count):
        axes[0, column].imshow(images[column].squeeze(), cmap="gray")
        axes[1, column].imshow(decoded[column], cmap="gray")
    plt.show()
"""
OTHER = """def train(model):
    sgd = torch.optim.SGD(model.parameters(), momentum=0.9, lr=0.1)
    step = 0
    while step < 1000:
        batch = next(iter(loader))[0].flatten(1)
        error = ((model(batch) - batch) ** 2).mean()
        sgd.zero_grad(); error.backward(); sgd.step()
        step += 1
    return model
"""


def _row(file, status, scores, failed=(), seconds=5.0, written=None):
    tests = [
        {"question": "q1", "name": name, "passed": name not in failed,
         "message": "" if name not in failed else f"{name} went wrong"}
        for name in ("test_a", "test_b")
    ]  # fmt: skip
    return {"file": file, "student": file, "user_id": file, "status": status, "late": False,
            "scores": scores, "tests": tests, "seconds": seconds, "phases": {"cells": 1.0},
            "written": written, "team": [], "credited": [], "code": ""}  # fmt: skip


RECORD = {
    "title": "Lab",
    "questions": {"q1": 2.0, "q2": 1.0},
    "written_questions": {},
    "tests": [
        {"key": "q1/test_a", "question": "q1", "points": 1.0, "hidden": False},
        {"key": "q1/test_b", "question": "q1", "points": 1.0, "hidden": True},
    ],
    "scaffold": SCAFFOLD,
    "rows": [
        _row("full", "graded", {"q1": 2.0, "q2": 1.0}),
        _row("half", "graded", {"q1": 1.0, "q2": 0.5}, failed=("test_b",), seconds=9.0),
        _row("none", "graded", {"q1": 0.0, "q2": 0.0}, failed=("test_a", "test_b")),
        _row("flagged", "needs review", {"q1": 2.0, "q2": 1.0}, failed=("test_a",)),
        {**_row("gone", "unreadable", {}), "tests": [], "seconds": 0.0},
    ],
}


def test_scores_questions_and_tests_count_graded_notebooks_only():
    stats = class_statistics(RECORD)
    assert stats["status"] == {"graded": 3, "late": 0, "needs review": 1, "unreadable": 1}
    scores = stats["scores"]["autograded"]
    assert (scores["count"], scores["mean"], scores["median"]) == (3, 1.5, 1.5)
    assert scores["full_marks_percent"] == 33.3
    assert stats["scores"]["histogram"] == {"edges": [0, 1, 2, 3], "counts": [1, 1, 1]}
    q1 = stats["questions"][0]
    assert (q1["lost_points"], q1["distribution"]) == (2, {"0": 1, "1": 1, "2": 1})
    worst, best = stats["tests"]
    assert (worst["key"], worst["failed"], worst["ran"]) == ("q1/test_b", 2, 3)
    assert worst["messages"] == [{"message": "test_b went wrong", "count": 2}]
    assert (best["key"], best["failed"]) == ("q1/test_a", 1)  # the flagged row is not counted
    assert stats["heatmap"]["students"] == ["none", "half", "full"]
    assert stats["timing"]["slowest"][0] == {"student": "half", "file": "half", "seconds": 9.0}


def _submission(user, code, partners=()):
    return Submission(user, user, frozenset(partners), code)


def test_copies_pair_and_group_independent_code_and_mutual_partners_do_not():
    renamed = ANSWER.replace("optimiser", "opt").replace("images", "x").replace("epoch", "e")
    found = similar_pairs(
        [
            _submission("a", ANSWER),
            _submission("b", "# my own\n" + renamed),
            _submission("c", OTHER),
            _submission("d", ANSWER, partners={"e"}),
            _submission("e", ANSWER, partners={"d"}),
        ],
        SCAFFOLD,
    )
    pairs = {frozenset((p.first.user, p.second.user)) for p in found}
    assert frozenset("ab") in pairs and frozenset("de") not in pairs  # d and e name each other
    assert not [p for p in pairs if "c" in p]
    assert frozenset("ad") in pairs  # a one-sided or absent claim does not excuse a copy
    (members, highest), *_ = groups(found)
    assert {s.user for s in members} == set("abde") and highest == 1.0
    assert "<mark>" in found[0].side_by_side()[0]
    x, y = _submission("x", "<b>x</b>"), _submission("y", "<i>y</i>")
    apart = Pair(x, y, (0.0, 0.0), 0, (Fingerprints(x.code), Fingerprints(y.code)))
    assert apart.side_by_side() == ("&lt;b&gt;x&lt;/b&gt;", "&lt;i&gt;y&lt;/i&gt;")


def test_worker_processes_find_the_same_pairs():
    given = "\n\n".join(SCAFFOLD) + "\n\n"  # the boilerplate must be set aside everywhere
    codes = [given + ANSWER, given + ANSWER + OTHER, given + OTHER]
    submissions = [_submission(str(n), codes[n % 3]) for n in range(40)]  # across processes
    here = similar_pairs(submissions, SCAFFOLD, workers=1)
    there = similar_pairs(submissions, SCAFFOLD, workers=2)
    assert [(p.first, p.second, p.shares) for p in here] == [
        (p.first, p.second, p.shares) for p in there
    ]
    assert len(here) > 200


def test_the_shares_are_copydetects_own():
    prints = [Fingerprints(code) for code in (ANSWER, ANSWER[:500] + OTHER, OTHER)]
    for a, b in itertools.combinations(prints, 2):
        shared, shares, _ = compare_files(a.copydetect, b.copydetect)
        common = np.intersect1d(a.unique, b.unique)
        assert a.overlap(common) == shared > 0
        assert (a.share(shared), b.share(b.overlap(common))) == pytest.approx(shares)
