"""Run one submitted notebook inside the sandbox, then answer the grader's questions about it.

This program runs on its own in the sandbox (``python -m student_side.worker``, beside
``objects`` and ``wire`` and nothing else of aelab). It reads frames (see ``wire``) on its
standard input and writes frames on what was its standard output when it started:

1. The job: the notebook's code cells and limits. It reports each cell as it runs,
   ``{"event": "cell", "index": 3, "phase": "start"}`` then ``"end"`` with a ``"status"``
   (``ok``, ``error`` or ``timeout``), then ``{"event": "cells-done"}``.
2. Requests, each answered in turn: ``{"id": n, "op": ..., "args": ..., "seconds": limit}``
   → ``{"id": n, "value": ...}``, ``{"id": n, "error": "ValueError", "unfinished": false}``
   (the student's code raised) or ``{"id": n, "time": true}`` (it ran past the limit). The
   operations: ``doubles`` (the checks' test doubles, as source), ``get``, ``double``,
   ``seed``, ``ask`` and ``forget`` (see ``objects.InProcess``), and ``integrity``.
3. ``{"op": "end"}``, or the end of its input: it exits.

The checks, their expectations and their verdicts are never here: the grader holds them and
judges the answers, which are plain data. The notebook's code runs in this process (an
IPython shell, as in a kernel, but without one: no figures are rendered), so it can change
anything here, answers included; an answer is a claim the grader checks, never a verdict.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import types
from typing import Any, BinaryIO

from . import wire
from .objects import InProcess, Ref, Run, StudentError


class TimeLimit(BaseException):
    """A cell or request ran past its time limit."""


class Sink:
    """Where the notebook's ``print`` goes: nowhere (a check that reads printing captures it)."""

    def write(self, text: str) -> int:
        """Drop what was printed."""
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""

    def isatty(self) -> bool:
        """Not a terminal (progress bars draw less)."""
        return False


class Channel:
    """Frames to the grader, on what was standard output when the worker started."""

    def __init__(self) -> None:
        self.file = os.fdopen(os.dup(1), "wb")
        path = os.path.join(tempfile.gettempdir(), f"worker-{os.getpid()}.log")
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)  # what C code or the notebook writes to fd 1/2 never reaches the grader
        os.dup2(log, 2)
        os.close(log)

    def send(self, header: dict[str, Any], blobs: list[bytes] = ()) -> None:
        """Write one frame."""
        wire.write(self.file, header, blobs)


def _limit(seconds: float) -> None:
    """Raise TimeLimit in ``seconds``, then every second until the limit is cleared."""

    def expire(*_: Any) -> None:
        raise TimeLimit

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01), 1.0)


def _clear_limit() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


class Baseline:
    """What must still be there, unchanged, after the notebook and the checks ran.

    Taken before any of the notebook's code runs. Replacing a builtin, a function or class of
    torch, Python's trace or profile hooks, or leaving threads or processes behind, is not
    something a lab answer does: the grader asks a person to look at such a submission.
    """

    MODULES = (
        "builtins", "json", "os", "sys", "signal", "resource", "threading", "math", "re",
        "inspect", "contextlib", "copy", "io", "torch", "torch.nn", "torch.nn.functional",
        "torch.optim", "torch.utils.data", "torch.distributions",
    )  # fmt: skip
    CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.nn.Module", "torch.optim.Adam")

    def __init__(self, own_pids: bool = True) -> None:
        self.own_pids = own_pids  # a PID namespace of the sandbox's own: every other process counts
        self.modules = {name: sys.modules[name] for name in self.MODULES if name in sys.modules}
        self.attributes = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.classes = {name: dict(vars(self._resolve(name))) for name in self.CLASSES}
        self.own = {name: (names, dict(names())) for name, names in _worker_parts().items()}
        self.process = os.getpid()

    @staticmethod
    def _resolve(dotted: str) -> Any:
        module, _, attribute = dotted.rpartition(".")
        return getattr(sys.modules[module], attribute)

    def problems(self) -> list[str]:
        """What changed since the baseline, one line each."""
        found = []
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function is installed (sys.settrace/setprofile)")
        if threading.gettrace() is not None or threading.getprofile() is not None:
            found.append("a trace or profile function is set for new threads")
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] was replaced")
            found += _replaced(name, self.attributes[name], vars(module))
        for name, attributes in self.classes.items():
            found += _replaced(name, attributes, vars(self._resolve(name)))
        for name, (names, before) in self.own.items():
            now = names()
            changed = [key for key, value in before.items() if now.get(key) is not value]
            found += [f"{name}.{key} was replaced" for key in changed if not key.startswith("__")]
        found += [f"a thread started by the notebook is running ({t.name})" for t in _own_threads()]
        if self.own_pids:
            others = [p for p in _processes() if p not in (1, self.process)]
        else:  # unsandboxed, beside the grader's processes: only the worker's descendants
            others = _descendants(self.process)
        if others:
            found.append(f"{len(others)} process(es) started by the notebook still run")
        return found


