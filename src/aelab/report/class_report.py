"""Write ``report.json`` and ``report.html`` from a grading run's record (``rows.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aelab.record import RECORD
from aelab.report import similarity
from aelab.report.page import render
from aelab.report.statistics import class_statistics

METHOD = (
    "Pairs whose student-written code (the answer cells; code handed out in the notebook set "
    "aside) is near-identical after names, strings and comments are normalised: winnowing "
    "fingerprints by copydetect, as MOSS does. Listed when one notebook has at least "
    f"{similarity.THRESHOLD:.0%} of its own code in the other and at least "
    f"{similarity.MIN_SHARED} characters in common. Two partners who name each other in their "
    "TEAM cells, and one student's resubmissions, are never paired. Shared parts are "
    "highlighted."
)

SHOWN_PAIRS = 30  # pairs drawn side by side; the rest are listed (the page stays a few MB)


class ReportError(ValueError):
    """The folder holds no grading record; the message says what to run."""


def write_report(folder: Path) -> Path:
    """Write ``report.json`` and ``report.html`` in ``folder`` from its grading record."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError) as error:
        raise ReportError(
            f"{folder} holds no readable {RECORD} ({error}): run `aelab grade` into it first."
        ) from error
    stats = class_statistics(record)
    pairs = _pairs(record)
    (folder / "report.json").write_text(
        json.dumps({**stats, "similar": _without_html(pairs)}, indent=1) + "\n"
    )
    (folder / "report.html").write_text(render(stats, pairs), encoding="utf-8", errors="replace")
    return folder / "report.html"


def _pairs(record: dict[str, Any]) -> dict[str, Any]:
    submissions = [
        similarity.Submission(
            label=f"{row['student'] or row['user_id']} ({row['file']})",
            user=row["user_id"] or row["file"],
            partners=frozenset(p["canvas_id"] for p in row["team"]),
            code=row["code"],
        )
        for row in record["rows"]
        if row["code"].strip()
    ]
    found = similarity.similar_pairs(submissions, record["scaffold"])
    return {
        "method": METHOD,
        "threshold": similarity.THRESHOLD,
        "compared": len(submissions),
        "groups": [
            {"members": [s.label for s in group], "highest": highest}
            for group, highest in similarity.groups(found)
        ],
        "pairs": [
            {
                "similarity": p.similarity,
                "shares": list(p.shares),
                "shared": p.shared,
                "first": {"label": p.first.label},
                "second": {"label": p.second.label},
            }
            for p in found
        ],
        "side_by_side": [p.side_by_side() for p in found[:SHOWN_PAIRS]],
    }


def _without_html(pairs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in pairs.items() if key != "side_by_side"}
