"""Which gradebook cells the import may change, and a line for each saying why.

A student without a new score keeps the exported cell exactly; so does an excused student
(``EX``) and a grade someone set in Canvas. A cell may change only when it was empty or
holds what an earlier import of this run wrote (``imported.json``): a regrade then updates
it and says so. ``--replace-existing`` lets new scores replace grades set by hand, each one
listed. Nothing is ever cleared: a new score is always a number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from aelab.canvas import EXCUSED, Change, Gradebook, write_gradebook_import

RECORD = "imported.json"  # what this output folder's imports wrote, by user id


def plan_changes(
    gradebook: Gradebook,
    column: str,
    scores: dict[str, float],
    previous: dict[str, str],
    replace_existing: bool = False,
) -> list[Change]:
    """One change (possibly "kept") per student of the gradebook."""
    changes = []
    for user_id, record in gradebook.students().items():
        old = gradebook.cell(user_id, column)
        score = scores.get(user_id)
        new, why = old, "no autograded score: cell kept as exported"
        if score is not None:
            value = f"{score:g}"
            ours = user_id in previous and _same(old, previous[user_id])
            if old.upper() == EXCUSED:
                why = f"excused in Canvas: kept (autograded {value})"
            elif old in ("", "-") or ours or replace_existing:
                new = value
                why = (
                    "autograded"
                    if old in ("", "-")
                    else "regraded (the cell held this run's earlier import)"
                    if ours
                    else "replaces a grade set in Canvas (--replace-existing)"
                )
            elif not _same(old, value):
                why = f"a grade set in Canvas: kept (autograded {value}; --replace-existing)"
            else:
                why = "unchanged"
        changes.append(Change(user_id, record["Student"], old, new, why))
    return changes


def _same(old: str, new: str) -> bool:
    return Change("", "", old, new, "").kind == "kept"


def write_import(
    gradebook: Gradebook,
    column: str,
    scores: dict[str, float],
    out: Path,
    replace_existing: bool = False,
) -> list[Change]:
    """Write gradebook_import.csv, changes.csv and the record; the changes."""
    record = out / RECORD
    history = json.loads(record.read_text()) if record.is_file() else {}
    previous = history.get(column, {})
    changes = plan_changes(gradebook, column, scores, previous, replace_existing)
    new_cells = {c.user_id: c.new for c in changes}
    write_gradebook_import(gradebook, column, new_cells, out / "gradebook_import.csv")
    with open(out / "changes.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "user_id", "old", "new", "change", "why"])
        for change in changes:
            writer.writerow([change.student, change.user_id, change.old, change.new,
                             change.kind, change.why])  # fmt: skip
    written = {c.user_id: c.new for c in changes if c.kind in ("set", "changed")}
    kept_ours = {u: v for u, v in previous.items() if u not in written}
    history[column] = {**kept_ours, **written}
    record.write_text(json.dumps(history, indent=1) + "\n")
    return changes


def summary_line(changes: list[Change]) -> str:
    """``"N grades set, M changed, 0 cleared; K kept as set in Canvas"``."""
    count = {kind: sum(c.kind == kind for c in changes) for kind in ("set", "changed", "cleared")}
    held = sum(c.kind == "kept" and "set in Canvas" in c.why for c in changes)
    excused = sum(c.kind == "kept" and c.why.startswith("excused") for c in changes)
    return (
        f"{count['set']} grades set, {count['changed']} changed, {count['cleared']} cleared; "
        f"{held} kept as set in Canvas, {excused} excused kept"
    )
