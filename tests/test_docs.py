"""Every command the docs show is real, and something runs it.

README.md and docs/*.md: each command of a ```bash block is covered in ``COVERED``: run here
(``aelab ... --help``; ``make -n``, which prints a target's recipe), run by the test named, or
only checked, with the reason nothing runs it. Every command, and every `aelab ...` and
`make ...` in the text, must use sub-commands, options, make targets and variables that exist;
every path of this repository that the docs name, in code or in a link, must exist.
"""

import contextlib
import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from aelab.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAKEFILE = (ROOT / "Makefile").read_text()
TRACKED = ("src/", "tests/", "notebooks/", "docs/", "benchmarks/", "docker/", "data/", ".ci/")
LANGUAGES = ("bash", "python", "text")  # every fenced block says which; commands are bash

# Each command of the docs' bash blocks, as shlex reads it, and what runs it: "here" (this
# file: a --help, or make's dry run), the test that runs it (its command, or the same through
# the library where said), or "checked: " and why nothing runs it.
COVERED = {
    "make build": (
        "tests/test_build_anywhere.py::test_make_build_without_bubblewrap_builds_proves_and_says_so"
    ),
    "make test": "here",  # ruff, then this suite
    "make test-fast": "here",  # ruff, then this suite's fast tier
    "make docker-image": "here",  # the image tests/test_docker.py grades with
    "make docker-base": "here",  # the real one needs root and debootstrap
    "make docker-image 'DOCKER_BUILD_ARGS=--build-arg BASE=aelab-debian:bookworm'": "here",
    ".venv/bin/aelab grade submissions.zip --gradebook gradebook.csv": (
        "tests/test_tiny_lab.py::test_the_tiny_lab_is_graded_end_to_end_with_its_own_defaults"
    ),
    ".venv/bin/aelab grade --help": "here",
    "aelab grade submissions.zip --gradebook gradebook.csv --cluster tcp://scheduler-host:8786": (
        "tests/test_cluster.py::test_a_mixed_class_grades_the_same_on_a_cluster_as_here"
    ),
    "dask scheduler --port 8786": (
        "checked: Dask's own command; tests/test_cluster.py starts a distributed.LocalCluster"
    ),
    "dask worker tcp://scheduler-host:8786 --nworkers 1 --nthreads 4": (
        "checked: Dask's own command; tests/test_cluster.py starts a distributed.LocalCluster"
    ),
    ".venv/bin/aelab grade submissions.zip --docker aelab-grader": (  # grade_class, in containers
        "tests/test_docker.py::test_containers_give_every_row_the_status_and_score_of_bubblewrap"
    ),
    ".venv/bin/aelab report grades": (
        "tests/test_report.py::test_aelab_report_rebuilds_the_report_without_grading"
    ),
    "make reference": (  # aelab reference, 1 epoch each
        "tests/test_reference.py::test_reference_run_writes_figures_and_metrics"
    ),
    ".venv/bin/python benchmarks/check_seeds.py": (  # its failures() for three seeds
        "tests/test_lab_checks.py::test_checks_do_not_depend_on_a_lucky_draw"
    ),
    ".venv/bin/python benchmarks/grading_speed.py --size 40 --complete --baseline 7953264": (
        "checked: a benchmark (a class of 40 graded twice, once by an old revision: minutes)"
    ),
    ".venv/bin/python benchmarks/report_speed.py --size 200": (
        "checked: a benchmark (a class graded, then the report of 200: minutes)"
    ),
    ".venv/bin/python benchmarks/training_speed.py --quality": (
        "checked: a benchmark (the AE trained to early stopping, the VAE 5 epochs: minutes)"
    ),
    ".venv/bin/python benchmarks/training_speed.py --quality --seed-quality --seeds 0 1 2 3 4": (
        "checked: a benchmark (five seeds, each trained by aelab and the seed's loop)"
    ),
    "docker build --network host -t aelab-grader -f docker/Dockerfile --build-arg "
    "BASE=aelab-debian:bookworm --build-arg PIP_INDEX_URL=http://127.0.0.1:8731/pypi-more/simple "
    "--build-arg 'PIP_EXTRA_INDEX_URL=http://127.0.0.1:8731/pypi/simple https://pypi.org/simple' "
    ".": "checked: how the measured image was built (a Docker engine, that machine's index)",
}


