"""Who a graded submission's score goes to: its submitter and the partners its TEAM cell names.

A student's own submission decides their score. A student who did not submit and is named
by exactly one submission gets that submission's score; named by two, they get none and
the conflict is reported: nothing is guessed. Submissions put up for review score for
nobody until a person has looked at them.

In a Canvas group assignment a grade given to one member is given to the whole group
(``Assignment#grade_student``), so the members of a group (``--groups``, Canvas's groups
export) all get the one score their group earned, or, when its members' scores differ,
none, and the conflict is reported.
"""

from __future__ import annotations

import csv
from pathlib import Path

from aelab.grading.collect import Row
from aelab.grading.runner import GRADED


def credit_teams(
    rows: list[Row], students: dict[str, dict[str, str]], totals: dict[int, float]
) -> tuple[dict[str, float], list[str]]:
    """Scores by user id (from ``totals``: a row's ``id()`` → its score) and the conflicts."""
    graded = [row for row in rows if row.status == GRADED]
    own = {row.user_id: row for row in graded}
    named_by: dict[str, list[Row]] = {}
    for row in graded:
        for partner in row.team:
            partner_id = partner["canvas_id"]
            if partner_id and partner_id != row.user_id:
                named_by.setdefault(partner_id, []).append(row)
                if students and partner_id not in students:
                    _note(row, f"partner id {partner_id} is not in the gradebook")
            elif not partner_id and partner["name"]:
                _note(row, f"partner {partner['name']!r} has no Canvas id")
    scores = {user_id: totals[id(row)] for user_id, row in own.items()}
    for row in graded:
        row.credited = [row.user_id]
    conflicts = []
    for partner_id, claims in sorted(named_by.items()):
        who = ", ".join(r.file for r in claims)
        if partner_id in own:
            if any(totals[id(r)] != scores[partner_id] for r in claims):
                conflicts.append(
                    f"{partner_id} submitted and is also named by {who} with a different score: "
                    "their own submission counts"
                )
        elif students and partner_id not in students:
            continue  # reported on the row: nobody to give the score to
        elif len(claims) == 1:
            scores[partner_id] = totals[id(claims[0])]
            claims[0].credited.append(partner_id)
        else:
            conflicts.append(
                f"{partner_id} is named by {len(claims)} submissions ({who}): no score given"
            )
            for row in claims:
                _note(row, f"conflict: partner {partner_id} also named elsewhere")
    return scores, conflicts


def credit_groups(
    scores: dict[str, float], groups: dict[str, list[str]], rows: list[Row]
) -> list[str]:
    """Give each group's members one value in ``scores`` (in place); the conflicts."""
    conflicts = []
    for group, members in sorted(groups.items()):
        values = {scores[m] for m in members if m in scores}
        if len(values) > 1:
            listed = ", ".join(f"{m}: {scores[m]:g}" for m in members if m in scores)
            conflicts.append(f"group {group!r}: members' scores differ ({listed}): no score given")
            for member in members:
                scores.pop(member, None)
        elif values:
            (value,) = values
            for member in members:
                scores[member] = value
            for row in rows:
                if row.user_id in members:
                    row.credited = sorted(set(row.credited) | set(members))
    return conflicts


def read_groups(path: Path) -> dict[str, list[str]]:
    """Canvas's groups export, as group name → Canvas user ids.

    Its columns include ``canvas_user_id`` and ``group_name``.
    """
    with open(path, newline="", encoding="utf-8-sig") as file:
        lines = list(csv.DictReader(file))
    if lines and not {"canvas_user_id", "group_name"} <= set(lines[0]):
        raise ValueError(
            f"{path} is not Canvas's groups export: it needs the columns canvas_user_id and "
            "group_name (People → Groups → ⋮ → Export)"
        )
    groups: dict[str, list[str]] = {}
    for line in lines:
        if line["group_name"].strip() and line["canvas_user_id"].strip():
            groups.setdefault(line["group_name"].strip(), []).append(line["canvas_user_id"].strip())
    return groups


def _note(row: Row, text: str) -> None:
    row.reason = "; ".join(part for part in (row.reason, text) if part)
