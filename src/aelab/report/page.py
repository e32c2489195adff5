"""``report.html``: the class report as one self-contained page (figures embedded as PNG).

Laid out for a class of 200 (``templates/report.html``): tables are per question and per
test, not per student; the only per-student parts are the heat map (one column each), the
five slowest notebooks and the similar pairs, each pair folded until opened.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from aelab import pages

LISTED_PAIRS = 500  # pairs listed without their code


def render(stats: dict[str, Any], pairs: dict[str, Any]) -> str:
    """The whole page, from ``report.json``'s content."""
    return pages.render(
        "report.html",
        title=f"Class report: {stats['title']}",
        overview=_overview(stats),
        questions=_questions(stats),
        tests=[{**t, "width": round(100 * t["failure_rate"])} for t in stats["tests"] if t["ran"]],
        timing=_timing(stats["timing"]),
        similar=_similar(pairs),
    )


def _figure(fig: plt.Figure) -> str:
    """The figure as base64 PNG, for an embedded image."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _overview(stats: dict[str, Any]) -> dict[str, Any]:
    status = ", ".join(f"{n} {s}" for s, n in stats["status"].items())
    rows = []
    for kind in ("autograded", "written", "total"):
        found = stats["scores"].get(kind)
        if found and found["count"]:
            numbers = [float(found[k]) for k in ("possible", "mean", "median", "min", "max")]
            rows.append([kind, found["count"], *numbers, f"{found['full_marks_percent']:g} %"])
    if not rows:
        return {"files": stats["files"], "status": status, "rows": rows}
    histogram = stats["scores"]["histogram"]
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.bar(histogram["edges"][:-1], histogram["counts"], width=1, align="edge", color="#34699a")
    ax.set_xlabel("autograded points")
    ax.set_ylabel("notebooks")
    ax.set_title("Score distribution (graded notebooks)")
    return {"files": stats["files"], "status": status, "rows": rows, "histogram": _figure(fig)}


def _questions(stats: dict[str, Any]) -> dict[str, Any] | None:
    questions = [q for q in stats["questions"] if q["count"]]
    if not questions:
        return None
    rows = [
        [q["name"], float(q["possible"]), float(q["mean"]), f"{q['full_marks_percent']:g} %",
         q["lost_points"], ", ".join(f"{s}: {n}" for s, n in q["distribution"].items())]
        for q in questions
    ]  # fmt: skip
    heatmap = stats["heatmap"]
    fractions = heatmap["fractions"]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(heatmap["questions"]) + 1.2))
    columns = list(zip(*fractions, strict=True))  # a row per question, a column per student
    image = ax.imshow(columns, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1, interpolation="none")
    ax.set_yticks(range(len(heatmap["questions"])), heatmap["questions"])
    ax.set_xlabel(f"{len(fractions)} graded notebooks, sorted by total (lowest left)")
    ax.set_xticks([])
    fig.colorbar(image, ax=ax, label="share of the question's points", fraction=0.03)
    ax.set_title("Students by questions")
    return {"rows": rows, "heatmap": _figure(fig)}


def _timing(timing: dict[str, Any]) -> dict[str, Any] | None:
    if not timing["count"]:
        return None
    fig, ax = plt.subplots(figsize=(8, 2.4))
    ax.hist(timing["seconds"], bins=30, color="#7d5ba6")
    ax.set_xlabel("seconds per notebook")
    ax.set_ylabel("notebooks")
    return {
        **timing,
        "histogram": _figure(fig),
        "phases": ", ".join(f"{k} {v:g}" for k, v in timing["mean_by_phase"].items()),
        "slowest": [[s["student"], s["file"], float(s["seconds"])] for s in timing["slowest"]],
    }


def _similar(pairs: dict[str, Any]) -> dict[str, Any]:
    shown = pairs["side_by_side"]
    rest = [[f"{p['similarity']:.0%}", p["first"]["label"], p["second"]["label"]]
            for p in pairs["pairs"][len(shown):]]  # fmt: skip
    return {
        **pairs,
        "groups": [
            [index, len(group["members"]), f"{group['highest']:.0%}", "; ".join(group["members"])]
            for index, group in enumerate(pairs["groups"], start=1)
        ],
        "shown": [
            (pair, pages.sanitised_html(first), pages.sanitised_html(second))
            for pair, (first, second) in zip(pairs["pairs"], shown, strict=False)
        ],
        "rest": rest,
        "listed": rest[:LISTED_PAIRS],
        "unlisted": max(0, len(rest) - LISTED_PAIRS),
    }
