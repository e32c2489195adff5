"""Pairs of submissions whose student-written code is near-identical.

Fingerprinting is copydetect's (winnowing over tokens with names, strings and comments
normalised away, as MOSS does), so renaming variables, editing comments or reordering
cells does not hide a copy. Only what students wrote counts: cells identical to a given
cell are dropped, and every fingerprint of the given code is set aside as boilerplate.
Two partners who name each other, and one student's own files, are never paired.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

K = 25  # characters of normalised code per fingerprint (copydetect's default noise threshold)
WINDOW = 1  # keep every fingerprint: notebooks are short
THRESHOLD = 0.6  # share of one notebook's own code found in the other
MIN_SHARED = 300  # normalised characters in common: less is too little to call a copy
# Measured on this lab: two independently written correct notebooks share 0.21-0.35 of their
# code (the prompts fix names and layer sizes); a renamed, reordered copy shares 0.97-0.99.


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


@dataclass(frozen=True)
class Pair:
    """Two submissions that share most of their code."""

    first: Submission
    second: Submission
    similarity: float  # the larger of the two shares
    shares: tuple[float, float]  # share of each one's code found in the other
    shared: int  # normalised characters in common
    first_html: str  # each one's code, HTML-escaped, shared parts in <mark>
    second_html: str


def similar_pairs(submissions: list[Submission], scaffold: list[str]) -> list[Pair]:
    """Every pair sharing at least ``THRESHOLD`` of one's code, most similar first."""
    boilerplate = np.array(sorted(_fingerprint("\n\n".join(scaffold)).hashes), dtype=np.int64)
    prints = [_fingerprint(s.code, boilerplate) for s in submissions]
    pairs = []
    for (a, fa), (b, fb) in itertools.combinations(zip(submissions, prints, strict=True), 2):
        if a.teams_with(b) or not fa.hashes or not fb.hashes:
            continue
        common = len(fa.hashes & fb.hashes)
        if common < THRESHOLD / 2 * min(len(fa.hashes), len(fb.hashes)):
            continue  # a cheap first look: far from the threshold in shared fingerprints
        shared, shares, slices = compare_files(fa, fb)
        if max(shares) < THRESHOLD or shared < MIN_SHARED:
            continue
        pairs.append(
            Pair(
                a,
                b,
                round(float(max(shares)), 3),
                (round(float(shares[0]), 3), round(float(shares[1]), 3)),
                int(shared),
                _marked(a.code, slices[0]),
                _marked(b.code, slices[1]),
            )
        )
    return sorted(pairs, key=lambda p: (-p.similarity, p.first.label, p.second.label))


def _fingerprint(code: str, boilerplate: np.ndarray | None = None) -> CodeFingerprint:
    return CodeFingerprint(
        "answers.py", K, WINDOW, boilerplate=boilerplate, language="python", fp=io.StringIO(code)
    )


def _marked(code: str, slices: np.ndarray) -> str:
    marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return marked


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
