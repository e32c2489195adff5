"""Problem 3 (and Problem 9, whose train_vae "works exactly like train_autoencoder").

Training with early stopping: the loop is run on scripted models (their validation losses
are the check's, moved and stretched afresh for each notebook), on small real data (the
grader's own MNIST where it is at hand), and on tiny models whose Adam steps the check
recomputes itself. Where the check reads a model's weights back, it judges them with its
own copy of the model, not with answers from the notebook's process.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from aelab.student_side.objects import Ref, observe

from .common import LR, PROBLEM_1, CheckFailed, ask, attr, expect, is_module, mnist, need, run
from .doubles import (
    Gray,
    ImprovingOnValidation,
    ScriptedModel,
    SmallAutoEncoder,
    TinyAutoEncoder,
    TinyVAE,
    constant_loader,
    first_items,
    loader,
    loss_gradients,
    subset_loader,
    tensor_loader,
)

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "training_runs_and_reports": ("train_autoencoder", "train_dataset", "val_dataset"),
    "early_stopping": ("train_autoencoder", "train_vae"),
    "best_weights": ("train_autoencoder", "train_vae"),
    "validates_in_eval_mode": ("train_autoencoder", "train_vae"),
    "autoencoder_learns_on_mnist": ("train_autoencoder",),
    "prints_the_validation_error": ("train_autoencoder",),
    "adam_steps": ("train_autoencoder", "train_vae", "vae_loss"),
}

TRAINERS = {"autoencoder": "train_autoencoder", "vae": "train_vae"}
TRAINER_PARAMETERS = (
    "train_loader",
    "val_loader",
    "model",
    "num_epochs",
    "early_stopping_patience",
)


def trainer(student: Any, kind: str) -> tuple[Ref, str]:
    """The student's training function for ``kind`` ("autoencoder" or "vae"), and its name."""
    name = TRAINERS[kind]
    function = need(student, name, "run its cell first.")
    parameters = ask(name, function.parameters)
    for parameter in TRAINER_PARAMETERS:
        expect(
            parameter in parameters,
            "{name} should keep its parameter {parameter}.",
            name=name,
            parameter=parameter,
        )
    return function, name


def train(function: Ref, name: str, model: Any, *loaders: Any, **options: Any):
    """Train ``model`` with the student's function.

    Returns the model it returned, the lines it printed, and how often it called the names
    in ``spy``.
    """
    done = run(name, function, *loaders, model=model, **options)
    expect(
        is_module(done.value),
        "{name} should return the trained model (an nn.Module).",
        name=name,
    )
    return done.value, [line for line in done.printed.splitlines() if line.strip()], done.calls


def scripted(losses: list[float]) -> list[float]:
    """``losses`` moved and stretched at random, afresh for each notebook graded.

    Every comparison between them, and so where early stopping stops, stays the same.
    """
    scale = float(torch.empty(()).uniform_(0.5, 2.0))
    shift = float(torch.empty(()).uniform_(0.0, 0.05))
    return [round(scale * loss + shift, 5) for loss in losses]


def _run_script(student: Any, kind: str, losses: list[float], num_epochs: int, patience: int):
    function, name = trainer(student, kind)
    model = student.double(ScriptedModel, losses, 2 if kind == "autoencoder" else 3)
    returned, lines, _ = train(
        function,
        name,
        model,
        student.double(constant_loader, 0.25),
        student.double(constant_loader, 0.75),
        num_epochs=num_epochs,
        early_stopping_patience=patience,
    )
    expect(
        returned is model or returned.state().keys() == model.state().keys(),
        "{name} should train and return the `model` it is given, not a model of its own.",
        name=name,
    )
    return model, returned, len(attr(model, "weights_at_validation")), lines