def _blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block of ``text``: its language and its lines, unindented."""
    found = re.findall(r"^( *)```(\w*)\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL)
    return [
        (language, re.sub(rf"^{indent}", "", body, flags=re.M)) for indent, language, body in found
    ]


def _prose(text: str) -> str:
    """``text`` without its fenced blocks."""
    return re.sub(r"^( *)```\w*\n.*?^\1```", "", text, flags=re.MULTILINE | re.DOTALL)


def _commands(body: str) -> list[list[str]]:
    """The commands of a bash block, each as its words (continuations joined, comments out)."""
    commands = [shlex.split(line, comments=True) for line in body.replace("\\\n", " ").splitlines()]
    return [words for words in commands if words]


def _fenced() -> list[tuple[str, list[str]]]:
    return [
        (doc.name, words)
        for doc in DOCS
        for language, body in _blocks(doc.read_text(encoding="utf-8"))
        if language == "bash"
        for words in _commands(body)
    ]


def _spans() -> list[tuple[str, str]]:
    """Every inline code span of the docs' text."""
    return [
        (doc.name, span)
        for doc in DOCS
        for span in re.findall(r"`([^`\n]+)`", _prose(doc.read_text(encoding="utf-8")))
    ]


def _help(*words: str) -> str:
    """What ``aelab WORDS --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args([*words, "--help"])
    return out.getvalue()


def _aelab_problems(words: list[str], whole: bool) -> list[str]:
    """What is wrong with an ``aelab`` command line: a sub-command or option its --help does
    not list, or (for a whole command) anything the parser refuses."""
    commands = re.search(r"\{([\w,-]+)\}", _help())[1].split(",")
    if len(words) < 2 or words[1] not in commands:
        return [f"no aelab sub-command in {shlex.join(words)!r}"]
    known = set(re.findall(r"^  (?:-\w, )?(--[\w-]+)", _help(words[1]), re.MULTILINE))
    wrong = [w for w in words[2:] if w.startswith("--") and w.split("=")[0] not in known]
    if wrong or not whole or "--help" in words:
        return [f"aelab {words[1]} has no option {w}" for w in wrong]
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        build_parser().parse_args(words[1:])
        return []
    return [f"aelab refuses {shlex.join(words)!r}"]


def _make_problems(words: list[str]) -> list[str]:
    targets = set(re.findall(r"^([\w.-]+):", MAKEFILE, re.MULTILINE))
    variables = set(re.findall(r"^(\w+)\s*[?:]?=", MAKEFILE, re.MULTILINE))
    variables |= set(re.findall(r"\$\((\w+)\)", MAKEFILE))
    problems = []
    for word in words[1:]:
        if "=" in word and word.split("=")[0] not in variables:
            problems.append(f"the Makefile has no variable {word.split('=')[0]}")
        elif "=" not in word and not word.startswith("-") and word not in targets:
            problems.append(f"the Makefile has no target {word}")
    return problems


def _script_problems(words: list[str]) -> list[str]:
    """A Python script of this repository and the options it is given."""
    script = ROOT / words[1]
    if not script.is_file():
        return [f"no script {words[1]}"]
    source = script.read_text()
    options = [w for w in words[2:] if w.startswith("--")]
    return [f"{words[1]} has no option {o}" for o in options if f'"{o}"' not in source]


def _docker_problems(words: list[str]) -> list[str]:
    """A ``docker build``: its Dockerfile, and an ARG there for each --build-arg."""
    dockerfile = ROOT / words[words.index("-f") + 1]
    declared = set(re.findall(r"^ARG (\w+)", dockerfile.read_text(), re.MULTILINE))
    given = [words[i + 1].split("=")[0] for i, w in enumerate(words) if w == "--build-arg"]
    return [f"{dockerfile.name} has no ARG {name}" for name in given if name not in declared]


def _program(words: list[str]) -> str:
    """The program a command line runs (``aelab`` for ``.venv/bin/aelab``), or ""."""
    if words[0] in ("aelab", "make", "docker") or words[0].startswith(".venv/bin/"):
        return Path(words[0]).name
    return ""


def _problems(words: list[str], whole: bool) -> list[str]:
    """What is wrong with a command line (``whole``: a command, not a mention in the text)."""
    program = _program(words)
    problems = [f"no {w} in the repository" for w in words if _missing_path(w)]
    if program == "aelab":
        problems += _aelab_problems(words, whole)
    elif program == "make":
        problems += _make_problems(words)
    elif program == "python" and whole:
        problems += _script_problems(words)
    elif words[:2] == ["docker", "build"] and whole:
        problems += _docker_problems(words)
    return problems


def _missing_path(text: str) -> bool:
    """Whether ``text`` names a path of this repository (a glob: some path) that is not there;
    a template (``pNN_<problem>.py``, ``…``) names none."""
    if not text.startswith(TRACKED) or re.search(r"[<>…{}\s]", text):
        return False
    if "*" in text:
        return not list(ROOT.glob(text))
    return not (ROOT / text).exists()


def test_every_block_says_its_language():
    unlabelled = [
        (doc.name, body.splitlines()[0] if body else "")
        for doc in DOCS
        for language, body in _blocks(doc.read_text(encoding="utf-8"))
        if language not in LANGUAGES
    ]
    assert unlabelled == []


def test_every_command_is_covered_and_nothing_else():
    shown = {shlex.join(words) for _, words in _fenced()}
    assert shown - set(COVERED) == set(), "a new command: run it here, or name what runs it"
    assert set(COVERED) - shown == set(), "no longer in the docs"


def test_every_command_is_real():
    problems = {(doc, shlex.join(w)): _problems(w, whole=True) for doc, w in _fenced()}
    assert {command: found for command, found in problems.items() if found} == {}


def test_every_command_and_path_the_text_mentions_is_real():
    problems = {}
    for doc, span in _spans():
        try:
            words = shlex.split(span)
        except ValueError:  # not a command line (an unbalanced quote: `'`)
            continue
        command = len(words) > 1 and _program(words) in ("aelab", "make")
        if command or (len(words) == 1 and _missing_path(span)):
            found = _problems(words, whole=False)
            if found:
                problems[(doc, span)] = found
    assert problems == {}


def test_the_tests_that_run_commands_exist():
    for command, coverage in COVERED.items():
        if "::" in coverage:
            path, name = coverage.split("::")
            assert f"\ndef {name}(" in (ROOT / path).read_text(), (command, coverage)
        else:
            assert coverage == "here" or coverage.startswith("checked: "), command


@pytest.mark.parametrize(
    "words", [w for w in {shlex.join(w): w for _, w in _fenced()}.values() if "--help" in w]
)
def test_help_commands_run(words, capsys):
    with pytest.raises(SystemExit) as done:
        main(words[1:])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: aelab {words[1]}")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    "words", [w for w in {shlex.join(w): w for _, w in _fenced()}.values() if w[0] == "make"]
)
def test_make_commands_run_dry(words):
    done = subprocess.run(
        ["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(doc: Path) -> list[str]:
    return [_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(doc.read_text()), re.MULTILINE)]


def test_every_link_leads_somewhere():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(doc.read_text(encoding="utf-8"))):
            if re.match(r"\w+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists() or (anchor and anchor not in _anchors(file)):
                broken.append((doc.name, target))
    assert broken == []
