"""Who a graded submission's score goes to: its submitter and the partners its TEAM cell names.

A student's own submission decides their score. A student who did not submit and is named
by exactly one submission gets that submission's score; named by two, they get none and
the conflict is reported: nothing is guessed. Submissions put up for review score for
nobody until a person has looked at them.
"""

from __future__ import annotations

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


def _note(row: Row, text: str) -> None:
    row.reason = "; ".join(part for part in (row.reason, text) if part)
