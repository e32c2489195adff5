"""Pairs of submissions whose student-written code is near-identical.

Fingerprinting is copydetect's (winnowing over tokens with names, strings and comments
normalised away, as MOSS does), so renaming variables, editing comments or reordering
cells does not hide a copy. Only what students wrote counts: cells identical to a given
cell are dropped, and every fingerprint of the given code is set aside as boilerplate.
Two partners who name each other, and one student's own files, are never paired.
"""

from __future__ import annotations

import html
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_copied_slices, highlight_overlap

K = 25  # characters of normalised code per fingerprint (copydetect's default noise threshold)
WINDOW = 1  # keep every fingerprint: notebooks are short
THRESHOLD = 0.6  # share of one notebook's own code found in the other
MIN_SHARED = 300  # normalised characters in common: less is too little to call a copy
# Measured on this lab: two independently written correct notebooks share 0.21-0.36 of their
# code (the prompts fix names and layer sizes); a renamed, reordered copy shares 0.97-0.99.
FIRST_LOOK = 0.3  # distinct fingerprints in common, over the smaller notebook's: below it, a
# pair is not compared in full. Independent notebooks of this lab: 0.07-0.15; copies >= 0.89;
# in 3,000 pairs of notebooks mixing three styles, every pair sharing >= 0.6 had >= 0.38.
PER_WORKER = 50  # submissions per worker process worth starting one for


@dataclass(frozen=True)
class Submission:
    """One student's (or team's) code, and whom it belongs to."""

    label: str  # shown in the report: student and file
    user: str  # the submitter's user id
    partners: frozenset[str]  # user ids the notebook's TEAM cell names
    code: str

    def teams_with(self, other: Submission) -> bool:
        """One student, or two who name each other as partners (one-sided could hide a copy)."""
        return self.user == other.user or (
            self.user in other.partners and other.user in self.partners
        )


class Fingerprints:
    """One submission's copydetect fingerprints, with each kept position's hash as arrays."""

    def __init__(self, code: str, boilerplate: np.ndarray | None = None) -> None:
        self.copydetect = CodeFingerprint(
            "answers.py", K, WINDOW, boilerplate, language="python", fp=io.StringIO(code)
        )
        index = self.copydetect.hash_idx
        self.set = set(index)
        self.unique = np.array(sorted(index), dtype=np.int64)
        # every kept position and its hash, sorted by hash
        self.hashes = np.array([h for h in self.unique for _ in index[h]], dtype=np.int64)
        self.positions = np.array([p for h in self.unique for p in index[h]], dtype=np.int64)

    def overlap(self, common: np.ndarray) -> int:
        """Normalised characters of this code inside the fingerprints ``common`` (sorted).

        What copydetect's ``compare_files`` counts, with its lookup done in array operations.
        """
        if not common.size:
            return 0
        found = common[np.minimum(np.searchsorted(common, self.hashes), common.size - 1)]
        slices = get_copied_slices(self.positions[found == self.hashes], K)
        return int(np.sum(slices[1] - slices[0]))

    def share(self, overlap: int) -> float:
        """``overlap`` as a part of this code (copydetect's similarity)."""
        coverage = self.copydetect.token_coverage
        return overlap / coverage if coverage else 0.0


@dataclass(frozen=True)
class Pair:
    """Two submissions that share most of their code."""

    first: Submission
    second: Submission
    shares: tuple[float, float]  # share of each one's code found in the other
    shared: int  # normalised characters in common
    prints: tuple[Fingerprints, Fingerprints]

    @property
    def similarity(self) -> float:
        """The larger of the two shares."""
        return max(self.shares)

    def side_by_side(self) -> tuple[str, str]:
        """Each one's code, HTML-escaped, with the shared parts in ``<mark>``."""
        _, _, slices = compare_files(self.prints[0].copydetect, self.prints[1].copydetect)
        return tuple(
            highlight_overlap(s.code, cut, "<mark>", "</mark>", escape_html=True)[0]
            if cut.size  # (copydetect returns the code unescaped when nothing is shared)
            else html.escape(s.code)
            for s, cut in zip((self.first, self.second), slices, strict=True)
        )


def similar_pairs(
    submissions: list[Submission], scaffold: list[str], workers: int | None = None
) -> list[Pair]:
    """Every pair sharing at least ``THRESHOLD`` of one's code, most similar first.

    Tokenising and comparing run on ``workers`` processes (by default one per core for a
    large class, none for a small one, where starting them costs more than it saves).
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, len(submissions) // PER_WORKER)
    boilerplate = Fingerprints("\n\n".join(scaffold)).unique
    fingerprint = partial(Fingerprints, boilerplate=boilerplate)
    prints = _map(fingerprint, [s.code for s in submissions], workers)
    rows = _map(_compare_row, range(len(prints)), workers, (submissions, prints))
    pairs = [
        Pair(submissions[i], submissions[j], shares, shared, (prints[i], prints[j]))
        for row in rows
        for i, j, shares, shared in row
    ]
    return sorted(pairs, key=lambda p: (-p.similarity, p.first.label, p.second.label))


def _map(function: Callable, items: Iterable, workers: int, shared: tuple = ([], [])) -> list:
    """``function`` over ``items`` here, or in ``workers`` forked processes holding ``shared``.

    Forked, because copydetect hashes with Python's ``hash()``, salted per process: only a
    fork shares this process's salt, so that fingerprints made anywhere can be compared.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        _share(*shared)
        return list(map(function, items))
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, context, initializer=_share, initargs=shared) as pool:
        return list(pool.map(function, items, chunksize=8))


_shared: tuple[list[Submission], list[Fingerprints]] = ([], [])  # a worker's copy of the class


def _share(submissions: list[Submission], prints: list[Fingerprints]) -> None:
    global _shared
    _shared = (submissions, prints)


def _compare_row(i: int) -> list[tuple[int, int, tuple[float, float], int]]:
    """Submission ``i`` against every later one: the pairs over the threshold."""
    submissions, prints = _shared
    a, fa, found = submissions[i], prints[i], []
    if not fa.unique.size:
        return found
    for j in range(i + 1, len(prints)):
        b, fb = submissions[j], prints[j]
        if a.teams_with(b) or not fb.unique.size:
            continue
        if len(fa.set & fb.set) < FIRST_LOOK * min(fa.unique.size, fb.unique.size):
            continue
        common = np.intersect1d(fa.unique, fb.unique, assume_unique=True)
        shared = fa.overlap(common)
        shares = (fa.share(shared), fb.share(fb.overlap(common)))
        if max(shares) >= THRESHOLD and shared >= MIN_SHARED:
            found.append((i, j, (round(shares[0], 3), round(shares[1], 3)), shared))
    return found


def groups(pairs: list[Pair]) -> list[tuple[list[Submission], float]]:
    """Submissions linked by similar pairs, largest group first, with its highest similarity.

    A copy passed round a class is one group of n, not n(n-1)/2 pairs to read.
    """
    parent: dict[Submission, Submission] = {}

    def root(s: Submission) -> Submission:
        while parent.setdefault(s, s) is not s:
            s = parent[s]
        return s

    for pair in pairs:
        parent[root(pair.first)] = root(pair.second)
    members: dict[Submission, list[Submission]] = {}
    for submission in parent:
        members.setdefault(root(submission), []).append(submission)
    highest = {}
    for pair in pairs:
        top = root(pair.first)
        highest[top] = max(highest.get(top, 0.0), pair.similarity)
    found = [(sorted(m, key=lambda s: s.label), highest[top]) for top, m in members.items()]
    return sorted(found, key=lambda g: (-len(g[0]), -g[1], g[0][0].label))
