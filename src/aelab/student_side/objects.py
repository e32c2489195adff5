"""A notebook's objects as checks see them: plain data back, everything else by reference.

A check never handles the student's objects itself: it asks a *student* (an ``InProcess``
here, or the grader's sandboxed twin of it) to look up a name, call a function or build a
class with inputs the check chose, read an attribute, a length, the layers or the weights of
a model. What comes back is plain data (numbers, strings, tensors, and tuples, lists and
dicts of them) or a ``Ref``: a reference to ask more of. The same questions, answered in the
same way, serve a student's own Jupyter (the public tests), the project's fast tests, and the
sandbox, whose worker answers the grader's requests with an ``InProcess`` of its own.

Test doubles (scripted models, recording decoders) are built beside the student's objects
with ``double``; what they observed is read back as data.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

PRINTED_LIMIT = 100_000  # characters of a call's printing kept
PLAIN_DEPTH = 16  # nested tuples/lists/dicts deeper than this come back as a reference
# The layers a model's structure names, each with the settings that make one again; a module
# of any other class (a subclass included) is "other", and cannot be made again.
LAYERS = {
    "Sequential": (nn.Sequential, ()),
    "Linear": (nn.Linear, ("in_features", "out_features", "bias")),
    "ReLU": (nn.ReLU, ()),
    "LeakyReLU": (nn.LeakyReLU, ("negative_slope",)),
    "ELU": (nn.ELU, ("alpha",)),
    "GELU": (nn.GELU, ()),
    "SiLU": (nn.SiLU, ()),
    "Sigmoid": (nn.Sigmoid, ()),
    "Tanh": (nn.Tanh, ()),
    "Softplus": (nn.Softplus, ("beta", "threshold")),
    "Identity": (nn.Identity, ()),
    "Dropout": (nn.Dropout, ("p",)),
    "Flatten": (nn.Flatten, ("start_dim", "end_dim")),
    "BatchNorm1d": (
        nn.BatchNorm1d,
        ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    ),
}
REBUILT_LIMIT = 50_000_000  # weights of a model made again from its structure


class StudentError(Exception):
    """The student's code raised an exception; ``kind`` is its class's name.

    ``unfinished``: the code still holds the handout's ``...`` placeholder; ``detail``: the
    exception's first line; ``where``: ``[cell index, line]`` of the notebook's code that
    raised it. Both are claims when they come from a sandbox: feedback never shows them as
    they are; an instructor building their own master sees them.
    """

    def __init__(
        self,
        kind: str,
        unfinished: bool = False,
        detail: str = "",
        where: list[int] | None = None,
    ) -> None:
        super().__init__(kind)
        self.kind, self.unfinished, self.detail, self.where = kind, unfinished, detail, where


class Run:
    """What a call returned, what it printed, and how often it called each spied name."""

    def __init__(self, value: Any, printed: str = "", calls: dict[str, int] | None = None):
        self.value, self.printed, self.calls = value, printed, calls or {}


class Ref:
    """One object of the notebook (or a test double beside it), to ask more of."""

    def __init__(self, student: Any, key: int, kinds: tuple[bool, bool, bool]) -> None:
        self.student, self.key = student, key
        self.is_module, self.is_class, self.is_callable = kinds

    def attr(self, name: str, default: Any = None) -> Any:
        """``getattr(obj, name)``, or ``default`` where it has no such attribute."""
        return self.student.ask(self.key, "attr", name, default)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``obj(*args, **kwargs)``: a Ref or a tensor among the arguments goes as itself."""
        return self.student.ask(self.key, "call", args, kwargs)

    def run(self, *args: Any, spy: tuple[str, ...] = (), **kwargs: Any) -> Run:
        """Like ``call``, and keep what it printed and how often it called the ``spy`` names.

        A spied name is a global of the called function (``vae_loss`` for ``train_vae``).
        """
        return self.student.ask(self.key, "run", args, kwargs, list(spy))

    def len(self) -> int:
        """``len(obj)``."""
        return self.student.ask(self.key, "len")

    def item(self, index: int) -> Any:
        """``obj[index]``."""
        return self.student.ask(self.key, "item", index)

    def first(self) -> Any:
        """``next(iter(obj))``: a loader's first batch."""
        return self.student.ask(self.key, "first")

    def parameters(self) -> list[str]:
        """The names of a function's parameters, in order."""
        return self.student.ask(self.key, "parameters")

    def structure(self) -> Any:
        """A model's layers: ``[kind, settings, children]`` (see ``LAYERS`` and ``rebuild``)."""
        return self.student.ask(self.key, "structure")

    def state(self) -> dict[str, torch.Tensor]:
        """A model's weights (``obj.state_dict()``), as tensors."""
        return self.student.ask(self.key, "state")

    def load(self, state: Mapping[str, torch.Tensor]) -> None:
        """``obj.load_state_dict(state)``."""
        self.student.ask(self.key, "load", dict(state))

    def unfinished(self) -> bool:
        """Whether the object's code still holds the handout's ``...`` placeholder."""
        return self.student.ask(self.key, "unfinished")


