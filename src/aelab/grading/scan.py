"""Find code in a submission that is aimed at the grader rather than at the lab.

A lab answer builds datasets, models and training loops; it has no reason to trace the
interpreter, reach into frames or the garbage collector, start processes, open sockets,
read ``/proc`` or the autograder's files, or run text as code. Such code is a reason for a
person to look: the submission goes up for review, with the line that was found. It is not
what keeps verdicts safe (the checks run outside the notebook's process, see ``judge``).
Each cell is read as IPython runs it (magics and shell escapes become the calls they are),
and code given to ``%time``, ``%timeit`` or ``%%capture`` is read too. Honest work is not
flagged (the reference solution and every realistic mistake in ``tests/student_work.py``
are checked).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

# Modules a lab answer never needs: process, thread and signal control, native code, the
# interpreter's internals, serialisation that runs code, networking, the grading machinery.
MODULES = {
    "ctypes", "cffi", "gc", "subprocess", "multiprocessing", "threading", "_thread", "signal",
    "socket", "pty", "importlib", "builtins", "marshal", "pickle", "dill", "cloudpickle",
    "resource", "mmap", "fcntl", "pwd", "sysconfig", "code", "codeop", "atexit", "faulthandler",
    "inspect", "traceback", "otter", "aelab", "IPython", "ipykernel", "urllib",
    "requests", "http", "asyncio", "shutil", "posix", "runpy", "zipimport", "sqlite3",
    "student_side",
}  # fmt: skip
# Built-ins that run text as code or reach objects by computed names.
BUILTINS = {
    "exec", "eval", "compile", "__import__", "globals", "locals", "breakpoint", "setattr",
    "delattr", "getattr", "vars", "get_ipython",
}  # fmt: skip
# Attributes that reach the interpreter's machinery, on whatever object.
NAMES = {
    "settrace", "setprofile", "_getframe", "__builtins__", "__code__", "__globals__",
    "__subclasses__", "__closure__", "__bases__", "__mro__", "__loader__", "__spec__", "f_back",
    "f_locals", "f_globals", "f_code", "tb_frame", "gi_frame", "cr_frame", "co_code",
}  # fmt: skip
# On the os and sys modules: processes, file descriptors, files, the interpreter's state.
MODULE_NAMES = {
    "os": {
        "fork", "forkpty", "kill", "killpg", "_exit", "setsid", "setpgid", "setpgrp", "system",
        "popen", "execv", "execve", "execl", "execle", "execlp", "execvp", "execvpe", "spawnv",
        "spawnl", "spawnve", "posix_spawn", "dup", "dup2", "fdopen", "open", "write", "read",
        "unlink", "remove", "rmdir", "removedirs", "chmod", "symlink", "link", "rename",
        "replace", "listdir", "scandir", "walk", "chdir", "getppid", "putenv", "unsetenv",
    },
    "sys": {
        "modules", "meta_path", "path_hooks", "path", "displayhook", "excepthook", "stdin",
        "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__", "exit",
    },
    "io": {"open", "FileIO", "open_code"},
}  # fmt: skip
# Library modules whose functions an answer may call but never replace.
LIBRARIES = {"torch", "nn", "F", "optim", "np", "numpy", "math", "random", "os", "sys", "copy"}
# IPython magics an answer may use; any other (and every ``!`` shell line) is flagged. Those
# whose argument (or cell) is code to run have it read as a cell of its own.
MAGICS = {"matplotlib", "config", "time", "timeit", "capture", "pinfo", "pinfo2"}
CODE_MAGICS = {"time", "timeit", "capture"}
_IPYTHON = TransformerManager()
PATHS = re.compile(
    r"/proc|/sys/|/dev/|/home|/root|/etc|/tmp|/opt|\.\./|~/|\.ssh|tests/|results\.(json|pkl)|"
    r"otter|autograder|gradebook|\.zip\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """One suspicious line: where, what, and why."""

    cell: int
    line: int
    code: str
    reason: str

    def describe(self) -> str:
        """The finding for results.csv: ``cell 12, line 3: why (the code)``."""
        return f"cell {self.cell}, line {self.line}: {self.reason} ({self.code[:120]})"


@dataclass(frozen=True)
class _Rules:
    """What this lab's cells may not name: the modules and paths above, and its checks."""

    modules: frozenset[str]
    paths: re.Pattern


def scan_cells(cells: list[tuple[int, str]], checks: str = "") -> list[Finding]:
    """Findings in the given ``(cell index, source)`` pairs, in order.

    ``checks``: the lab's checks module (``lab.toml``), which no answer imports or names.
    """
    rules = _Rules(
        frozenset(MODULES | {checks} - {""}),
        re.compile(f"{PATHS.pattern}|{re.escape(checks)}" if checks else PATHS.pattern, re.I),
    )
    findings = []
    for index, source in cells:
        findings += _scan(index, source, rules)
    return findings