def _worker_parts() -> dict[str, Any]:
    """The worker's own names, by module and class: nothing a lab answer has reason to touch.

    (IPython puts the notebook's namespace in ``sys.modules["__main__"]``: this module's own
    names are its functions' globals.)
    """
    objects = sys.modules[InProcess.__module__]
    parts: dict[str, Any] = {"the worker": lambda: _worker_parts.__globals__}
    for part in (wire, objects, Answers, InProcess, Ref, Channel):
        parts[f"the worker's {part.__name__}"] = lambda part=part: vars(part)
    return parts


def _replaced(owner: str, before: dict[str, Any], now: Any) -> list[str]:
    """Functions, classes and modules of ``owner`` replaced by something not library code.

    Libraries wrap their own functions as they go (torch wraps ``manual_seed`` and each
    optimiser's ``step`` on first use); those wrappers live in files of the installation.
    State that changes (counters, caches, flags) is not compared.
    """
    found = []
    for attribute, value in before.items():
        current = now.get(attribute, value)
        if current is value or not (callable(value) or isinstance(value, types.ModuleType)):
            continue
        a_class_for_a_function = isinstance(current, type) and not isinstance(value, type)
        if a_class_for_a_function or not _library_code(current):
            found.append(f"{owner}.{attribute} was replaced")
    return found


def _library_code(value: Any) -> bool:
    """Whether ``value`` is a module, class, built-in or function of the installation."""
    installed = (sys.prefix, sys.base_prefix)
    if isinstance(value, types.ModuleType):
        return (getattr(value, "__file__", None) or "").startswith(installed)
    if isinstance(value, type):
        module = sys.modules.get(getattr(value, "__module__", ""))
        if module is None or not (getattr(module, "__file__", None) or "").startswith(installed):
            return module is not None and module.__name__ == "builtins"
        return all(_library_code(v) for v in vars(value).values() if callable(v))
    function = getattr(value, "__func__", value)
    code = getattr(function, "__code__", None)
    if code is None:
        return isinstance(value, types.BuiltinFunctionType)
    return code.co_filename.startswith(installed)


def _own_threads() -> list[threading.Thread]:
    """Threads whose code the notebook wrote (libraries' helper threads are fine)."""
    found = []
    for thread in threading.enumerate():
        if thread is threading.main_thread():
            continue
        target = getattr(thread, "_target", None) or type(thread).run
        code = getattr(target, "__code__", None)
        if code is not None and code.co_filename.startswith("<"):
            found.append(thread)
    return found


def _processes() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _descendants(root: int) -> list[int]:
    """The processes started by ``root`` and theirs, that still run (none known without /proc)."""
    parents = {}
    for pid in _processes() if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                parents[pid] = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, pending = [], [root]
    while pending:
        root = pending.pop()
        children = [pid for pid, parent in parents.items() if parent == root]
        found += children
        pending += children
    return found


def _shell() -> Any:
    """An IPython shell to run the cells in, with no display and no Otter client."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    # `%matplotlib inline` would render every figure: the grader needs none (Agg draws nothing).
    shell.register_magic_function(lambda line: None, "line", "matplotlib")

    class Grader:
        """Stands in for otter's ``grader``: checks and exports do nothing while grading."""

        def __getattr__(self, name: str) -> Any:
            return lambda *args, **kwargs: None

    shell.user_ns["grader"] = Grader()
    return shell


def _set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


class BatchCap:
    """While active, every pass over a DataLoader stops after ``batches`` batches.

    For the lab's long training runs while grading (the cells that use its epoch cap): no
    check needs a trained model, and a training function that ignores ``num_epochs`` still
    finishes. Only those cells run under it; the checks see every batch.
    """

    def __init__(self, batches: int | None) -> None:
        from torch.utils.data import DataLoader

        self.batches, self.loader, self.iterate = batches, DataLoader, DataLoader.__iter__

    def __enter__(self) -> None:
        if self.batches:
            iterate, batches = self.iterate, self.batches
            self.loader.__iter__ = lambda loader: itertools.islice(iterate(loader), batches)

    def __exit__(self, *_: Any) -> None:
        self.loader.__iter__ = self.iterate


CELLS: dict[int, tuple[int, int]] = {}  # IPython's execution number → cell index, blank lines
DETAIL_LIMIT = 300  # characters of an exception's first line


def describe(error: BaseException | None) -> str:
    """``Kind: first line`` of an exception (the kind alone when it says nothing)."""
    if error is None:
        return ""
    try:  # the notebook's own exception class: its text may itself raise
        text = str(error).strip()
    except Exception:
        text = ""
    first = text.splitlines()[0][:DETAIL_LIMIT] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def locate(shell: Any, trace: Any) -> list[int] | None:
    """``[cell index, line]`` of the innermost frame of ``trace`` in one of the notebook's cells."""
    names = getattr(getattr(shell, "compile", None), "_filename_map", {})
    found = None
    while trace is not None:
        number = names.get(trace.tb_frame.f_code.co_filename)
        if number in CELLS:
            index, blank = CELLS[number]
            found = [index, trace.tb_lineno + blank]
        trace = trace.tb_next
    return found


