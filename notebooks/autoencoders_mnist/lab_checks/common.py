"""What every check of this lab uses: verdicts, the notebook's names, questions to its objects.

A check asks the student (see ``observe``) and judges the answers here. A mistake it finds
raises :class:`CheckFailed` with a message in the student's terms; an error raised by the
student's own code becomes such a message too. Messages are ``str.format`` templates written
as literals in this package, filled with values the check measured: the grader shows a value
only when it is a number or a literal of this package (or an exception's class name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from aelab.student_side.objects import Ref, Run, StudentError, rebuild

from .doubles import evaluate

LR = 0.001  # Adam's learning rate in Problems 3 and 9
PROBLEM_1 = "run Problem 1's cell first (it makes the datasets and their loaders)."
TRAINED_AE = "finish Problems 2 and 3, then run the cell that trains `trained_autoencoder`."
TRAINED_VAE = "finish Problems 8 and 9, then run the cell that trains `trained_vae`."
NOT_FINISHED = "{what} is not finished yet: replace the `...` in it with your code."


class CheckFailed(AssertionError):  # noqa: N818 (a verdict, not an error of the check)
    """A check's verdict: what is wrong, from a template and the values it measured."""

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values


def expect(condition: object, template: str, **values: Any) -> None:
    """Fail with the message ``template.format(**values)`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(template, **values)


def need(student: Any, name: str, hint: str) -> Any:
    """The notebook's variable ``name``; a failure saying what to do when it is missing."""
    value = student.get(name)
    if value is None or value is Ellipsis:
        raise CheckFailed("`{name}` is not defined yet: {hint}", name=name, hint=hint)
    return value


def need_tensor(student: Any, name: str, hint: str) -> torch.Tensor:
    """The notebook's tensor ``name``, as floats."""
    value = need(student, name, hint)
    expect(isinstance(value, torch.Tensor), "`{name}` should be a torch tensor.", name=name)
    return value.float()


def attr(value: Any, name: str, default: Any = None) -> Any:
    """``getattr(value, name, default)``, asked of the student when ``value`` is theirs."""
    if isinstance(value, Ref):
        return ask(name, value.attr, name, default)
    return getattr(value, name, default)


def as_tensor(value: Any) -> torch.Tensor | None:
    """``value`` (a tensor, an array or numbers) as a tensor; None if it is none of these."""
    if value is None or isinstance(value, Ref):
        return None
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def is_module(value: Any) -> bool:
    """Whether ``value`` refers to a torch module (an ``nn.Module``)."""
    return isinstance(value, Ref) and value.is_module


def failure(what: str, error: StudentError) -> CheckFailed:
    """The verdict on the student's code raising ``error`` while doing ``what``."""
    if error.unfinished:
        return CheckFailed(NOT_FINISHED, what=what)
    detail = f": {error.detail}" if error.detail else "."
    return CheckFailed(
        "Calling {what} raised {kind}{detail}", what=what, kind=error.kind, detail=detail
    )


def ask(what: str, question: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``question(...)`` (a question to the student); their code's error becomes a verdict."""
    try:
        return question(*args, **kwargs)
    except StudentError as error:
        raise failure(what, error) from None


def call(what: str, function: Ref, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``function``; an error it raises becomes a message naming ``what``."""
    result = ask(what, function.call, *args, **kwargs)
    if result is None and function.unfinished():
        raise CheckFailed(NOT_FINISHED, what=what)
    return result


def run(what: str, function: Ref, *args: Any, **kwargs: Any) -> Run:
    """Like ``call``, keeping what the call printed (``spy=(...)``: count those globals' calls)."""
    result = ask(what, function.run, *args, **kwargs)
    if result.value is None and function.unfinished():
        raise CheckFailed(NOT_FINISHED, what=what)
    return result


def pair(output: Any, what: str, names: str) -> tuple[torch.Tensor, ...]:
    """``output`` as the tuple ``names`` (e.g. ``"reconstruction, latent"``) it should be."""
    count = len(names.split(", "))
    expect(
        isinstance(output, (tuple, list)) and len(output) == count,
        "{what} should return the tuple ({names}).",
        what=what,
        names=names,
    )
    return tuple(output)


def first_batch(loader: Any, name: str) -> tuple[Any, Any]:
    """The first ``(images, labels)`` batch of the student's loader called ``name``."""
    first = ask(name, loader.first) if isinstance(loader, Ref) else next(iter(loader), None)
    expect(
        isinstance(first, (tuple, list)) and len(first) == 2,
        "{name} should give (images, labels) batches.",
        name=name,
    )
    return first[0], first[1]


def reseed(student: Any) -> None:
    """Seed the student's random numbers from the check's own (fresh for each notebook graded)."""
    student.seed(int(torch.randint(0, 2**31 - 1, ())))


class MNIST:
    """One split of the grader's own MNIST: images as bytes, labels, and where each image is."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels  # uint8 [N, 28, 28], int64 [N]
        self.where: dict[bytes, list[int]] = {}
        for index, image in enumerate(images.numpy()):
            self.where.setdefault(image.tobytes(), []).append(index)

    def find(self, image: Any) -> list[int]:
        """Where ``image`` (a [1, 28, 28] tensor as ``ToTensor`` gives) is in this split."""
        if not isinstance(image, torch.Tensor) or image.numel() != 784:
            return []
        scaled = image.reshape(28, 28).double() * 255
        if not torch.allclose(scaled, scaled.round(), atol=1e-3):
            return []
        return self.where.get(scaled.round().clamp(0, 255).to(torch.uint8).numpy().tobytes(), [])


_MNIST: dict[tuple[str, bool], MNIST] = {}


def mnist(student: Any, train: bool) -> MNIST | None:
    """The grader's own MNIST split, where the checks run beside it (not in a student's Jupyter)."""
    root = getattr(student, "data_root", None)
    if root is None:
        return None
    if (root, train) not in _MNIST:
        from torchvision import datasets

        split = datasets.MNIST(root=root, train=train, download=False)
        _MNIST[root, train] = MNIST(split.data, split.targets)
    return _MNIST[root, train]


def rebuilt(student: Any, module: Ref, what: str, x: torch.Tensor) -> nn.Module | None:
    """``module`` made again here from its layers and weights (None: not torch's own layers).

    A failure if what the module computes (in eval mode, on ``x``) is not what its layers
    compute. Then what it computes is known here, whatever its process answers.
    """
    model = rebuild(ask(what, module.structure))
    if model is None:
        return None
    # By position: a Sequential of named layers (an OrderedDict) has its own keys.
    state, keys = ask(what, module.state), list(model.state_dict())
    try:
        model.load_state_dict(dict(zip(keys, state.values(), strict=True)))
    except (RuntimeError, TypeError, KeyError, ValueError, AttributeError):
        return None
    model.eval()
    with torch.no_grad():
        expected = model(x)
    answered = ask(what, student.double, evaluate, module, x)
    expect(
        isinstance(answered, torch.Tensor)
        and answered.shape == expected.shape
        and torch.allclose(answered.float(), expected, atol=1e-4, rtol=1e-4),
        "{what} should compute what its layers compute (torch's own, in eval mode).",
        what=what,
    )
    return model
