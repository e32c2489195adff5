"""Run one submitted notebook, then the autograder's tests, inside the sandbox.

This file runs on its own inside the sandbox (``python worker.py``): it imports nothing of
aelab. The grader writes two JSON lines on its standard input: first the notebook's code
cells and limits; then, only once the worker reports that the cells are done, the tests
(each with a random nonce to send back with its verdict) and the checks module's source.
The notebook's code never runs while the tests are in this process's input. The worker
reports one JSON object per line on its standard output:

    {"event": "cell", "index": 3, "phase": "start"}
    {"event": "cell", "index": 3, "phase": "end", "status": "ok" | "error" | "timeout", ...}
    {"event": "cells-done"}
    {"event": "test", "name": "q1/test_x", "phase": "start"} ... "end", "nonce": ..., ...
    {"event": "integrity", "problems": [...]}
    {"event": "done"}

The notebook's code runs in this process (an IPython shell, as in a kernel, but without one:
no figures are rendered). The grader trusts none of this blindly: it accepts only tests it
knows, scores them itself and treats the integrity report and its own scan of the code as the
last word on tampering.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import json
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import types
from typing import Any

CAUGHT_OUTPUT = 20_000  # characters of the notebook's printing kept (for error reports only)


class TimeLimit(BaseException):
    """A cell or test ran past its time limit."""


class Sink:
    """Where the notebook's ``print`` goes: the last few thousand characters are kept."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        """Keep the end of what was printed."""
        self.text = (self.text + str(text))[-CAUGHT_OUTPUT:]
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""

    def isatty(self) -> bool:
        """Not a terminal (progress bars draw less)."""
        return False


class Channel:
    """The events to the grader, on what was standard output when the worker started."""

    def __init__(self) -> None:
        self._file = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        path = os.path.join(tempfile.gettempdir(), f"aelab-worker-{os.getpid()}.log")
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)  # what C code or the notebook writes to fd 1/2 never reaches the grader
        os.dup2(log, 2)
        os.close(log)

    def send(self, **event: Any) -> None:
        """Write one event as a JSON line."""
        self._file.write(json.dumps(event, default=str) + "\n")
        self._file.flush()


def _limit(seconds: float) -> None:
    """Raise TimeLimit in ``seconds``, then every second until the limit is cleared."""

    def expire(*_: Any) -> None:
        raise TimeLimit

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01), 1.0)


def _clear_limit() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def _error_name(error: BaseException | None) -> str:
    return type(error).__name__ if error is not None else ""


class Baseline:
    """What must still be there, unchanged, after the notebook and the tests ran.

    Taken before any of the notebook's code runs. Replacing a builtin, a function of torch,
    Python's trace or profile hooks, or leaving threads or processes behind, is not something
    a lab answer does; the grader puts such a submission up for review.
    """

    MODULES = (
        "builtins", "json", "os", "sys", "signal", "resource", "threading", "math", "re",
        "inspect", "contextlib", "copy", "io", "torch", "torch.nn", "torch.nn.functional",
        "torch.optim", "torch.utils.data", "torch.distributions",
    )  # fmt: skip
    CLASSES = ("torch.Tensor", "torch._C.TensorBase", "torch.nn.Module", "torch.optim.Adam")

    def __init__(self) -> None:
        self.modules = {name: sys.modules[name] for name in self.MODULES if name in sys.modules}
        self.attributes = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.classes = {name: dict(vars(self._resolve(name))) for name in self.CLASSES}
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
        found += [f"a thread started by the notebook is running ({t.name})" for t in _own_threads()]
        others = [p for p in _processes() if p not in (1, self.process)]
        if others:
            found.append(f"{len(others)} process(es) started by the notebook still run")
        return found


def _replaced(owner: str, before: dict[str, Any], now: Any) -> list[str]:
    """Functions and modules of ``owner`` replaced by something that is not library code.

    Libraries wrap their own functions as they go (torch wraps ``manual_seed`` and each
    optimiser's ``step`` on first use); those wrappers live in files of the installation.
    State that changes (counters, caches, flags) is not compared.
    """
    found = []
    for attribute, value in before.items():
        current = now.get(attribute, value)
        if current is value or not (callable(value) or isinstance(value, types.ModuleType)):
            continue
        if not _library_code(current):
            found.append(f"{owner}.{attribute} was replaced")
    return found


