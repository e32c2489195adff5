"""HTML exports of notebooks, made as ``jupyter nbconvert --to html`` makes them."""

from pathlib import Path

import nbconvert

TEMPLATES = ("lab", "classic")  # nbconvert's two page templates


def export(notebook, folder: Path, template: str, name: str = "page.html", **options) -> Path:
    """``notebook`` as ``jupyter nbconvert --to html --template <template>`` writes it."""
    body, _ = nbconvert.HTMLExporter(template_name=template, **options).from_notebook_node(notebook)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def code_sources(notebook) -> list[str]:
    """The sources of ``notebook``'s code cells, in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]