def rebuild(structure: Any) -> nn.Module | None:
    """The model a ``structure`` describes, made here (untrained); None if it is not one.

    Only torch's own layers of ``LAYERS``, settings that are numbers, and at most
    ``REBUILT_LIMIT`` weights: a description from elsewhere is a claim, made real only here.
    """
    try:
        model = _build(structure, 0)
    except (TypeError, ValueError, RuntimeError):
        return None
    if model is None or sum(p.numel() for p in model.parameters()) > REBUILT_LIMIT:
        return None
    return model


def _build(structure: Any, depth: int) -> nn.Module | None:
    kind, settings, children = structure
    if kind not in LAYERS or depth > PLAIN_DEPTH or not isinstance(settings, dict):
        return None
    cls, names = LAYERS[kind]
    if set(settings) != set(names) or not all(
        type(v) in (int, float, bool) for v in settings.values()
    ):
        return None
    sizes = [settings[n] for n in ("in_features", "out_features", "num_features") if n in names]
    if any(not 0 < size <= 100_000 for size in sizes):
        return None
    if kind != "Sequential":
        return cls(**settings)
    built = [_build(child, depth + 1) for child in children]
    return None if None in built else nn.Sequential(*built)


def observe(env: Any) -> Any:
    """The student a check asks: ``env`` itself, or an ``InProcess`` over a namespace."""
    return InProcess(env) if isinstance(env, Mapping) else env


