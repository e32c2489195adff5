"""Find code in a submission that is aimed at the grader rather than at the lab.

A lab answer builds datasets, models and training loops; it has no reason to trace the
interpreter, reach into frames or the garbage collector, start processes, open sockets,
read ``/proc`` or the autograder's files, or run text as code. Such code never scores
silently: the submission goes to a person for review, with the line that was found.
Honest work is not flagged (the reference solution and every realistic mistake in
``tests/student_work.py`` are checked).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Modules a lab answer never needs: process, thread and signal control, native code, the
# interpreter's internals, serialisation that runs code, networking, the grading machinery.
MODULES = {
    "ctypes", "cffi", "gc", "subprocess", "multiprocessing", "threading", "_thread", "signal",
    "socket", "pty", "importlib", "builtins", "marshal", "pickle", "dill", "cloudpickle",
    "resource", "mmap", "fcntl", "pwd", "sysconfig", "code", "codeop", "atexit", "faulthandler",
    "inspect", "traceback", "otter", "lab_checks", "aelab", "IPython", "ipykernel", "urllib",
    "requests", "http", "asyncio", "shutil", "posix", "runpy", "zipimport", "sqlite3",
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
# IPython line magics an answer may use; any other (and every ``!`` shell line) is flagged.
MAGICS = {"matplotlib", "config", "time", "timeit", "capture", "load_ext", "autoreload"}
PATHS = re.compile(
    r"/proc|/sys/|/dev/|/home|/root|/etc|/tmp|/opt|\.\./|~/|\.ssh|tests/|results\.(json|pkl)|"
    r"otter|autograder|gradebook|lab_checks|\.zip\b",
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


def scan_cells(cells: list[tuple[int, str]]) -> list[Finding]:
    """Findings in the given ``(cell index, source)`` pairs, in order."""
    findings = []
    for index, source in cells:
        findings += _scan(index, source)
    return findings


def _scan(index: int, source: str) -> list[Finding]:
    lines = source.splitlines()
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return []  # it fails to run as well; nothing of it can execute
    found: dict[int, str] = {}

    def flag(node: ast.AST, reason: str) -> None:
        found.setdefault(getattr(node, "lineno", 1), reason)

    for number, line in enumerate(lines, start=1):
        magic = re.match(r"\s*(!|%%?)(\w*)", line)
        if magic and (magic[1] == "!" or magic[2] not in MAGICS):
            found.setdefault(number, f"runs {magic[1]}{magic[2]} (a shell or IPython command)")
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in MODULES:
                    flag(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            forbidden = NAMES | BUILTINS | MODULE_NAMES.get(module, set())
            if module in MODULES or node.level:
                flag(node, f"imports from {node.module}")
            elif any(alias.name in forbidden for alias in node.names):
                flag(node, f"imports {', '.join(a.name for a in node.names)} from {module}")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
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
            and PATHS.search(node.value)
            and not _is_prose(node.value)
        ):
            flag(node, "names a path or file of the grader")
    return [
        Finding(index, line, lines[line - 1].strip() if 0 < line <= len(lines) else "", reason)
        for line, reason in sorted(found.items())
    ]


def _without_magics(source: str) -> str:
    """IPython's ``%`` and ``!`` lines made harmless for parsing (they are checked apart)."""
    kept = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped[:1] in ("%", "!"):
            kept.append(line[: len(line) - len(stripped)] + "pass")
        else:
            kept.append(line)
    return "\n".join(kept)


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
