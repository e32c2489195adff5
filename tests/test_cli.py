"""The grading guide's table of `aelab grade` options says what the command does."""

import re
from pathlib import Path

import pytest

from aelab.cli import build_parser
from aelab.grading.runner import RunOptions
from aelab.grading.sandbox import Limits

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "grading.md"


def _table():
    text = GUIDE.read_text()
    start = text.index("Options of `aelab grade`")
    rows = re.findall(r"^\| `(--[\w-]+)` \| ([^|]*) \|", text[start:], re.MULTILINE)
    return {option: default.strip() for option, default in rows}


def _grade_options(capsys) -> tuple[set[str], dict]:
    """The options `aelab grade --help` lists, and the defaults a plain command line gets."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["grade", "--help"])
    listed = set(re.findall(r"^  (?:-\w, )?(--[\w-]+)", capsys.readouterr().out, re.MULTILINE))
    defaults = vars(build_parser().parse_args(["grade", "submissions.zip"]))
    return listed - {"--help"}, {f"--{k.replace('_', '-')}": v for k, v in defaults.items()}


def test_the_guide_lists_every_grade_option_with_its_default(capsys):
    options, defaults = _grade_options(capsys)
    table = _table()
    assert set(table) == options
    numbers = {
        "--timeout": RunOptions.timeout,
        "--cell-timeout": RunOptions.cell_timeout,
        "--test-timeout": RunOptions.test_timeout,
        "--memory-gb": Limits.memory_gb,
    }
    for option, value in numbers.items():
        assert float(table[option]) == value, option
    assert defaults["--test-timeout"] == RunOptions.test_timeout
    assert defaults["--memory-gb"] == Limits.memory_gb
    assert table["--out"] == f"`{defaults['--out']}`"
    assert table["--autograder"] == f"`{defaults['--autograder']}`"
    for flag in ("--full-length", "--replace-existing", "--unsafe-no-sandbox"):
        assert table[flag] == "off" and defaults[flag] is False