def training_runs_and_reports(env: Any) -> None:
    """Two epochs on a few real images: a model comes back and each epoch prints a line."""
    student = observe(env)
    function, name = trainer(student, "autoencoder")
    model = student.double(SmallAutoEncoder)  # not the student's: a slip in Problem 2 costs there
    train_set = need(student, "train_dataset", PROBLEM_1)
    val_set = need(student, "val_dataset", PROBLEM_1)
    loaders = (
        student.double(subset_loader, train_set, 256, 64),
        student.double(subset_loader, val_set, 128, 64),
    )
    _, lines, _ = train(function, name, model, *loaders, num_epochs=2)
    expect(
        len(lines) >= 2,
        "Print one line per epoch (epoch, validation loss, patience counter): 2 epochs printed "
        "{count} lines.",
        count=len(lines),
    )


EARLY_STOPPING_CASES = (
    # losses, num_epochs, patience, epochs expected, what a wrong count means
    (
        [0.06, 0.05, 0.04, 0.03, 0.02, 0.01],
        3,
        5,
        3,
        "{name}(..., num_epochs=3) should train 3 epochs while the validation loss improves; it "
        "trained {epochs}. Loop over range(num_epochs).",
    ),
    (
        [0.05, 0.04, 0.03, 0.035, 0.036, 0.037, 0.038, 0.039, 0.02, 0.01, 0.005, 0.004],
        12,
        5,
        8,
        "With validation losses {losses} and early_stopping_patience=5, training should stop "
        "after epoch 8 (5 epochs in a row without improvement after the best, epoch 3); {name} "
        "trained {epochs} epochs.",
    ),
    (
        [0.03, 0.02, 0.025, 0.026, 0.01, 0.005],
        6,
        2,
        4,
        "early_stopping_patience=2 should stop 2 epochs after the best one (expected 4 epochs; "
        "{name} trained {epochs}).",
    ),
    (
        [0.06, 0.05, 0.04, 0.03, 0.02, 0.01],
        6,
        1,
        6,
        "While the validation loss keeps improving, train for all num_epochs (expected 6; "
        "{name} trained {epochs}).",
    ),
    (
        [0.05, 0.06, 0.04, 0.07, 0.03, 0.08, 0.02, 0.09],
        8,
        2,
        8,
        "Reset the patience counter to 0 whenever the validation loss improves: with losses "
        "{losses} and early_stopping_patience=2, no two epochs in a row fail to improve, so all "
        "8 should run ({name} trained {epochs}).",
    ),
    (
        [0.03, 0.04, 0.035, 0.036, 0.032, 0.031],
        6,
        3,
        4,
        "An epoch improves only if its validation loss is below the best one so far, not merely "
        "below the previous epoch's: with losses {losses} and early_stopping_patience=3, stop "
        "after epoch 4 ({name} trained {epochs}).",
    ),
    (
        [0.04, 0.03, 0.03, 0.03, 0.03, 0.02],
        6,
        3,
        5,
        "An epoch improves only if its validation loss is strictly lower than the best so far "
        "(an equal loss is no improvement): with losses {losses} and early_stopping_patience=3, "
        "stop after epoch 5 ({name} trained {epochs}).",
    ),
)


def early_stopping(env: Any, kind: str) -> None:
    """Stops exactly ``patience`` non-improving epochs after the best, and prints every epoch."""
    student = observe(env)
    name = TRAINERS[kind]
    for index, (base, num_epochs, patience, expected, message) in enumerate(EARLY_STOPPING_CASES):
        losses = scripted(base)
        _, _, epochs, lines = _run_script(student, kind, losses, num_epochs, patience)
        expect(epochs == expected, message, name=name, epochs=epochs, losses=losses[:9])
        if index == 1:
            expect(
                len(lines) >= expected,
                "Print one line per epoch, including the epoch on which training stops: "
                "{name} printed {count} lines in 8 epochs.",
                name=name,
                count=len(lines),
            )


def best_weights(env: Any, kind: str) -> None:
    """The returned model has the weights it had after its best epoch."""
    losses = scripted([0.05, 0.04, 0.03, 0.035, 0.036, 0.037, 0.038, 0.039, 0.02])
    model, returned, epochs, _ = _run_script(observe(env), kind, losses, 9, 5)
    expect(epochs == 8, "{name} should stop after epoch 8 here.", name=TRAINERS[kind])
    weight = returned.state()["weight"].item()
    expect(
        abs(weight - attr(model, "weights_at_validation")[2]) < 1e-9,
        "Return the model with the weights it had after its best epoch (the lowest validation "
        "loss), not the weights of the last epoch: save copy.deepcopy(model.state_dict()) when "
        "the loss improves and load it back before returning.",
    )


