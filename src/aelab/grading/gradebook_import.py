"""Which gradebook cells the import may change, and a line for each saying why.

A student without a new score keeps the exported cell; so does an excused student (``EX``), a
cell Canvas shows as ``N/A`` and a grade someone set in Canvas. A cell may change only when it
was empty or holds what an earlier import of this output folder wrote (``imported.json``),
also after Canvas's late policy deducted from it; with ``--missing-grade``, a score Canvas's
missing policy filled in may be replaced too. ``--replace-existing`` lets new scores replace
grades set by hand, each one listed. Nothing is ever cleared: a new score is always a number.

In a group assignment Canvas gives a grade entered for one member to the whole group
(abstract_assignment.rb#grade_student), so a group is one unit: every member's cell gets the
group's score, or every member's cell stays as exported.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from aelab.canvas import (
    EXCUSED,
    Change,
    Gradebook,
    canvas_number,
    same_score,
    write_gradebook_import,
)
from aelab.text import spreadsheet_cell

RECORD = "imported.json"  # what this output folder's imports wrote, by user id
NOT_ASSIGNED = "N/A"  # gradebook_exporter.rb: not assigned, or anonymous grades not posted
HAND_SET = "a grade set in Canvas"


@dataclass(frozen=True)
class LatePolicy:
    """The course's policies, as Canvas's Gradebook settings → Late Policies set them.

    ``app/models/late_policy.rb``; percentages as the settings show them.
    """

    late_deduction: float | None = None  # "Deduct N% for each late day (or hour)"
    late_lowest: float = 0.0  # "Lowest possible grade", percent of points possible
    missing_grade: float | None = None  # "Grade for missing submissions", percent

    def late_scores(self, entered: float, possible: float) -> set[float]:
        """Every score Canvas may store for a late submission graded ``entered``.

        LatePolicy#points_deducted for 1, 2, … intervals late (rounded to 2 decimals, as
        Submission#late_points_deducted does), then Submission#score_late_or_none.
        """
        if self.late_deduction is None or possible <= 0:
            return set()
        most = math.ceil(100 / self.late_deduction) if self.late_deduction > 0 else 1
        scores = set()
        for intervals in range(1, most + 1):
            room = max(entered * 100 / possible - self.late_lowest, 0.0)
            deducted = round(possible * min(self.late_deduction * intervals, room) / 100, 2)
            scores.add(round(min(0.0, entered) if deducted > entered else entered - deducted, 2))
        return scores

    def missing_score(self, possible: float) -> float | None:
        """LatePolicy#points_for_missing, or ``None`` without a missing policy."""
        if self.missing_grade is None:
            return None
        return round(possible * self.missing_grade / 100, 2)


@dataclass(frozen=True)
class ImportRules:
    """What decides whether a cell may change, beyond the gradebook itself."""

    replace_existing: bool = False
    groups: dict[str, list[str]] = field(default_factory=dict)  # Canvas group → user ids
    policy: LatePolicy = field(default_factory=LatePolicy)
    late: frozenset[str] = frozenset()  # user ids whose downloaded file is marked LATE


def plan_changes(
    gradebook: Gradebook,
    column: str,
    scores: dict[str, float],
    previous: dict[str, str],
    rules: ImportRules | None = None,
) -> list[Change]:
    """One change (possibly "kept") per student of the gradebook."""
    rules = rules or ImportRules()
    possible = gradebook.points_possible(column) or 0.0
    changes = {}
    for user_id, record in gradebook.students().items():
        old = gradebook.cell(user_id, column)
        score = scores.get(user_id)
        if score is None:
            new, why, held = old, "no autograded score: cell kept as exported", ""
        else:
            new, why, held = _cell(user_id, old, score, previous.get(user_id), rules, possible)
        changes[user_id] = Change(user_id, record["Student"], old, new, why, held=held)
    for group, members in sorted(rules.groups.items()):
        _as_one_unit(group, [changes[m] for m in members if m in changes], changes)
    return list(changes.values())


def _cell(user_id, old, score, earlier, rules, possible) -> tuple[str, str, str]:
    """The new cell of one student with a score, why, and what it holds that is kept."""
    value = f"{score:g}"
    ours = _ours(old, earlier, user_id in rules.late, rules.policy, possible)
    late = bool(ours) and not same_score(old, earlier)
    if old.upper() == EXCUSED:
        return old, f"excused in Canvas: kept (autograded {value})", EXCUSED
    if old == NOT_ASSIGNED:
        why = (
            "N/A in the export (not assigned to this student, or anonymous grades not posted): "
            f"kept (autograded {value})"
        )
        return old, why, ""
    if same_score(old, value) or (ours and same_score(earlier, value)):
        return old, f"unchanged ({ours})" if ours else "unchanged", ""
    if old in ("", "-"):
        return value, "autograded", ""
    if ours:
        again = "; Canvas deducts its late penalty from the new score" if late else ""
        return value, f"regraded ({ours}{again})", ""
    missing = rules.policy.missing_score(possible)
    if missing is not None and earlier is None and same_score(old, f"{missing:g}"):
        return value, "replaces the score Canvas's missing policy filled in (--missing-grade)", ""
    if rules.replace_existing:
        return value, "replaces a grade set in Canvas (--replace-existing)", ""
    why = f"{HAND_SET}: kept (autograded {value}; --replace-existing){_hint(old, earlier)}"
    return old, why, HAND_SET


