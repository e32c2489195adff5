"""The README's table of `aelab grade` options says what the command does."""

import re
from pathlib import Path

from aelab.cli import build_parser
from aelab.grading.runner import RunOptions
from aelab.grading.sandbox import Limits

README = Path(__file__).resolve().parents[1] / "README.md"


def _table():
    text = README.read_text()
    start = text.index("Options of `aelab grade`")
    rows = re.findall(r"^\| `(--[\w-]+)` \| ([^|]*) \|", text[start:], re.MULTILINE)
    return {option: default.strip() for option, default in rows}


def test_readme_lists_every_grade_option_with_its_default():
    grade = build_parser()._subparsers._group_actions[0].choices["grade"]
    options = {a.option_strings[-1]: a for a in grade._actions if a.option_strings}
    options.pop("--help")
    table = _table()
    assert set(table) == set(options)
    numbers = {
        "--timeout": RunOptions.timeout,
        "--cell-timeout": RunOptions.cell_timeout,
        "--test-timeout": RunOptions.test_timeout,
        "--memory-gb": Limits.memory_gb,
    }
    for option, value in numbers.items():
        assert float(table[option]) == value, option
    assert options["--test-timeout"].default == RunOptions.test_timeout
    assert options["--memory-gb"].default == Limits.memory_gb
    assert table["--out"] == f"`{options['--out'].default}`"
    assert table["--autograder"] == f"`{options['--autograder'].default}`"
    for flag in ("--full-length", "--replace-existing", "--unsafe-no-sandbox"):
        assert table[flag] == "off" and options[flag].default is False
