"""Who a graded submission's score goes to: its submitter and the partners its TEAM cell names.

A student's own graded submission decides their score: no one else's TEAM cell lowers or
removes it. A student who did not submit and is named by one submission gets its score;
named by several, they get the best of the claimed scores and the conflict is listed for
the GSI. Submissions put up for review score for nobody until a person has looked at them.

In a Canvas group assignment a grade given to one member is given to the whole group
(``abstract_assignment.rb#grade_student``), so the members of a group (``--groups``, Canvas's
groups export) all get the one score their group earned, or, when its members' scores
differ, none, and the conflict is reported; a TEAM cell never credits someone in another
group (that grade would reach their whole group).
"""

from __future__ import annotations

import csv
from pathlib import Path

from aelab.canvas import file_name_of
from aelab.record import GRADED, Row


def credit_teams(
    rows: list[Row],
    students: dict[str, dict[str, str]],
    groups: dict[str, list[str]] | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Scores by user id (each row's ``total``) and the conflicts."""
    graded = [row for row in rows if row.status == GRADED]
    own = {row.user_id: row for row in graded}
    group_of = {member: group for group, members in (groups or {}).items() for member in members}
    named_by: dict[str, list[Row]] = {}
    for row in graded:
        for partner in row.team:
            partner_id = partner["canvas_id"]
            if partner_id and partner_id != row.user_id:
                named_by.setdefault(partner_id, []).append(row)
                if students and partner_id not in students:
                    row.note(f"partner id {partner_id} is not in the gradebook")
            elif not partner_id and partner["name"]:
                row.note(f"partner {partner['name']!r} has no Canvas id")
    scores = {user_id: row.total for user_id, row in own.items()}
    for row in graded:
        row.credited = [row.user_id]
    conflicts = []
    for partner_id, claims in sorted(named_by.items()):
        who = ", ".join(r.file for r in claims)
        if partner_id in own:
            if any(r.total != scores[partner_id] for r in claims):
                conflicts.append(
                    f"{partner_id} submitted and is also named by {who} with a different score: "
                    "their own submission counts"
                )
            continue
        if students and partner_id not in students:
            continue  # reported on the row: nobody to give the score to
        if partner_id in group_of:  # a grade for them is their whole group's
            elsewhere = [r for r in claims if group_of.get(r.user_id) != group_of[partner_id]]
            claims = [r for r in claims if r not in elsewhere]
            if elsewhere:
                conflicts.append(
                    f"{partner_id} (group {group_of[partner_id]!r}) is named by "
                    f"{', '.join(r.file for r in elsewhere)} of another group: not credited"
                )
        if claims:
            _credit_best(partner_id, claims, scores, conflicts)
    return scores, conflicts


def _credit_best(partner_id, claims, scores, conflicts) -> None:
    """Give ``partner_id`` the best score its ``claims`` hold; list the claims if several."""
    best = max(claims, key=lambda r: r.total)
    scores[partner_id] = best.total
    best.credited.append(partner_id)
    if len(claims) > 1:
        listed = ", ".join(f"{r.file} ({r.total:g})" for r in claims)
        conflicts.append(
            f"{partner_id} is named by {len(claims)} submissions ({listed}): credited the best "
            f"claimed score, {best.total:g}"
        )
        for row in claims:
            row.note(f"conflict: partner {partner_id} also named elsewhere")


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


def group_names(rows: list[Row], students: dict[str, dict[str, str]]) -> tuple[str, str]:
    """Why the download looks like a group assignment's (no import), or a warning, or neither.

    content_zipper.rb names a group assignment's files after each group (#representatives
    renames each group's representative to the group), not after the student whose id
    follows: most files then carry another name. A few such files are a warning (a name
    changed since the export?).
    """
    named = [row for row in rows if row.user_id in students]
    found = sorted(
        {
            f"{row.student} for user {row.user_id}"
            for row in named
            if row.student != file_name_of(students[row.user_id]["Student"])
        }
    )
    if not found:
        return "", ""
    shown = "; ".join(found[:3]) + ("; …" if len(found) > 3 else "")
    if 2 * len(found) <= len({row.user_id for row in named}):
        return "", f"file names that are not their students' ({shown}): renamed since the export?"
    return (
        f"{len(found)} file names carry another name than their student's ({shown}): this looks "
        "like a group assignment, where Canvas gives one member's grade to the whole group "
        "(abstract_assignment.rb#grade_student). No gradebook import was written: export the "
        "assignment's group set from Canvas (its groups CSV, with canvas_user_id and group_name) "
        "and run again with --groups."
    ), ""