def _scan(
    index: int, source: str, rules: _Rules, offset: int = 0, in_magic: bool = False
) -> list[Finding]:
    """Findings in one cell (or in code a magic runs, ``offset`` lines into its cell)."""
    lines = source.splitlines()
    first = lines[0].strip() if lines else ""
    try:
        tree = ast.parse(_IPYTHON.transform_cell(source))
    except SyntaxError:  # IPython cannot run it either, unless a magic parses it its own way
        return [Finding(index, offset + 1, first, "runs code the scan cannot read")] * in_magic
    except Exception:  # IPython's own transformer failing, on whatever input
        return [Finding(index, offset + 1, first, "the scan cannot read this cell")]
    found: dict[int, str] = {}
    nested: list[Finding] = []

    def flag(node: ast.AST, reason: str) -> None:
        found.setdefault(getattr(node, "lineno", 1), reason)

    allowed: set[int] = set()  # get_ipython() calls of magics an answer may use
    for node in ast.walk(tree):
        magic = _magic(node)
        if magic is None:
            continue
        kind, name, code = magic
        if kind not in ("run_line_magic", "run_cell_magic") or name not in MAGICS:
            flag(node, f"runs {'!' if kind in ('system', 'getoutput') else '%'}{name} "
                       "(a shell or IPython command)")  # fmt: skip
            continue
        allowed.add(id(node.func.value.func))
        if name in CODE_MAGICS and code is not None:
            cell_magic = kind == "run_cell_magic"
            lines_before = offset + (node.lineno if cell_magic else node.lineno - 1)
            nested += _scan(index, code, rules, lines_before, in_magic=True)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    # `import os as _o`: `_o.write` is `os.write`
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.asname
    }
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in rules.modules:
                    flag(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            forbidden = NAMES | BUILTINS | MODULE_NAMES.get(module, set())
            if module in rules.modules or node.level:
                flag(node, f"imports from {node.module}")
            elif any(alias.name in forbidden for alias in node.names):
                flag(node, f"imports {', '.join(a.name for a in node.names)} from {module}")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            base, _, rest = dotted.partition(".")
            if base in aliases:
                dotted = ".".join(part for part in (aliases[base], rest) if part)
                base = dotted.split(".")[0]
            replacing = isinstance(node.ctx, (ast.Store, ast.Del)) and base in LIBRARIES
            if replacing and not dotted.startswith("torch.backends."):
                flag(node, f"replaces {dotted}")
            if dotted == "os.environ" and not _reads_environment(node, parents):
                flag(node, "changes os.environ")
            on_module = dotted == f"{base}.{node.attr}"
            machinery = node.attr in NAMES or base == "builtins"
            if machinery or (on_module and node.attr in MODULE_NAMES.get(base, set())):
                flag(node, f"uses {dotted or node.attr}")
        elif isinstance(node, ast.Name) and (node.id in NAMES or node.id in BUILTINS):
            flag(node, f"uses {node.id}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "open"
            and not (
                node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            )
        ):
            flag(node, "opens a file descriptor or a computed path")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and rules.paths.search(node.value)
            and not _is_prose(node.value)
        ):
            flag(node, "names a path or file of the grader")
    own = [
        Finding(
            index, offset + line, lines[line - 1].strip() if 0 < line <= len(lines) else "", reason
        )
        for line, reason in sorted(found.items())
    ]
    return own + nested


def _magic(node: ast.AST) -> tuple[str, str, str | None] | None:
    """``get_ipython().<kind>(name, ..., code)`` as (kind, name, its code if any), or None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "get_ipython"):
        return None
    texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if node.func.attr in ("system", "getoutput"):
        return node.func.attr, (texts[0].split() or [""])[0] if texts else "", None
    if not texts or len(texts) != len(node.args):
        return node.func.attr, "(computed)", None
    code = texts[-1] if node.func.attr == "run_cell_magic" else texts[1] if len(texts) > 1 else None
    return node.func.attr, texts[0], code


def _reads_environment(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """``os.environ.get(...)`` or ``os.environ[...]`` read: what the given code does."""
    parent = parents.get(node)
    if isinstance(parent, ast.Attribute):
        return parent.attr == "get"
    return isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load)


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _is_prose(text: str) -> bool:
    """Prose (a title, a label, a message) rather than a path."""
    return " " in text.strip() and "/" not in text
