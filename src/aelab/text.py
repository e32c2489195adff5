r"""Text from a submission, made safe where it is read, and made inert where a person opens it.

A notebook is JSON: its strings may hold lone surrogates (``"\ud800"``), which no UTF-8 file
can store, and control characters, which no page or spreadsheet should show; a file name's odd
bytes reach Python as such surrogates too. ``clean`` turns both into U+FFFD as the text is
read, so every writer downstream gets printable Unicode.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula.
``spreadsheet_cell`` applies OWASP's CSV-injection rule to a cell that came from a student:
such a cell starts with a single quote, which spreadsheets show as text.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# lone surrogates; C0 controls but tab, newline and carriage return; DEL and the C1 controls
_UNSAFE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")  # OWASP's list, and a line break


def clean(text: object) -> str:
    """``text`` as a string with lone surrogates and control characters replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, str(text))


def spreadsheet_cell(text: str) -> str:
    """``text`` that a spreadsheet shows as text: prefixed with ``'`` if it could be a formula."""
    return f"'{text}" if text.lstrip(" ").startswith(_FORMULA_START) else text


def from_spreadsheet_cell(text: str) -> str:
    """The text ``spreadsheet_cell`` was given (for a cell read back from our own sheet)."""
    inner = text[1:]
    return inner if text.startswith("'") and spreadsheet_cell(inner) == text else text
