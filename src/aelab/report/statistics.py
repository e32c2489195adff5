"""Where a class lost points: status counts, score distributions, per-test failures, timing.

Input is the grading record (``rows.json``, written by ``aelab grade``); output is plain data,
the content of ``report.json``, that the page draws. Scores count for notebooks graded
without doubt (status "graded"); a notebook put up for review is counted, not averaged.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from aelab.record import GRADED, key_of_test

TOP_MESSAGES = 8  # distinct failure messages listed per test
SLOWEST = 5


def class_statistics(record: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers, from a grading record."""
    rows = record["rows"]
    graded = [row for row in rows if row["status"] == GRADED]
    questions: dict[str, float] = record["questions"]
    return {
        "title": record["title"],
        "files": len(rows),
        "status": _status_counts(rows),
        "scores": _scores(graded, questions, record.get("written_questions", {})),
        "questions": [_question(graded, q, points) for q, points in questions.items()],
        "tests": _tests(graded, record["tests"]),
        "heatmap": _heatmap(graded, questions),
        "timing": _timing([row for row in rows if row["seconds"]]),
    }


def _status_counts(rows: list[dict]) -> dict[str, int]:
    counts = Counter(row["status"] for row in rows)
    counts["late"] = sum(row["late"] for row in rows)
    return dict(sorted(counts.items()))


def _summary(values: list[float], possible: float) -> dict[str, Any]:
    if not values:
        return {"count": 0, "possible": possible}
    return {
        "count": len(values),
        "possible": possible,
        "mean": round(statistics.fmean(values), 2),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "full_marks_percent": round(100 * sum(v >= possible for v in values) / len(values), 1),
    }


def _histogram(values: list[float], possible: float) -> dict[str, list]:
    """Counts per one-point bin [k, k+1), the last bin closed: a score of ``possible`` counts."""
    top = max(1, int(possible))
    counts = [0] * top
    for value in values:
        counts[min(top - 1, max(0, int(value)))] += 1
    return {"edges": list(range(top + 1)), "counts": counts}


def _scores(graded: list[dict], questions: dict[str, float], written: dict[str, float]):
    possible = sum(questions.values())
    autograded = [sum(row["scores"].values()) for row in graded]
    scores = {
        "autograded": _summary(autograded, possible),
        "histogram": _histogram(autograded, possible),
    }
    done = [row for row in graded if row.get("written") is not None]
    if written and done:
        scores["written"] = _summary([row["written"] for row in done], sum(written.values()))
        both = [sum(row["scores"].values()) + row["written"] for row in done]
        scores["total"] = _summary(both, possible + sum(written.values()))
    return scores


def _question(graded: list[dict], name: str, points: float) -> dict[str, Any]:
    values = [row["scores"].get(name, 0.0) for row in graded]
    return {
        "name": name,
        **_summary(values, points),
        "lost_points": sum(v < points for v in values),  # students below full marks
        "distribution": {f"{k:g}": n for k, n in sorted(Counter(values).items())},
    }


def _tests(graded: list[dict], tests: list[dict]) -> list[dict[str, Any]]:
    """Each test's failure rate among graded notebooks, worst first, with its messages."""
    found = []
    for test in tests:
        verdicts = [t for row in graded for t in row["tests"] if _key(t) == test["key"]]
        failed = [t for t in verdicts if not t["passed"]]
        messages = Counter(t["message"] for t in failed).most_common()
        found.append(
            {
                **test,
                "ran": len(verdicts),
                "failed": len(failed),
                "failure_rate": round(len(failed) / len(verdicts), 3) if verdicts else 0.0,
                "messages": [{"message": m, "count": n} for m, n in messages[:TOP_MESSAGES]],
                "other_messages": max(0, len(messages) - TOP_MESSAGES),
            }
        )
    return sorted(found, key=lambda t: (-t["failure_rate"], t["key"]))


def _heatmap(graded: list[dict], questions: dict[str, float]) -> dict[str, Any]:
    """Share of each question's points per student, students sorted by total (lowest first)."""
    ordered = sorted(graded, key=lambda row: (sum(row["scores"].values()), row["file"]))
    return {
        "questions": list(questions),
        "students": [row["student"] or row["file"] for row in ordered],
        "fractions": [
            [round(row["scores"].get(q, 0.0) / p, 3) if p else 1.0 for q, p in questions.items()]
            for row in ordered
        ],
    }


def _timing(timed: list[dict]) -> dict[str, Any]:
    seconds = [row["seconds"] for row in timed]
    if not seconds:
        return {"count": 0}
    phases: dict[str, list[float]] = {}
    for row in timed:
        for phase, value in (row.get("phases") or {}).items():
            phases.setdefault(phase, []).append(value)
    slowest = sorted(timed, key=lambda row: -row["seconds"])[:SLOWEST]
    return {
        "count": len(seconds),
        "seconds": seconds,
        "median": round(statistics.median(seconds), 1),
        "p90": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 1),
        "max": round(max(seconds), 1),
        "total": round(sum(seconds), 1),
        "mean_by_phase": {k: round(statistics.fmean(v), 2) for k, v in phases.items()},
        "slowest": [
            {"student": r["student"], "file": r["file"], "seconds": round(r["seconds"], 1)}
            for r in slowest
        ],
    }


def _key(verdict: dict) -> str:
    return key_of_test(verdict["question"], verdict["name"])