class InProcess:
    """The student of a namespace in this process: it answers by handling the objects itself."""

    OPS = ("attr", "call", "run", "len", "item", "first", "parameters", "structure", "state",
           "load", "unfinished")  # fmt: skip

    def __init__(
        self,
        namespace: Mapping[str, Any],
        doubles: Mapping[str, Callable] | None = None,
        data_root: str | None = None,
        locate: Callable[[Any], list[int] | None] | None = None,
    ) -> None:
        self.namespace, self.doubles = namespace, doubles or {}
        self.locate = locate  # where in the notebook an error arose (its traceback → cell, line)
        self.data_root = data_root  # data the checks hold themselves (MNIST), if any
        self.objects: dict[int, Any] = {}  # key → object, kept alive while referenced
        self.refs: dict[int, Ref] = {}  # id(object) → its Ref

    def get(self, name: str) -> Any:
        """The notebook's variable ``name`` (None if it has none)."""
        return self.plain(self.namespace.get(name))

    def double(self, factory: Callable | str, *args: Any, **kwargs: Any) -> Any:
        """Build a test double beside the notebook's objects (or run a probe there).

        ``factory`` is a class or function of the checks' doubles, or its name.
        """
        make = self.doubles[factory] if isinstance(factory, str) else factory
        return self._student(make, lambda: self._call(make, args, kwargs))

    def seed(self, seed: int) -> None:
        """Seed torch's random numbers where the notebook's code runs."""
        torch.manual_seed(seed)

    def forget(self) -> None:
        """Drop every reference (the objects a check made can be freed)."""
        self.objects.clear()
        self.refs.clear()

    def ask(self, key: int, op: str, *args: Any) -> Any:
        """Answer one question ``op`` about the object ``key`` refers to."""
        if op not in self.OPS:
            raise ValueError(f"no such question: {op}")
        obj = self.objects[key]
        return self._student(obj, lambda: getattr(self, f"_{op}")(obj, *args))

    def ref(self, obj: Any) -> Ref:
        """The one Ref of ``obj``: the same object is always the same Ref."""
        if id(obj) not in self.refs:
            key = len(self.objects) + 1
            self.objects[key] = obj
            kinds = (isinstance(obj, nn.Module), inspect.isclass(obj), callable(obj))
            self.refs[id(obj)] = Ref(self, key, kinds)
        return self.refs[id(obj)]

    def plain(self, value: Any, depth: int = 0) -> Any:
        """``value`` as plain data: tensors detached and copied, other objects as Refs."""
        if value is None or value is Ellipsis or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return np.array(value)
        if isinstance(value, range):
            return list(value)
        if isinstance(value, torch.Tensor) and not value.is_complex():
            tensor = value.detach().to("cpu").as_subclass(torch.Tensor).clone()
            return tensor.float() if tensor.dtype == torch.bfloat16 else tensor
        if depth < PLAIN_DEPTH and isinstance(value, (tuple, list)):
            items = [self.plain(item, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        if depth < PLAIN_DEPTH and isinstance(value, dict) and all(type(k) is str for k in value):
            return {key: self.plain(item, depth + 1) for key, item in value.items()}
        return self.ref(value)

    def unwrap(self, value: Any) -> Any:
        """Arguments for the notebook's code: each Ref of this student as its object."""
        if isinstance(value, Ref):
            return self.objects[value.key]
        if isinstance(value, (tuple, list)):
            return type(value)(self.unwrap(item) for item in value)
        if isinstance(value, dict):
            return {key: self.unwrap(item) for key, item in value.items()}
        return value

    def _student(self, obj: Any, answer: Callable[[], Any]) -> Any:
        """``answer()``, whose errors are the student's code's."""
        try:
            return answer()
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
            where = self.locate(error.__traceback__) if self.locate else None
            raise StudentError(type(error).__name__, unfinished(obj), first, where) from None

    def _attr(self, obj: Any, name: str, default: Any) -> Any:
        try:
            return self.plain(getattr(obj, name))
        except AttributeError:
            return default

    def _call(self, obj: Any, args: tuple, kwargs: dict) -> Any:
        return self.plain(obj(*self.unwrap(args), **self.unwrap(kwargs)))

    def _run(self, obj: Any, args: tuple, kwargs: dict, spy: list[str]) -> Run:
        printed, calls = io.StringIO(), dict.fromkeys(spy, 0)
        with contextlib.redirect_stdout(printed), contextlib.ExitStack() as stack:
            for name in spy:
                stack.enter_context(_spying(obj, name, calls))
            value = obj(*self.unwrap(args), **self.unwrap(kwargs))
        return Run(self.plain(value), printed.getvalue()[-PRINTED_LIMIT:], calls)

    def _len(self, obj: Any) -> int:
        return len(obj)

    def _item(self, obj: Any, index: int) -> Any:
        return self.plain(obj[index])

    def _first(self, obj: Any) -> Any:
        return self.plain(next(iter(obj)))

    def _parameters(self, obj: Any) -> list[str]:
        return list(inspect.signature(obj).parameters)

    def _structure(self, obj: Any, depth: int = 0) -> list:
        kind = next((name for name, (cls, _) in LAYERS.items() if type(obj) is cls), "other")
        if kind == "other" or depth > PLAIN_DEPTH:
            return ["other", {}, []]
        names = LAYERS[kind][1]
        settings = {name: getattr(obj, name) for name in names if name != "bias"}
        if "bias" in names:
            settings["bias"] = obj.bias is not None
        children = [self._structure(child, depth + 1) for child in obj.children()]
        return [kind, settings, children if kind == "Sequential" else []]

    def _state(self, obj: Any) -> dict[str, torch.Tensor]:
        return {str(key): self.plain(value) for key, value in obj.state_dict().items()}

    def _load(self, obj: Any, state: dict[str, torch.Tensor]) -> None:
        obj.load_state_dict(state)

    def _unfinished(self, obj: Any) -> bool:
        return unfinished(obj)


@contextlib.contextmanager
def _spying(function: Any, name: str, calls: dict[str, int]):
    """While active, ``function``'s global ``name`` counts its calls in ``calls``."""
    scope = getattr(function, "__globals__", None)
    original = scope.get(name) if isinstance(scope, dict) else None
    if not callable(original):
        yield
        return

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return original(*args, **kwargs)

    scope[name] = spy
    try:
        yield
    finally:
        scope[name] = original


def unfinished(obj: Any) -> bool:
    """Whether a function, method, class or model still holds the handout's ``...``.

    Only used to explain a failure: working code that kept a stray ``...`` still passes.
    """
    try:
        if isinstance(obj, nn.Module):
            obj = type(obj).forward
        elif inspect.isclass(obj):
            obj = obj.__init__
        source = inspect.getsource(obj)
    except Exception:  # no source (a built-in, a C function) or code that fights back
        return False
    return re.search(r"^\s*\.\.\.\s*$", source, re.MULTILINE) is not None