def _ours(old: str, earlier: str | None, late: bool, policy: LatePolicy, possible: float) -> str:
    """How ``old`` is what this folder imported before (Canvas's deduction included), or ""."""
    if earlier is None:
        return ""
    if same_score(old, earlier):
        return "the cell held this folder's earlier import"
    found, entered = canvas_number(old), canvas_number(earlier)
    if not late or found is None or entered is None:
        return ""
    if round(found, 2) not in policy.late_scores(entered, possible):
        return ""
    return f"the cell held this folder's earlier import of {earlier}, less Canvas's late deduction"


def _hint(old: str, earlier: str | None) -> str:
    """For a grade below this folder's earlier import: how to let a regrade update it."""
    found, entered = canvas_number(old), canvas_number(earlier or "")
    if found is None or entered is None or found >= entered:
        return ""
    return (
        f"; below this folder's earlier import of {earlier}: if Canvas's late policy deducted "
        "it, pass --late-deduction"
    )


def _as_one_unit(group: str, members: list[Change], changes: dict[str, Change]) -> None:
    """Give a group's members one new value, or keep all their cells (in ``changes``).

    abstract_assignment.rb#grade_student gives a grade to every member, except excused members
    other than the one graded (#save_grade_to_submission): a member's grade set in Canvas is
    the group's grade, so it keeps the whole group's cells unless --replace-existing.
    """
    values = {c.new for c in members if c.kind in ("set", "changed")}
    held = [c for c in members if c.held == HAND_SET]
    for change in members:
        changes[change.user_id] = replace(change, group=group)
    if not values:
        return
    if held:
        who = ", ".join(f"{c.student} ({c.old})" for c in held)
        why = (
            f"group {group!r}: {who} holds {HAND_SET}, which Canvas gives the whole group: "
            f"the group's cells are kept (autograded {values.pop()}; --replace-existing)"
        )
        for change in members:
            changes[change.user_id] = replace(
                change, new=change.old, why=why, group=group, held=HAND_SET
            )


def _rows(changes: list[Change]) -> list[list[str]]:
    """changes.csv: a person opens it in a spreadsheet, so no cell may run as a formula."""
    return [
        [spreadsheet_cell(c.student), c.user_id, c.group and spreadsheet_cell(c.group), c.old,
         c.new, c.kind, spreadsheet_cell(c.why)]
        for c in changes
    ]  # fmt: skip


def write_import(
    gradebook: Gradebook,
    column: str,
    scores: dict[str, float],
    out: Path,
    rules: ImportRules | None = None,
) -> list[Change]:
    """Write gradebook_import.csv, changes.csv and the record; the changes."""
    record = out / RECORD
    history = json.loads(record.read_text()) if record.is_file() else {}
    previous = history.get(column, {})
    changes = plan_changes(gradebook, column, scores, previous, rules)
    written = {c.user_id: c.new for c in changes if c.kind in ("set", "changed")}
    write_gradebook_import(gradebook, column, written, out / "gradebook_import.csv")
    with open(out / "changes.csv", "w", newline="", encoding="utf-8", errors="replace") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "user_id", "group", "old", "new", "change", "why"])
        writer.writerows(_rows(changes))
    kept_ours = {u: v for u, v in previous.items() if u not in written}
    history[column] = {**kept_ours, **written}
    record.write_text(json.dumps(history, indent=1) + "\n")
    return changes


def points_mismatch(gradebook: Gradebook, column: str, autograded: float, written: float) -> str:
    """A warning when the column's Points Possible is not the lab's points; else ""."""
    possible = gradebook.points_possible(column)
    if possible is None or math.isclose(possible, autograded + written, abs_tol=0.005):
        return ""
    return (
        f"{column!r} is worth {possible:g} points in Canvas, but the lab gives {autograded:g} "
        f"autograded + {written:g} written = {autograded + written:g}: set the assignment's "
        "points in Canvas (or the lab's) so that scores count out of the right total"
    )


def remove_import(out: Path) -> None:
    """Remove an earlier run's import and changes, so that no stale import is left to upload."""
    for name in ("gradebook_import.csv", "changes.csv"):
        (out / name).unlink(missing_ok=True)


def summary_line(changes: list[Change]) -> str:
    """``"N grades set, M changed, 0 cleared; K kept as set in Canvas, E excused kept"``."""
    count = {kind: sum(c.kind == kind for c in changes) for kind in ("set", "changed", "cleared")}
    held = sum(c.kind == "kept" and c.held == HAND_SET for c in changes)
    excused = sum(c.kind == "kept" and c.held == EXCUSED for c in changes)
    return (
        f"{count['set']} grades set, {count['changed']} changed, {count['cleared']} cleared; "
        f"{held} kept as set in Canvas, {excused} excused kept"
    )
