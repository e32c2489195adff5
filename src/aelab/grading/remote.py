"""The grader's side of a sandbox's pipes: frames in and out under deadlines, and the student.

``Pipes`` writes frames to the sandbox from a thread of its own and reads its frames on
another, so that nothing the sandbox does (stop reading, stop writing, send garbage) can
block the grader: every wait has a deadline, and a sandbox past it is killed by the caller.
``Sandboxed`` is the student the checks ask (see ``aelab.student_side.objects``), each
question a request answered by the worker in the sandbox. Answers are decoded as plain
data only (``wire``); whatever they claim, the checks judge them here.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from typing import Any

from aelab.student_side import wire
from aelab.student_side.objects import Ref, Run, StudentError

GRACE_S = 10.0  # past a request's own limit, before the sandbox counts as stuck
_KIND_LIMIT = 80
_DETAIL_LIMIT = 300  # characters of an error's first line (shown to instructors only)


class SandboxGone(Exception):  # noqa: N818 (an outcome, not a programming error)
    """The sandbox stopped answering as it should. ``why``: "stuck", "ended" or "garbled"."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"{why}: {detail}" if detail else why)
        self.why, self.detail = why, detail


class OutOfTime(Exception):  # noqa: N818 (an outcome, like TimeoutError)
    """The student's code ran past the test's time limit (the sandbox stopped it)."""


class Pipes:
    """A running worker's standard input and output, as frames, never blocking the caller."""

    def __init__(self, stdin: Any, stdout: Any) -> None:
        self.outgoing: queue.Queue = queue.Queue()
        self.incoming: queue.Queue = queue.Queue()
        self._stdin, self._stdout = stdin, stdout
        threading.Thread(target=self._write, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, header: dict[str, Any], blobs: list[bytes] = ()) -> None:
        """Queue one frame for the worker (written by the writer thread)."""
        self.outgoing.put((header, list(blobs)))

    def receive(self, until: float) -> tuple[dict[str, Any], list[bytes]]:
        """The worker's next frame, by ``until`` (``time.monotonic()``), or SandboxGone."""
        try:
            frame = self.incoming.get(timeout=max(until - time.monotonic(), 0))
        except queue.Empty:
            raise SandboxGone("stuck") from None
        if isinstance(frame, SandboxGone):
            self.incoming.put(frame)  # every later wait ends the same way
            raise frame
        return frame

    def close(self) -> None:
        """Stop writing (the worker sees the end of its input)."""
        self.outgoing.put(None)

    def _write(self) -> None:
        while (frame := self.outgoing.get()) is not None:
            try:
                wire.write(self._stdin, *frame)
            except (OSError, ValueError):
                return
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()

    def _read(self) -> None:
        try:
            while (frame := wire.read(self._stdout)) is not None:
                self.incoming.put(frame)
            self.incoming.put(SandboxGone("ended"))
        except wire.WireError as error:
            self.incoming.put(SandboxGone("garbled", str(error)))
        except (OSError, ValueError) as error:
            self.incoming.put(SandboxGone("ended", type(error).__name__))


class Sandboxed:
    """The student of a notebook in a sandbox: each question is one request to its worker.

    ``deadline`` (``time.monotonic()``) bounds the student's code: each request tells the
    worker how long it may run, and an answer later than that plus ``GRACE_S`` means the
    sandbox is stuck.
    """

    def __init__(self, pipes: Pipes, data_root: str | None = None, instructor: bool = False):
        self.pipes = pipes
        # An error's text and place are claims of the sandbox: kept only for the instructor's
        # own notebooks (the build), never where a student's feedback could show them.
        self.instructor = instructor
        self.data_root = data_root  # the grader's own copy of the lab's data (MNIST), if any
        self.deadline = float("inf")
        self._ids = itertools.count(1)
        self._refs: dict[int, Ref] = {}
        # What the checks looked up since the last ``forget``: ("name" or "attr", name, found)
        self.reads: list[tuple[str, str, bool]] = []

    def get(self, name: str) -> Any:
        """The notebook's variable ``name`` (None if it has none)."""
        value = self._request("get", [name])
        self.reads.append(("name", str(name), value is not None and value is not Ellipsis))
        return value

    def double(self, factory: Any, *args: Any, **kwargs: Any) -> Any:
        """Build one of the checks' test doubles (by its name) beside the notebook's objects."""
        name = factory if isinstance(factory, str) else factory.__name__
        return self._request("double", [name, *args, kwargs])

    def seed(self, seed: int) -> None:
        """Seed torch's random numbers in the sandbox."""
        self._request("seed", [seed])

    def forget(self) -> None:
        """Drop every reference on both sides."""
        self._refs.clear()
        self.reads = []
        self._plumbing("forget", [])

    def ask(self, key: int, op: str, *args: Any) -> Any:
        """One question about the object ``key`` refers to."""
        value = self._request("ask", [key, op, *args])
        if op == "attr" and args and isinstance(args[0], str):
            self.reads.append(("attr", args[0], value is not None))
        if op != "run":
            return value
        if not (isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], str)):
            raise SandboxGone("garbled", "an answer that is not a call's run")
        calls = value[2] if isinstance(value[2], dict) else {}
        return Run(value[0], value[1], {k: v for k, v in calls.items() if type(v) is int})

    def send_doubles(self, source: str) -> None:
        """The checks' test doubles, to be built in the sandbox."""
        self._plumbing("doubles", [source])

    def integrity(self) -> list[str]:
        """What the worker found changed since before the notebook ran (a claim, for review)."""
        found = self._plumbing("integrity", [])
        return [str(line)[:200] for line in found[:20]] if isinstance(found, list) else []

    def _plumbing(self, op: str, args: list) -> Any:
        """A request that runs none of the notebook's code: any error in its answer is a lie."""
        try:
            return self._request(op, args)
        except (StudentError, OutOfTime):
            raise SandboxGone("garbled", f"an error in answer to {op}") from None

    def _request(self, op: str, args: list) -> Any:
        seconds = self.deadline - time.monotonic()
        if seconds <= 0:
            raise OutOfTime
        number = next(self._ids)
        tree, blobs = wire.encode(args, self._tag)
        self.pipes.send({"id": number, "op": op, "args": tree, "seconds": seconds}, blobs)
        header, blobs = self.pipes.receive(time.monotonic() + seconds + GRACE_S)
        if header.get("id") != number:
            raise SandboxGone("garbled", "an answer to another request")
        if header.get("time") is True:
            raise OutOfTime
        if "error" in header:
            kind = header["error"] if isinstance(header["error"], str) else "Exception"
            detail, where = header.get("detail"), header.get("where")
            detail = detail if self.instructor and isinstance(detail, str) else ""
            cell = isinstance(where, list) and all(type(i) is int for i in where)
            where = where if self.instructor and cell else None
            unfinished = header.get("unfinished") is True
            raise StudentError(kind[:_KIND_LIMIT], unfinished, detail[:_DETAIL_LIMIT], where)
        if "broken" in header or "value" not in header:
            raise SandboxGone("garbled", f"the worker could not answer {op}")
        try:
            return wire.decode(header["value"], blobs, self._ref)
        except wire.WireError as error:
            raise SandboxGone("garbled", str(error)) from None

    def _ref(self, key: int, kinds: tuple) -> Ref:
        if key not in self._refs:
            self._refs[key] = Ref(self, key, kinds)
        return self._refs[key]

    def _tag(self, value: Any) -> dict | None:
        if isinstance(value, Ref) and value.student is self:
            return {"key": value.key, "kinds": [value.is_module, value.is_class, value.is_callable]}
        return None
