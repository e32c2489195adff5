"""``report.html``: the class report as one self-contained page (figures embedded as PNG).

Laid out for a class of 200: tables are per question and per test, not per student; the
only per-student parts are the heat map (one column each), the five slowest notebooks
and the similar pairs, each pair folded until opened.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from aelab.grading.outputs import page

LISTED_PAIRS = 500  # pairs listed without their code
STYLE = """
<style>
body { max-width: 72rem; }
.figure { max-width: 100%; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: .7rem; background: #c0392b; vertical-align: middle; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
pre { background: #f7f7f7; padding: .5rem; overflow-x: auto; font-size: .8rem; max-height: 30rem; }
mark { background: #ffe08a; } details { margin: .4rem 0; } summary { cursor: pointer; }
ul.messages { margin: .2rem 0; font-size: .9rem; } td { vertical-align: top; }
</style>
"""


def render(stats: dict[str, Any], pairs: dict[str, Any]) -> str:
    """The whole page, from ``report.json``'s content."""
    body = [
        STYLE,
        _overview(stats),
        _questions(stats),
        _tests(stats["tests"]),
        _timing(stats["timing"]),
        _similar(pairs),
    ]
    return page(f"Class report: {stats['title']}", "\n".join(body))


def _figure(fig: plt.Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="figure" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<span class="num">{value:g}</span>'
    return value if isinstance(value, _Html) else html.escape(str(value))


class _Html(str):
    """Text that is already HTML."""


def _overview(stats: dict[str, Any]) -> str:
    status = ", ".join(f"{n} {s}" for s, n in stats["status"].items())
    parts = [f"<h2>Class overview</h2><p>{stats['files']} files: {html.escape(status)}.</p>"]
    rows = []
    for kind in ("autograded", "written", "total"):
        found = stats["scores"].get(kind)
        if found and found["count"]:
            numbers = [float(found[k]) for k in ("possible", "mean", "median", "min", "max")]
            rows.append([kind, found["count"], *numbers, f"{found['full_marks_percent']:g} %"])
    if rows:
        header = ["Points", "Notebooks", "Out of", "Mean", "Median", "Min", "Max", "Full marks"]
        parts.append(_table(header, rows))
        histogram = stats["scores"]["histogram"]
        fig, ax = plt.subplots(figsize=(8, 2.6))
        ax.bar(histogram["edges"][:-1], histogram["counts"], width=1, align="edge", color="#34699a")
        ax.set_xlabel("autograded points")
        ax.set_ylabel("notebooks")
        ax.set_title("Score distribution (graded notebooks)")
        parts.append(_figure(fig, "histogram of autograded scores"))
    else:
        parts.append("<p>No notebook was graded.</p>")
    return "\n".join(parts)


def _questions(stats: dict[str, Any]) -> str:
    questions = [q for q in stats["questions"] if q["count"]]
    if not questions:
        return ""
    rows = [
        [q["name"], float(q["possible"]), float(q["mean"]), f"{q['full_marks_percent']:g} %",
         q["lost_points"], ", ".join(f"{s}: {n}" for s, n in q["distribution"].items())]
        for q in questions
    ]  # fmt: skip
    header = ["Question", "Points", "Mean", "Full marks", "Lost points", "Scores (score: count)"]
    parts = ["<h2>Per question</h2>", _table(header, rows)]
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
    parts.append(_figure(fig, "heat map of each student's share of each question's points"))
    return "\n".join(parts)


def _tests(tests: list[dict[str, Any]]) -> str:
    rows = []
    for test in tests:
        if not test["ran"]:
            continue
        messages = "".join(
            f"<li>{m['count']}: {html.escape(m['message'])}</li>" for m in test["messages"]
        )
        if test["other_messages"]:
            messages += f"<li>… and {test['other_messages']} other messages</li>"
        width = round(100 * test["failure_rate"])
        rate = f'<span class="bar" style="width:{width / 10}rem"></span> {width} %'
        rows.append(
            [test["key"], "hidden" if test["hidden"] else "public", float(test["points"]),
             _Html(rate), f"{test['failed']} / {test['ran']}",
             _Html(f'<ul class="messages">{messages}</ul>' if messages else "")]
        )  # fmt: skip
    if not rows:
        return ""
    header = ["Test", "Kind", "Points", "Failure rate", "Failed", "Messages (notebooks: message)"]
    return "<h2>Per test, most failed first</h2>" + _table(header, rows)


def _timing(timing: dict[str, Any]) -> str:
    if not timing["count"]:
        return ""
    parts = [
        "<h2>Grading time</h2>",
        f"<p>{timing['count']} notebooks ran: median {timing['median']:g} s, 90th percentile "
        f"{timing['p90']:g} s, slowest {timing['max']:g} s, {timing['total']:g} s in all "
        "(one notebook's own time; several run at once).</p>",
    ]
    fig, ax = plt.subplots(figsize=(8, 2.4))
    ax.hist(timing["seconds"], bins=30, color="#7d5ba6")
    ax.set_xlabel("seconds per notebook")
    ax.set_ylabel("notebooks")
    parts.append(_figure(fig, "histogram of grading seconds per notebook"))
    phases = timing["mean_by_phase"]
    if phases:
        parts.append("<p>Mean seconds by phase: " + html.escape(
            ", ".join(f"{k} {v:g}" for k, v in phases.items())) + ".</p>")  # fmt: skip
    rows = [[s["student"], s["file"], float(s["seconds"])] for s in timing["slowest"]]
    parts.append(_table(["Slowest", "File", "Seconds"], rows))
    return "\n".join(parts)


def _similar(pairs: dict[str, Any]) -> str:
    parts = [
        "<h2>Similar submissions</h2>",
        "<p><strong>Similarity is a reason to look, not a verdict.</strong> "
        f"{html.escape(pairs['method'])}</p>",
    ]
    if not pairs["pairs"]:
        parts.append("<p>No two submissions share that much of their own code.</p>")
        return "\n".join(parts)
    rows = [
        [index, len(group["members"]), f"{group['highest']:.0%}", "; ".join(group["members"])]
        for index, group in enumerate(pairs["groups"], start=1)
    ]
    parts.append(f"<p>{pairs['compared']} notebooks compared; {len(pairs['pairs'])} pairs in "
                 f"{len(rows)} groups (submissions linked by similar pairs).</p>")  # fmt: skip
    parts.append(_table(["Group", "Notebooks", "Highest", "Members"], rows))
    shown = pairs["side_by_side"]
    parts.append(f"<h3>The {len(shown)} most similar pairs, side by side</h3>")
    for pair, (first_html, second_html) in zip(pairs["pairs"], shown, strict=False):
        first, second = pair["first"], pair["second"]
        summary = (
            f"{pair['similarity']:.0%} — {html.escape(first['label'])} and "
            f"{html.escape(second['label'])} ({pair['shared']} characters of normalised code "
            f"in common; {pair['shares'][0]:.0%} of the first's, {pair['shares'][1]:.0%} of the "
            "second's)"
        )
        parts.append(
            f"<details><summary>{summary}</summary><div class='pair'>"
            f"<pre>{first_html}</pre><pre>{second_html}</pre></div></details>"
        )
    rest = [[f"{p['similarity']:.0%}", p["first"]["label"], p["second"]["label"]]
            for p in pairs["pairs"][len(shown):]]  # fmt: skip
    if rest:
        parts.append(f"<h3>{len(rest)} more pairs</h3>")
        parts.append(_table(["Similarity", "First", "Second"], rest[:LISTED_PAIRS]))
        if len(rest) > LISTED_PAIRS:
            parts.append(f"<p>… and {len(rest) - LISTED_PAIRS} more in report.json.</p>")
    return "\n".join(parts)