def validates_in_eval_mode(env: Any, kind: str) -> None:
    """Training passes run in model.train() mode, validation in model.eval() without gradients."""
    name = TRAINERS[kind]
    model, _, _, _ = _run_script(observe(env), kind, scripted([0.05, 0.04, 0.045]), 3, 5)
    modes = attr(model, "modes") or []
    validation = [m for m in modes if m[0]]
    expect(validation, "{name} should compute a validation loss each epoch.", name=name)
    for flag, template in (
        (1, "{name} should compute the validation loss in model.eval() mode: {count} of {total} "
            "validation passes ran in training mode."),
        (2, "{name} should compute the validation loss under torch.no_grad(): {count} of {total} "
            "validation passes tracked gradients."),
    ):  # fmt: skip
        count = sum(bool(mode[flag]) for mode in validation)
        expect(count == 0, template, name=name, count=count, total=len(validation))
    expect(
        all(training for validating, training, _ in modes if not validating),
        "{name} should train in model.train() mode: call model.train() at the start of each "
        "epoch (the validation pass of the epoch before left the model in eval mode).",
        name=name,
    )


def mnist_loaders(student: Any) -> tuple[Ref, Ref, torch.Tensor]:
    """Loaders of 2,048 training and 1,024 validation images, and those (flattened) here.

    The grader's own MNIST images, drawn afresh for each notebook, where it is at hand (a slip
    in Problem 1 then costs points there only); else the first images of the student's split.
    Enough: two epochs on them cut a correct model's loss to about 0.30 of where it began
    (the checks ask for 0.7 and 0.8), the same for the solution and two independently
    written notebooks over 30 seeds; every known mistake costs what it did with 4,096.
    """
    reference = mnist(student, True)
    if reference is not None:
        chosen = torch.randperm(len(reference.images))[:3072]
        images = reference.images[chosen].unsqueeze(1).float() / 255
        labels = reference.labels[chosen]
        train = student.double(tensor_loader, images[:2048], labels[:2048], 64, True)
        val = student.double(tensor_loader, images[2048:], labels[2048:], 512)
        return train, val, images[2048:].reshape(-1, 784)
    train_set = student.double(first_items, need(student, "train_dataset", PROBLEM_1), 2048)
    val_set = student.double(first_items, need(student, "val_dataset", PROBLEM_1), 1024)
    x = attr(val_set, "tensors")[0].reshape(-1, 784)
    return student.double(loader, train_set, 64, True), student.double(loader, val_set, 512), x


def trained_here(
    student: Any, kind: str, double: type[nn.Module], *loaders: Ref, **options: Any
) -> tuple[nn.Module, nn.Module, Any]:
    """Train a ``double`` (weights drawn here) with the student's function for ``kind``.

    Returns the model as it started and as training left it, both made here from their
    weights (the weights of the model the function returned, or else of the one it was
    given), and what the training run reported.
    """
    function, name = trainer(student, kind)
    start = double()
    model = student.double(double)
    model.load(start.state_dict())
    returned, lines, calls = train(function, name, model, *loaders, **options)
    state = returned.state()
    after = double()
    after.load_state_dict(state if state.keys() == start.state_dict().keys() else model.state())
    return start, after, (lines, calls)


def autoencoder_learns_on_mnist(env: Any) -> None:
    """Two epochs on 2,048 real images cut a small model's validation error well down.

    The model is a double whose weights the check chose and reads back: the errors before
    and after are computed here, on the validation images.
    """
    student = observe(env)
    train_loader, val_loader, x = mnist_loaders(student)

    def error(model: nn.Module) -> float:
        with torch.no_grad():
            return torch.mean((model(x)[0] - x) ** 2).item()

    start, after, _ = trained_here(
        student, "autoencoder", SmallAutoEncoder, train_loader, val_loader, num_epochs=2
    )
    before, after = error(start), error(after)
    expect(
        after < 0.7 * before,
        "Two epochs on 2,048 MNIST images should cut the validation error well down (it went "
        "from {before:.4f} to {after:.4f}): check the loss, zero_grad/backward/step and the "
        "learning rate.",
        before=before,
        after=after,
    )