def run_cells(shell: Any, job: dict, channel: Channel) -> None:
    """Run the notebook's code cells in order; an error or timeout does not stop the next one."""
    import matplotlib.pyplot as plt

    cap = BatchCap(job.get("batch_cap"))
    for cell in job["cells"]:
        channel.send({"event": "cell", "index": cell["index"], "phase": "start"})
        # IPython names the cell by this number, and drops its leading blank lines
        blank = len(cell["source"]) - len(cell["source"].lstrip("\n \t"))
        blank = cell["source"][:blank].count("\n")
        CELLS[shell.execution_count] = (cell["index"], blank)
        long_run = job.get("cap_marker") and job["cap_marker"] in cell["source"]
        _limit(job["cell_timeout"])
        try:
            with cap if long_run else contextlib.nullcontext():
                result = shell.run_cell(cell["source"], store_history=True)
        except TimeLimit:  # raised outside the cell's own code (e.g. while compiling)
            result = None
        finally:
            _clear_limit()
        error = None if result is None else (result.error_before_exec or result.error_in_exec)
        if result is None or isinstance(error, TimeLimit):
            status = "timeout"
        else:
            status = "ok" if result.success else "error"
        plt.close("all")
        report = {"event": "cell", "index": cell["index"], "phase": "end", "status": status}
        if status == "error":  # a claim, shown only to instructors building their own master
            trace = getattr(error, "__traceback__", None)
            report.update(error=describe(error), where=locate(shell, trace))
        channel.send(report)


class Answers:
    """The grader's requests about the notebook, answered with an ``InProcess`` of its names."""

    def __init__(self, namespace: dict[str, Any], baseline: Baseline, shell: Any = None) -> None:
        self.student = InProcess(namespace, locate=lambda trace: locate(shell, trace))
        self.baseline = baseline

    def answer(self, header: dict[str, Any], blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        """The reply to one request."""
        reply: dict[str, Any] = {"id": header.get("id")}
        args = wire.decode(header.get("args", []), blobs, self._ref)
        _limit(float(header.get("seconds", 60)))
        try:
            value = self._do(str(header.get("op")), args)
        except StudentError as error:
            reply.update(error=error.kind, unfinished=error.unfinished, detail=error.detail)
            reply.update(where=error.where)
            return reply, []
        except TimeLimit:
            reply["time"] = True
            return reply, []
        finally:
            _clear_limit()
        if isinstance(value, Run):
            value = (value.value, value.printed, value.calls)
        reply["value"], out = wire.encode(value, self._tag)
        return reply, out

    def _do(self, op: str, args: list) -> Any:
        if op == "doubles":
            module = types.ModuleType("doubles")
            exec(compile(args[0], "<doubles>", "exec"), module.__dict__)
            self.student.doubles = vars(module)
            return None
        if op == "integrity":
            patched = [key for key in vars(self.student) if hasattr(InProcess, key)]
            return self.baseline.problems() + [
                f"the worker's student.{key} was replaced" for key in patched
            ]
        if op in ("get", "double", "seed", "ask", "forget"):
            positional, keywords = (args[:-1], args[-1]) if op == "double" else (args, {})
            return getattr(self.student, op)(*positional, **keywords)
        raise wire.WireError(f"no such operation: {op[:40]}")

    def _ref(self, key: int, kinds: tuple) -> Ref:
        if key not in self.student.objects:
            raise wire.WireError("a reference to nothing")
        return self.student.ref(self.student.objects[key])

    def _tag(self, value: Any) -> dict | None:
        if isinstance(value, Ref) and value.student is self.student:
            return {"key": value.key, "kinds": [value.is_module, value.is_class, value.is_callable]}
        return None


def serve(requests: BinaryIO, channel: Channel, answers: Answers) -> None:
    """Answer requests until told to end; an answer that cannot be made says so."""
    while (frame := wire.read(requests)) is not None:
        header, blobs = frame
        if header.get("op") == "end":
            return
        try:
            reply, out = answers.answer(header, blobs)
        except Exception as error:  # a request this worker cannot answer: the grader decides
            reply, out = {"id": header.get("id"), "broken": type(error).__name__}, []
        channel.send(reply, out)


def main() -> None:
    """Read the job, run the notebook, then answer the grader until it is done."""
    requests = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the notebook's input() gets nothing (and no request)
    channel = Channel()
    header, _ = wire.read(requests)
    job = header["job"]
    _set_limits(job.get("limits", {}))
    import matplotlib

    matplotlib.use("Agg")
    import torch
    import torch.distributions  # noqa: F401

    shell = _shell()
    baseline = Baseline(own_pids=job.get("own_pids", True))
    sys.stdout = sys.stderr = Sink()
    started = time.monotonic()
    run_cells(shell, job, channel)
    channel.send({"event": "cells-done", "seconds": round(time.monotonic() - started, 2)})
    serve(requests, channel, Answers(shell.user_ns, baseline, shell))
    os._exit(0)  # no atexit handler of the notebook's runs after the last answer


if __name__ == "__main__":
    main()
