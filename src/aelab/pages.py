"""The HTML pages aelab writes, rendered from Jinja2 templates (``aelab/templates``).

Feedback pages, the written-question pages and the class report extend ``base.html``: a
self-contained page that fetches nothing, so that it opens offline and in Canvas (a
Content-Security-Policy allows only the page's own style and embedded ``data:`` images).
Templates escape every value they are given, and a value a template lacks is an error.
What a template rendered is HTML (:func:`render`); the only other HTML a page shows as it
is comes through :func:`sanitised_html`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

_ENVIRONMENT = Environment(
    loader=PackageLoader("aelab", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENVIRONMENT.filters["fmt"] = format  # {{ 2.5|fmt("g") }}: Python's format specification


def render(template_name: str, **values: Any) -> Markup:
    """``template_name`` filled in with ``values``, each escaped unless it is already HTML.

    The result is HTML (every value in it was escaped, or came through
    :func:`sanitised_html`), so one rendered part can go into another page as it is.
    """
    return Markup(_ENVIRONMENT.get_template(template_name).render(**values))


def sanitised_html(fragment: str) -> Markup:
    """``fragment`` to be shown as HTML: only for HTML made safe before it reached a page.

    The one place a page takes HTML it did not render. Its callers pass only what was
    escaped or rebuilt from an allow-list as it was made: a student's Markdown rendered
    with their own HTML escaped and no image fetched (``aelab.grading.outputs.markdown``),
    an HTML export's answer rebuilt from allow-listed tags without attributes, its text
    escaped (``aelab.html_export.sanitised``), and two submissions' code escaped by
    copydetect with the shared parts in ``<mark>`` (``Pair.side_by_side``).
    """
    return Markup(fragment)