def prints_the_validation_error(env: Any) -> None:
    """Each epoch's line shows the mean squared error over the validation loader.

    The error is chosen afresh for each notebook (a model that always answers plain gray,
    validation images of a gray the check picks), with two decimals, so that any printing
    of it is found; a line of more than six numbers says nothing.
    """
    student = observe(env)
    function, name = trainer(student, "autoencoder")
    expected = [0.03, 0.04, 0.05, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12][int(torch.randint(0, 9, ()))]
    light = 0.5 + (2 * expected) ** 0.5  # half the images this light, half plain gray
    images = torch.cat([torch.full((4, 1, 28, 28), light), torch.full((4, 1, 28, 28), 0.5)])
    val = student.double(tensor_loader, images, torch.zeros(8), 4)
    _, lines, _ = train(
        function,
        name,
        student.double(Gray),
        student.double(constant_loader, 0.25),
        val,
        num_epochs=3,
        early_stopping_patience=5,
    )
    shown = showing(lines, expected, 5e-4)
    expect(
        shown >= 3,
        "Each epoch's line should show the validation loss, the mean squared error over "
        "val_loader ({expected:.4f} for this check's model and data); {count} of 3 epochs "
        "showed it. Print the validation loss (not the training loss) and compute it with "
        "nn.MSELoss().",
        expected=expected,
        count=shown,
    )


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def showing(lines: list[str], expected: float, tolerance: float) -> int:
    """How many of ``lines`` show ``expected`` (a line of more than six numbers shows nothing)."""
    shown = 0
    for line in lines:
        numbers = [float(n) for n in NUMBER.findall(line)]
        shown += len(numbers) <= 6 and any(abs(n - expected) < tolerance for n in numbers)
    return shown


Gradients = Callable[[nn.Module, torch.Tensor], None]


def _loss_gradients(student: Any, kind: str) -> Gradients:
    """How the problem's loss of one flattened batch puts gradients on a model here.

    Problem 9's loss is the student's own ``vae_loss`` (divided by the batch size): it runs
    where their code does, and sends back its gradients with respect to the model's outputs.
    """
    if kind == "autoencoder":
        return lambda model, batch: nn.functional.mse_loss(model(batch)[0], batch).backward()
    vae_loss = need(student, "vae_loss", "run Problem 9's cell first.")

    def backward(model: nn.Module, batch: torch.Tensor) -> None:
        reconstruction, mu, logvar = model(batch)
        outputs = [reconstruction, mu, logvar]
        answer = ask(
            "vae_loss", student.double, loss_gradients, vae_loss,
            reconstruction.detach(), batch, mu.detach(), logvar.detach(),
        )  # fmt: skip
        torch.autograd.backward(
            outputs,
            [_gradient(g, out) / len(batch) for g, out in zip(answer[1:], outputs, strict=True)],
        )

    return backward


def _gradient(answer: Any, output: torch.Tensor) -> torch.Tensor:
    """A gradient sent back for ``output`` (none: the loss does not depend on it)."""
    if answer is None:
        return torch.zeros_like(output)
    return torch.as_tensor(answer, dtype=output.dtype).reshape(output.shape)


def _reference_training(model, data, epochs, gradients, zero_grad=True, fresh_each_epoch=False):
    """What Adam (lr 0.001) does to ``model`` over ``epochs`` passes of the batches ``data``."""
    optimizer = None
    for _ in range(epochs):
        if optimizer is None or fresh_each_epoch:
            optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        for batch in data:
            if zero_grad:
                optimizer.zero_grad()
            gradients(model, batch)
            optimizer.step()
    return model


