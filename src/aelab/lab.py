"""A lab, described once: ``lab.toml`` beside its master notebook, read by build and grade.

Each lab is one folder under ``notebooks/`` (``lab.toml``, the master notebook, its checks,
requirements and independent answers); adding one is a new folder, no code change.
``aelab build`` builds the lab of the checkout it runs in (the only ``notebooks/*/lab.toml``)
unless given ``--lab``; the build copies the description into the autograder (``lab.json``),
so grading needs only the autograder.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DESCRIPTION = "lab.toml"
LABS = Path("notebooks")  # one folder per lab, in the checkout aelab build runs in
DATA = ("mnist", "none")
EPOCH_CAP = 1  # epochs of the long training runs while grading, unless lab.toml says otherwise


class LabError(ValueError):
    """The lab description is missing or wrong; the message says how to fix it."""


@dataclass(frozen=True)
class Lab:
    """Everything the tools need to know about one lab."""

    folder: Path
    title: str
    master: str  # file names, in ``folder``
    checks: str  # a module (``tiny_checks.py``) or a package (``lab_checks``)
    requirements: str
    data: str
    points: float
    course: str = ""
    term: str = ""
    due: str = ""
    canvas_assignment: str = ""
    epoch_cap: int | None = EPOCH_CAP
    independent: str = ""  # correct notebooks written another way (a module), graded by the build
    cap_marker: str = ""  # a name only the long training runs' cells use: they get the epoch cap
    time_hint: str = ""  # how a test's code that ran out of time may finish, for its message

    @property
    def master_path(self) -> Path:
        """The master notebook."""
        return self.folder / self.master

    @property
    def time_message(self) -> str:
        """A failed test's message when its code ran out of time."""
        hint = f" ({self.time_hint})" if self.time_hint else ""
        return f"The test ran out of time: does your code finish{hint}?"

    @property
    def checks_module(self) -> str:
        """The name tests import the checks by (``lab_checks`` for ``lab_checks.py``)."""
        return Path(self.checks).stem

    def checks_files(self) -> dict[str, bytes]:
        """The checks' files by their path under ``folder`` (``lab_checks/p01_data.py``)."""
        path = self.folder / self.checks
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        return {file.relative_to(self.folder).as_posix(): file.read_bytes() for file in files}

    def master_sha256(self) -> str:
        """The master's hash: which master a build was made from."""
        return hashlib.sha256(self.master_path.read_bytes()).hexdigest()

    def header(self) -> str:
        """The line under the student notebook's heading: course, term, due date."""
        parts = [part for part in (self.course, self.term) if part]
        if self.due:
            parts.append(f"due {self.due}")
        return " · ".join(parts)

    def to_json(self) -> str:
        """What the autograder carries for grading (no paths of the instructor's machine)."""
        fields = {k: v for k, v in asdict(self).items() if k != "folder"}
        return json.dumps(fields, indent=1, ensure_ascii=False)


def find_lab(labs: Path = LABS) -> Path:
    """The description of the one lab in ``labs`` (``notebooks/<lab>/lab.toml``)."""
    found = sorted(labs.glob(f"*/{DESCRIPTION}"))
    if not found:
        raise LabError(
            f"No lab description at {labs.resolve() / '*' / DESCRIPTION}. Run aelab in the "
            f"checkout of the lab or pass --lab PATH/{DESCRIPTION}."
        )
    if len(found) > 1:
        choices = ", ".join(str(path) for path in found)
        raise LabError(f"{len(found)} labs in {labs}: pass --lab with one of {choices}.")
    return found[0]


def load_lab(path: Path | None = None) -> Lab:
    """Read ``lab.toml`` (default: the only ``notebooks/*/lab.toml``); problems said plainly."""
    path = Path(path) if path else find_lab()
    if path.is_dir():
        path = path / DESCRIPTION
    if not path.is_file():
        raise LabError(f"No lab description at {path.resolve()}: pass --lab PATH/{DESCRIPTION}.")
    try:
        text = tomllib.loads(path.read_text(encoding="utf-8"))
        lab, term = text["lab"], text.get("term", {})
        cap = text.get("grading", {}).get("epoch_cap", EPOCH_CAP)
        found = Lab(
            folder=path.parent.resolve(),
            title=lab["title"],
            master=lab["master"],
            checks=lab["checks"],
            requirements=lab.get("requirements", "requirements.txt"),
            data=lab.get("data", "none"),
            points=float(lab["points"]),
            course=term.get("course", ""),
            term=term.get("term", ""),
            due=term.get("due", ""),
            canvas_assignment=term.get("canvas_assignment", ""),
            epoch_cap=None if cap in (None, "none") else int(cap),
            independent=lab.get("independent", ""),
            cap_marker=text.get("grading", {}).get("cap_marker", ""),
            time_hint=text.get("grading", {}).get("time_hint", ""),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise LabError(f"{path}: {type(error).__name__}: {error}") from error
    if found.data not in DATA:
        raise LabError(f"{path}: data must be one of {', '.join(DATA)}, not {found.data!r}")
    for name in (found.master, found.requirements, found.independent):
        if name and not (found.folder / name).is_file():
            raise LabError(f"{path}: {name} is not in {found.folder}")
    checks = found.folder / found.checks
    if not (checks.is_file() or (checks / "__init__.py").is_file()):
        raise LabError(f"{path}: {found.checks} is not a module or package in {found.folder}")
    return found


def lab_from_json(text: str, folder: Path) -> Lab:
    """The description an autograder carries (``lab.json``)."""
    return Lab(folder=folder, **json.loads(text))