def _library_code(value: Any) -> bool:
    """Whether ``value`` is a module, built-in or function of the installed Python or packages."""
    if isinstance(value, types.ModuleType):
        file = getattr(value, "__file__", None) or ""
    else:
        function = getattr(value, "__func__", value)
        code = getattr(function, "__code__", None)
        if code is None:
            return isinstance(value, (types.BuiltinFunctionType, type))
        file = code.co_filename
    return file.startswith((sys.prefix, sys.base_prefix))


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
    finishes. Only those cells run under it; the tests see every batch.
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


def run_cells(shell: Any, job: dict, channel: Channel, sink: Sink) -> None:
    """Run the notebook's code cells in order; an error or timeout does not stop the next one."""
    import matplotlib.pyplot as plt

    cap = BatchCap(job.get("batch_cap"))
    for cell in job["cells"]:
        channel.send(event="cell", index=cell["index"], phase="start")
        sink.text = ""
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
        channel.send(
            event="cell", index=cell["index"], phase="end", status=status,
            error=_error_name(error) if status == "error" else "",
        )  # fmt: skip


def load_checks(source: str, name: str) -> types.ModuleType:
    """The checks module, made afresh from the grader's copy (whatever the notebook imported)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def run_test(test: dict, env: dict, checks: types.ModuleType, timeout: float) -> dict:
    """Call one test function as otter does (``env`` or the notebook's variables by name)."""
    sys.modules[checks.__name__] = checks  # `import lab_checks` in the test gets this one
    namespace: dict[str, Any] = {"__builtins__": builtins}
    exec(compile(test["source"], f"<test {test['name']}>", "exec"), namespace)
    function = namespace[test["function"]]
    names = function.__code__.co_varnames[: function.__code__.co_argcount]
    arguments = {n: env if n == "env" else env.get(n) for n in names}
    verdict: dict[str, Any] = {"passed": False, "template": None, "values": {}, "error": ""}
    _limit(timeout)
    try:
        function(**arguments)
        verdict["passed"] = True
    except TimeLimit:
        verdict["error"] = "TimeLimit"
    except AssertionError as failure:  # the checks' CheckFailed, or a public test's own copy
        template, values = getattr(failure, "template", None), getattr(failure, "values", None)
        if isinstance(template, str) and isinstance(values, dict):
            verdict["template"], verdict["values"] = template, _plain(values)
        else:
            verdict["error"] = "AssertionError"
    except Exception as error:
        verdict["error"] = _error_name(error)
    finally:
        _clear_limit()
    return verdict


def _plain(values: dict) -> dict:
    """Values as JSON can carry them: numbers and strings, lists of them."""
    plain = {}
    for key, value in values.items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            plain[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
            plain[key] = list(value)
        else:
            plain[key] = str(value)[:200]
    return plain


def main() -> None:
    """Read the job, run the notebook, then the tests; report each step as it happens."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    job = json.loads(requests.readline())
    channel, sink = Channel(), Sink()
    _set_limits(job.get("limits", {}))
    import matplotlib

    matplotlib.use("Agg")
    import torch
    import torch.distributions  # noqa: F401

    shell = _shell()
    baseline = Baseline()
    sys.stdout = sys.stderr = sink
    started = time.monotonic()
    run_cells(shell, job, channel, sink)
    channel.send(event="cells-done")
    tests = json.loads(requests.readline())
    checks = load_checks(tests["checks_source"], tests["checks_module"])
    for test in tests["tests"]:
        channel.send(event="test", name=test["name"], phase="start")
        verdict = run_test(test, shell.user_ns, checks, tests["test_timeout"])
        channel.send(event="test", name=test["name"], phase="end", nonce=test["nonce"], **verdict)
    channel.send(event="integrity", problems=baseline.problems())
    channel.send(event="done", seconds=round(time.monotonic() - started, 2))
    os._exit(0)  # no atexit handler of the notebook's runs after the report


if __name__ == "__main__":
    main()