def _gap(trained: dict[str, torch.Tensor], reference: nn.Module) -> float:
    expected = reference.state_dict()
    return max((trained[key] - value).abs().max().item() for key, value in expected.items())


def adam_steps(env: Any, kind: str) -> None:
    """One Adam step (lr 0.001) per batch, gradients reset, one optimiser for the whole run.

    Adam's steps do not depend on the loss's scale (its gradients stay far above Adam's eps
    here), so a loss written as a constant times the problem's trains the same and passes.
    The tiny model starts from weights the check chose; after the student's loop trains it
    (in their process), its weights are compared with the steps recomputed here.
    """
    student = observe(env)
    function, name = trainer(student, kind)
    tiny, outputs = (TinyAutoEncoder, 2) if kind == "autoencoder" else (TinyVAE, 3)
    gradients = _loss_gradients(student, kind)

    def trained(start: nn.Module, images: torch.Tensor, epochs: int) -> dict[str, torch.Tensor]:
        model = student.double(tiny)
        model.load(start.state_dict())
        loader = student.double(tensor_loader, images, torch.zeros(len(images)), 8)
        wrapped = student.double(ImprovingOnValidation, model, outputs)
        validation = student.double(constant_loader, 1.0, 8, 8)
        returned, _, _ = train(function, name, wrapped, loader, validation, num_epochs=epochs)
        state = returned.state()  # the wrapper's (or a copy's): the tiny model under "model."
        found = {key: state.get(f"model.{key}", state.get(key)) for key in start.state_dict()}
        expect(
            all(isinstance(v, torch.Tensor) for v in found.values()),
            "{name} should train and return the `model` it is given, not a model of its own.",
            name=name,
        )
        return found

    def bright(count: int) -> torch.Tensor:  # images the tiny models' gradients are large on
        return 0.7 + 0.3 * torch.rand(count, 1, 28, 28)

    # One batch: Adam's first step moves every weight by the learning rate.
    start = tiny()
    after = trained(start, bright(8), 1)
    steps = torch.cat([(after[k] - v).abs().flatten() for k, v in start.state_dict().items()])
    low, high = steps.quantile(0.1).item(), steps.quantile(0.9).item()
    expect(
        low > 0.0009 and high < 0.0011,
        "After one training step most weights moved by between {low:.2g} and {high:.2g}; Adam "
        "with learning rate 0.001 moves every weight by about 0.001 on its first step. Check "
        "the optimiser and its learning rate.",
        low=low,
        high=high,
    )

    # Two epochs of two batches: four Adam steps with one optimiser, gradients reset each time.
    start = tiny()
    images = bright(16)
    after = trained(start, images, 2)
    data = list(images.view(2, 8, 784))
    reference = _reference_training(copy.deepcopy(start), data, 2, gradients)
    expect(
        _gap(start.state_dict(), reference) > 1e-6,
        "{name}'s steps cannot be checked: its loss gives the model no gradient to learn from "
        "(compute vae_loss from reconstruction, mu and logvar with torch operations).",
        name=name,
    )
    gap = _gap(after, reference)
    if gap < 1e-5:
        return
    for message, options in (
        (
            "{name} creates a new optimiser every epoch, which resets Adam's running averages: "
            "create it once, before the epoch loop.",
            {"fresh_each_epoch": True},
        ),
        (
            "{name} never resets the gradients, so they pile up from batch to batch: call "
            "optimizer.zero_grad() before every backward().",
            {"zero_grad": False},
        ),
    ):
        alternative = _reference_training(copy.deepcopy(start), data, 2, gradients, **options)
        expect(_gap(after, alternative) >= 1e-5, message, name=name)
    problem_loss = (
        "mean squared error" if kind == "autoencoder" else "vae_loss divided by the batch size"
    )
    raise CheckFailed(
        "After two epochs of two batches the weights should be those of four Adam steps, one per "
        "batch, each on that batch's loss ({loss}), with the gradients reset before each step "
        "and one optimiser for the whole run; {name}'s differ from them by up to {gap:.2g}.",
        loss=problem_loss,
        name=name,
        gap=gap,
    )
