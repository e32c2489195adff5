"""The checks of the Autoencoders with MNIST lab: the logic of every public and hidden test.

Each test cell of the master notebook calls one function here with the notebook's variables
(``env``). A check that finds a mistake raises :class:`CheckFailed` with a message in the
student's terms; an error raised by the student's own code becomes such a message too.

Messages are ``str.format`` templates written as literals here, filled with the values the
check measured: the grader trusts a hidden test's message only when its template is one of
these literals, and shows a value only when it is a number or a literal of this file, so a
submission cannot put text of its own (or of a hidden test) into its feedback.

The autograder ships this file. The student notebook gets only the public checks, which
``aelab build`` copies into its test cells; hidden checks never reach students.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset

Env = Mapping[str, Any]

LR = 0.001  # Adam's learning rate in Problems 3 and 9
PROBLEM_1 = "run Problem 1's cell first (it makes the datasets and their loaders)."
TRAINED_AE = "finish Problems 2 and 3, then run the cell that trains `trained_autoencoder`."
TRAINED_VAE = "finish Problems 8 and 9, then run the cell that trains `trained_vae`."


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


def need(env: Env, name: str, hint: str) -> Any:
    """The notebook's variable ``name``; a failure saying what to do when it is missing."""
    value = env.get(name)
    if value is None or value is Ellipsis:
        raise CheckFailed("`{name}` is not defined yet: {hint}", name=name, hint=hint)
    return value


NOT_FINISHED = "{what} is not finished yet: replace the `...` in it with your code."


def call(what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``function``; an error it raises becomes a message naming ``what``."""
    try:
        result = function(*args, **kwargs)
    except CheckFailed:
        raise
    except Exception as error:
        if unfinished(function):
            raise CheckFailed(NOT_FINISHED, what=what) from None
        detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise CheckFailed(
            "Calling {what} raised {kind}: {detail}",
            what=what,
            kind=type(error).__name__,
            detail=detail,
        ) from None
    if result is None and unfinished(function):
        raise CheckFailed(NOT_FINISHED, what=what)
    return result


def unfinished(obj: Any) -> bool:
    """Whether the student's function, method or class still holds otter's ``...`` placeholder.

    Only used to explain a failure: working code that kept a stray ``...`` still passes.
    """
    if isinstance(obj, nn.Module):
        obj = type(obj).forward
    elif inspect.isclass(obj):
        obj = obj.__init__
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return re.search(r"^\s*\.\.\.\s*$", source, re.MULTILINE) is not None


def first_batch(loader: DataLoader, name: str) -> tuple[Any, Any]:
    """The first ``(images, labels)`` batch of the student's loader called ``name``."""
    first = call(name, lambda: next(iter(loader)))
    expect(
        isinstance(first, (tuple, list)) and len(first) == 2,
        "{name} should give (images, labels) batches.",
        name=name,
    )
    return first[0], first[1]


def constant_loader(value: float, count: int = 4, batch_size: int = 4) -> DataLoader:
    """A loader of ``count`` images whose every pixel is ``value``."""
    images = torch.full((count, 1, 28, 28), value)
    return DataLoader(TensorDataset(images, torch.zeros(count)), batch_size=batch_size)


class ScriptedModel(nn.Module):
    """A model whose validation loss follows ``losses``; training steps move its one weight.

    Validation batches are images of 0.75 (training batches 0.25): each validation pass gets
    the next scripted mean squared error, and records the weight it saw. ``outputs`` is 2 for
    an autoencoder ``(reconstruction, latent)``, 3 for a VAE ``(reconstruction, mu, logvar)``
    with ``mu = logvar = 0`` (no KL term), so ``vae_loss / 784`` is the scripted error too.
    """

    def __init__(self, losses: list[float], outputs: int = 2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.losses, self.outputs = losses, outputs
        self.weights_at_validation: list[float] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros(len(x), 2) + 0 * self.weight
        if float(x.mean()) > 0.5:
            epoch = min(len(self.weights_at_validation), len(self.losses) - 1)
            self.weights_at_validation.append(self.weight.item())
            out = x - self.losses[epoch] ** 0.5 + 0 * self.weight
        else:
            out = torch.sigmoid(self.weight).expand_as(x) + 0 * x
        return (out, zeros) if self.outputs == 2 else (out, zeros, zeros)


# ---------------------------------------------------------------- Problem 1: data setup


def dataset_sizes(env: Env) -> None:
    """The three datasets hold 48,000, 12,000 and 10,000 images."""
    expected = {"train_dataset": 48000, "val_dataset": 12000, "test_dataset": 10000}
    for name, size in expected.items():
        dataset = need(env, name, PROBLEM_1)
        count = call("len", len, dataset)
        expect(
            count == size,
            "{name} should hold {size} images (the split is 80% / 20% of the 60,000 training "
            "images; the test set has 10,000), not {count}.",
            name=name,
            size=size,
            count=count,
        )


def loader_batch_sizes(env: Env) -> None:
    """Each loader serves batches of 512."""
    for name in ("train_loader", "val_loader", "test_loader"):
        loader = need(env, name, PROBLEM_1)
        size = getattr(loader, "batch_size", None)
        expect(size == 512, "{name} should use batch_size=512, not {size}.", name=name, size=size)


def split_is_a_random_partition(env: Env) -> None:
    """Training and validation sets split the MNIST training set at random, without overlap."""
    train, val = need(env, "train_dataset", PROBLEM_1), need(env, "val_dataset", PROBLEM_1)
    expect(
        hasattr(train, "indices") and hasattr(val, "indices"),
        "Make train_dataset and val_dataset with random_split on the full MNIST training set.",
    )
    expect(
        getattr(train, "dataset", None) is getattr(val, "dataset", None),
        "Split one dataset: train_dataset and val_dataset should both come from the same MNIST "
        "training set.",
    )
    expect(
        getattr(train.dataset, "train", True),
        "Split the MNIST *training* set (train=True), not the test set.",
    )
    train_idx, val_idx = set(map(int, train.indices)), set(map(int, val.indices))
    both = len(train_idx & val_idx)
    expect(
        both == 0,
        "{both} images are in both the training and the validation set: they must not overlap.",
        both=both,
    )
    expect(
        len(train_idx | val_idx) == 60000,
        "Together, the training and validation sets should cover all 60,000 training images.",
    )
    expect(
        sorted(train_idx)[:200] != list(range(200)),
        "The split should be random (random_split), not the first 48,000 images.",
    )


def loaders_serve_their_datasets(env: Env) -> None:
    """Each loader serves its own dataset as [512, 1, 28, 28] float images in [0, 1]."""
    for loader_name, dataset_name in (
        ("train_loader", "train_dataset"),
        ("val_loader", "val_dataset"),
        ("test_loader", "test_dataset"),
    ):
        loader = need(env, loader_name, PROBLEM_1)
        expect(
            getattr(loader, "dataset", None) is need(env, dataset_name, PROBLEM_1),
            "{loader} should load {dataset}.",
            loader=loader_name,
            dataset=dataset_name,
        )
        images, _ = first_batch(loader, loader_name)
        expect(
            isinstance(images, torch.Tensor) and tuple(images.shape) == (512, 1, 28, 28),
            "A batch of {loader} should be a tensor of shape [512, 1, 28, 28]: give "
            "transform=transforms.ToTensor() to each MNIST dataset.",
            loader=loader_name,
        )
        expect(
            images.dtype == torch.float32 and images.min() >= 0 and images.max() <= 1,
            "Pixel values from {loader} should be floats in [0, 1] (transforms.ToTensor() "
            "scales them; do not normalise them further).",
            loader=loader_name,
        )
    expect(
        not getattr(need(env, "test_dataset", PROBLEM_1), "train", False),
        "test_dataset should be the MNIST test set (train=False).",
    )


def loader_order(env: Env) -> None:
    """The training loader shuffles; validation and test loaders keep a fixed order."""
    train = need(env, "train_loader", PROBLEM_1)
    first, second = first_batch(train, "train_loader")[1], first_batch(train, "train_loader")[1]
    expect(
        not torch.equal(first, second),
        "train_loader should shuffle (shuffle=True): two passes over it gave the batches in the "
        "same order.",
    )
    for name in ("val_loader", "test_loader"):
        loader = need(env, name, PROBLEM_1)
        expect(
            torch.equal(first_batch(loader, name)[1], first_batch(loader, name)[1]),
            "Keep {name} in a fixed order (shuffle=False).",
            name=name,
        )


# ---------------------------------------------------------------- Problem 2: an autoencoder


def _autoencoder(env: Env, latent_dim: int) -> nn.Module:
    AutoEncoder = need(env, "AutoEncoder", "run Problem 2's cell first.")  # noqa: N806
    model = call("AutoEncoder", AutoEncoder, latent_dim)
    for part in ("encoder", "decoder"):
        expect(
            isinstance(getattr(model, part, None), nn.Module),
            "AutoEncoder needs self.{part} (an nn.Sequential) in __init__.",
            part=part,
        )
    return model


def _pair(output: Any, what: str, names: str) -> tuple[torch.Tensor, ...]:
    count = len(names.split(", "))
    expect(
        isinstance(output, (tuple, list)) and len(output) == count,
        "{what} should return the tuple ({names}).",
        what=what,
        names=names,
    )
    return tuple(output)


def autoencoder_shapes(env: Env) -> None:
    """Forward gives a (10, 784) reconstruction and a (10, 2) latent code."""
    model = _autoencoder(env, 2)
    output = call("the AutoEncoder's forward", model, torch.rand(10, 784))
    reconstruction, latent = _pair(output, "forward", "reconstruction, latent")
    expect(
        tuple(reconstruction.shape) == (10, 784),
        "The reconstruction should have shape (10, 784), not {shape}.",
        shape=tuple(reconstruction.shape),
    )
    expect(
        tuple(latent.shape) == (10, 2),
        "The latent code should have shape (10, 2), not {shape}.",
        shape=tuple(latent.shape),
    )


def every_layer_learns(model: nn.Module, x: torch.Tensor) -> None:
    """Each parameter tensor of ``model`` gets a gradient from the reconstruction error."""
    model.zero_grad()
    ((model(x)[0] - x) ** 2).sum().backward()
    tensors = list(model.parameters())
    missing = sum(p.grad is None or not bool(p.grad.abs().sum() > 0) for p in tensors)
    expect(
        missing == 0,
        "Every layer should learn from the reconstruction error, but {missing} of the model's "
        "{total} weight tensors got no gradient from it: is part of forward detached "
        "(.detach(), torch.no_grad()) or a layer left unused?",
        missing=missing,
        total=len(tensors),
    )


def autoencoder_forward(env: Env) -> None:
    """Forward returns (decoder(encoder(x)), encoder(x)), and every weight gets a gradient."""
    torch.manual_seed(0)
    model = _autoencoder(env, 7)
    x = torch.rand(16, 784)
    first, second = _pair(call("forward", model, x), "forward", "reconstruction, latent")
    expect(
        tuple(second.shape) == (16, 7),
        "forward should return (reconstruction, latent), in that order, with a latent of size "
        "latent_dim.",
    )
    with torch.no_grad():
        latent = model.encoder(x)
        expect(
            torch.allclose(second, latent, atol=1e-6),
            "The latent returned by forward should be encoder(x).",
        )
        expect(
            torch.allclose(first, model.decoder(latent), atol=1e-6),
            "The reconstruction returned by forward should be decoder(encoder(x)).",
        )
    every_layer_learns(model, x)


def encoder_architecture(env: Env) -> None:
    """At least 3 hidden layers with ReLU, 784 inputs, a linear latent layer."""
    torch.manual_seed(0)
    model = _autoencoder(env, 2)
    linear = [m for m in model.encoder.modules() if isinstance(m, nn.Linear)]
    relus = [m for m in model.encoder.modules() if isinstance(m, nn.ReLU)]
    expect(
        len(linear) >= 4 and len(relus) >= 3,
        "The encoder should have at least 3 hidden layers with ReLU (found {linear} Linear "
        "layers, {relus} ReLUs).",
        linear=len(linear),
        relus=len(relus),
    )
    expect(
        linear[0].in_features == 784 and linear[-1].out_features == 2,
        "The encoder should go from 784 inputs to latent_dim outputs.",
    )
    with torch.no_grad():
        latent = call("model.encoder", model.encoder, 1000 * torch.rand(256, 784))
    expect(
        latent.min() < -1 and latent.max() > 1,
        "The encoder's last layer should be a Linear layer with no activation after it: latent "
        "codes must be free to take any real value, negative ones included.",
    )


def decoder_sigmoid(env: Env) -> None:
    """The decoder maps latent codes to 784 values in [0, 1]."""
    torch.manual_seed(1)
    model = _autoencoder(env, 2)
    reconstruction = call("model.decoder", model.decoder, torch.randn(64, 2) * 50)
    expect(
        tuple(reconstruction.shape) == (64, 784),
        "The decoder should map latent codes to 784 values.",
    )
    expect(
        reconstruction.min() >= 0 and reconstruction.max() <= 1,
        "The decoder's output should lie in [0, 1]: end it with a Sigmoid.",
    )


# ------------------------------------------------- Problems 3 and 9: training with early stopping

TRAINERS = {"autoencoder": "train_autoencoder", "vae": "train_vae"}
TRAINER_PARAMETERS = (
    "train_loader",
    "val_loader",
    "model",
    "num_epochs",
    "early_stopping_patience",
)


def _trainer(env: Env, kind: str) -> tuple[Callable[..., Any], str]:
    name = TRAINERS[kind]
    trainer = need(env, name, "run its cell first.")
    parameters = inspect.signature(trainer).parameters
    for parameter in TRAINER_PARAMETERS:
        expect(
            parameter in parameters,
            "{name} should keep its parameter {parameter}.",
            name=name,
            parameter=parameter,
        )
    return trainer, name


def _train(trainer: Callable[..., Any], name: str, model: nn.Module, *loaders: DataLoader, **kw):
    """Train ``model`` with the student's function; its returned model and printed lines."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = call(name, trainer, *loaders, model=model, **kw)
    expect(
        isinstance(returned, nn.Module),
        "{name} should return the trained model (an nn.Module).",
        name=name,
    )
    return returned, [line for line in printed.getvalue().splitlines() if line.strip()]


def _run_script(env: Env, kind: str, losses: list[float], num_epochs: int, patience: int):
    trainer, name = _trainer(env, kind)
    model = ScriptedModel(losses, outputs=2 if kind == "autoencoder" else 3)
    returned, lines = _train(
        trainer,
        name,
        model,
        constant_loader(0.25),
        constant_loader(0.75),
        num_epochs=num_epochs,
        early_stopping_patience=patience,
    )
    expect(
        returned is model or returned.state_dict().keys() == model.state_dict().keys(),
        "{name} should train and return the `model` it is given, not a model of its own.",
        name=name,
    )
    return model, returned, len(model.weights_at_validation), lines


def training_runs_and_reports(env: Env) -> None:
    """Two epochs on a few real images: a model comes back and each epoch prints a line."""
    trainer, name = _trainer(env, "autoencoder")
    model = SmallAutoEncoder()  # not the student's: a slip in Problem 2 costs points there only
    train = DataLoader(Subset(need(env, "train_dataset", PROBLEM_1), range(256)), batch_size=64)
    val = DataLoader(Subset(need(env, "val_dataset", PROBLEM_1), range(128)), batch_size=64)
    _, lines = _train(trainer, name, model, train, val, num_epochs=2)
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
        "With validation losses 0.05, 0.04, 0.03, 0.035, 0.036, 0.037, 0.038, 0.039, 0.02, ... "
        "and early_stopping_patience=5, training should stop after epoch 8 (5 epochs in a row "
        "without improvement after the best, epoch 3); {name} trained {epochs} epochs.",
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
        "0.05, 0.06, 0.04, 0.07, 0.03, 0.08, 0.02, 0.09 and early_stopping_patience=2, no two "
        "epochs in a row fail to improve, so all 8 should run ({name} trained {epochs}).",
    ),
    (
        [0.03, 0.04, 0.035, 0.036, 0.032, 0.031],
        6,
        3,
        4,
        "An epoch improves only if its validation loss is below the best one so far, not merely "
        "below the previous epoch's: with losses 0.03, 0.04, 0.035, 0.036, 0.032, 0.031 and "
        "early_stopping_patience=3, stop after epoch 4 ({name} trained {epochs}).",
    ),
)


def early_stopping(env: Env, kind: str) -> None:
    """Stops exactly ``patience`` non-improving epochs after the best, and prints every epoch."""
    name = TRAINERS[kind]
    for index, (losses, num_epochs, patience, expected, message) in enumerate(EARLY_STOPPING_CASES):
        _, _, epochs, lines = _run_script(env, kind, losses, num_epochs, patience)
        expect(epochs == expected, message, name=name, epochs=epochs)
        if index == 1:
            expect(
                len(lines) >= expected,
                "Print one line per epoch, including the epoch on which training stops: "
                "{name} printed {count} lines in 8 epochs.",
                name=name,
                count=len(lines),
            )


def best_weights(env: Env, kind: str) -> None:
    """The returned model has the weights it had after its best epoch."""
    losses = [0.05, 0.04, 0.03, 0.035, 0.036, 0.037, 0.038, 0.039, 0.02]
    model, returned, epochs, _ = _run_script(env, kind, losses, 9, 5)
    expect(epochs == 8, "{name} should stop after epoch 8 here.", name=TRAINERS[kind])
    weight = returned.state_dict()["weight"].item()
    expect(
        abs(weight - model.weights_at_validation[2]) < 1e-9,
        "Return the model with the weights it had after its best epoch (the lowest validation "
        "loss), not the weights of the last epoch: save copy.deepcopy(model.state_dict()) when "
        "the loss improves and load it back before returning.",
    )


_FIRST_IMAGES: dict[tuple[int, int], TensorDataset] = {}


def _first_images(dataset: Any, count: int) -> TensorDataset:
    """The first ``count`` items of the student's dataset, turned into tensors once."""
    key = (id(dataset), count)
    if key not in _FIRST_IMAGES:
        items = [dataset[i] for i in range(count)]
        images = torch.stack([torch.as_tensor(image) for image, _ in items])
        _FIRST_IMAGES[key] = TensorDataset(images, torch.as_tensor([int(y) for _, y in items]))
    return _FIRST_IMAGES[key]


def _mnist_loaders(env: Env) -> tuple[DataLoader, DataLoader]:
    """2,048 training and 1,024 validation images of the student's split.

    Enough: two epochs on them cut a correct model's loss to about 0.30 of where it began
    (the checks ask for 0.7 and 0.8), the same for the solution and two independently
    written notebooks over 30 seeds; every known mistake costs what it did with 4,096.
    """
    train = _first_images(need(env, "train_dataset", PROBLEM_1), 2048)
    val = _first_images(need(env, "val_dataset", PROBLEM_1), 1024)
    return DataLoader(train, batch_size=64, shuffle=True), DataLoader(val, batch_size=512)


def _flat_images(loader: DataLoader) -> torch.Tensor:
    return torch.cat([images.view(len(images), -1) for images, _ in loader])


class SmallAutoEncoder(nn.Module):
    """A small, correct autoencoder, so that a training check does not hang on the student's."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(x)
        return self.decoder(latent), latent


def autoencoder_learns_on_mnist(env: Env) -> None:
    """Two epochs on 2,048 real images cut a small model's validation error well down."""
    trainer, name = _trainer(env, "autoencoder")
    torch.manual_seed(0)
    model = SmallAutoEncoder()
    train, val = _mnist_loaders(env)
    x = _flat_images(val)

    def error(m: nn.Module) -> float:
        with torch.no_grad():
            return torch.mean((m(x)[0] - x) ** 2).item()

    before = error(model)
    trained, _ = _train(trainer, name, model, train, val, num_epochs=2)
    after = error(trained)
    expect(
        after < 0.7 * before,
        "Two epochs on 2,048 MNIST images should cut the validation error well down (it went "
        "from {before:.4f} to {after:.4f}): check the loss, zero_grad/backward/step and the "
        "learning rate.",
        before=before,
        after=after,
    )


def vae_learns_with_vae_loss(env: Env) -> None:
    """train_vae computes its loss with vae_loss, and two epochs lower the validation loss."""
    trainer, name = _trainer(env, "vae")
    vae_loss = need(env, "vae_loss", "run Problem 9's cell first.")
    torch.manual_seed(0)
    model = _vae(env, 2)
    train, val = _mnist_loaders(env)
    x = _flat_images(val)

    def negative_elbo(m: nn.Module) -> float:
        with torch.no_grad():
            mu, logvar = m.encode(x)
            return float(vae_loss(m.decode(mu), x, mu, logvar)) / len(x)

    calls = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return vae_loss(*args, **kwargs)

    before = negative_elbo(model)
    env_globals = getattr(trainer, "__globals__", {})
    env_globals["vae_loss"] = spy  # the name train_vae looks up when it runs
    try:
        trained, _ = _train(trainer, name, model, train, val, num_epochs=2)
    finally:
        env_globals["vae_loss"] = vae_loss
    expect(calls, "train_vae should compute its loss with vae_loss.")
    after = negative_elbo(trained)
    expect(
        after < 0.8 * before,
        "Two epochs on 2,048 MNIST images should lower the validation loss clearly (it went "
        "from {before:.1f} to {after:.1f}): check zero_grad/backward/step and the learning rate.",
        before=before,
        after=after,
    )


def prints_the_validation_error(env: Env) -> None:
    """Each epoch's line shows the mean squared error over the validation loader."""
    trainer, name = _trainer(env, "autoencoder")

    class Gray(nn.Module):
        """Reconstructs every image as plain 0.5 gray, however it is trained."""

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            zero = 0 * self.weight
            return torch.full_like(x, 0.5) + zero, torch.zeros(len(x), 2) + zero

    images = torch.cat([torch.full((4, 1, 28, 28), 0.9), torch.full((4, 1, 28, 28), 0.5)])
    val = DataLoader(TensorDataset(images, torch.zeros(8)), batch_size=4)
    _, lines = _train(
        trainer, name, Gray(), constant_loader(0.25), val, num_epochs=3, early_stopping_patience=5
    )
    number = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
    shown = [
        line for line in lines if any(abs(float(n) - 0.08) < 5e-4 for n in number.findall(line))
    ]
    expect(
        len(shown) >= 3,
        "Each epoch's line should show the validation loss, the mean squared error over "
        "val_loader (0.0800 for this check's model and data); {count} of 3 epochs showed it. "
        "Print the validation loss (not the training loss) and compute it with nn.MSELoss().",
        count=len(shown),
    )


class TinyAutoEncoder(nn.Module):
    """A one-layer autoencoder whose training is deterministic."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(784, 2)
        self.decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(x)
        return self.decoder(latent), latent


class TinyVAE(nn.Module):
    """A one-layer VAE with fixed noise (epsilon = 0.5), so that its training is deterministic."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(784, 4)
        self.decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * 0.5

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def _batch_loss(env: Env, kind: str) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    """The loss of one flattened batch as the problem defines it."""
    if kind == "autoencoder":
        return lambda model, batch: nn.functional.mse_loss(model(batch)[0], batch)
    vae_loss = need(env, "vae_loss", "run Problem 9's cell first.")

    def loss(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        reconstruction, mu, logvar = model(batch)
        return vae_loss(reconstruction, batch, mu, logvar) / len(batch)

    return loss


def _reference_training(model, data, epochs, loss, zero_grad=True, fresh_each_epoch=False):
    """What Adam (lr 0.001) does to ``model`` over ``epochs`` passes of the batches ``data``."""
    optimizer = None
    for _ in range(epochs):
        if optimizer is None or fresh_each_epoch:
            optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        for batch in data:
            if zero_grad:
                optimizer.zero_grad()
            loss(model, batch).backward()
            optimizer.step()
    return model


def _gap(a: nn.Module, b: nn.Module) -> float:
    pairs = zip(a.parameters(), b.parameters(), strict=False)
    return max((p - q).abs().max().item() for p, q in pairs)


class ImprovingOnValidation(nn.Module):
    """``model`` for training batches, and a validation loss that falls every epoch.

    Validation batches are images of 1.0. A training loop then keeps its last weights rather
    than restoring earlier ones.
    """

    def __init__(self, model: nn.Module, outputs: int) -> None:
        super().__init__()
        self.model, self.outputs, self.validations = model, outputs, 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if float(x.min()) < 0.95:
            return self.model(x)
        self.validations += 1
        zero = 0 * sum(p.sum() for p in self.model.parameters())
        out = x - (0.1 / self.validations) ** 0.5 + zero
        latent = torch.zeros(len(x), 2) + zero
        return (out, latent) if self.outputs == 2 else (out, latent, latent)


def adam_steps(env: Env, kind: str) -> None:
    """One Adam step (lr 0.001) per batch, gradients reset, one optimiser for the whole run."""
    trainer, name = _trainer(env, kind)
    tiny, outputs = (TinyAutoEncoder, 2) if kind == "autoencoder" else (TinyVAE, 3)
    loss = _batch_loss(env, kind)

    def train(model: nn.Module, images: torch.Tensor, epochs: int) -> nn.Module:
        loader = DataLoader(TensorDataset(images, torch.zeros(len(images))), batch_size=8)
        wrapped = ImprovingOnValidation(model, outputs)
        validation = constant_loader(1.0, count=8, batch_size=8)
        return _train(trainer, name, wrapped, loader, validation, num_epochs=epochs)[0]

    # One batch: Adam's first step moves every weight by the learning rate.
    torch.manual_seed(0)
    model = tiny()
    before = [p.detach().clone() for p in model.parameters()]
    trained = train(model, 0.9 * torch.rand(8, 1, 28, 28), 1)
    steps = torch.cat(
        [
            (p.detach() - b).abs().flatten()
            for p, b in zip(trained.parameters(), before, strict=True)
        ]
    )
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
    torch.manual_seed(1)
    start = tiny()
    images = 0.9 * torch.rand(16, 1, 28, 28)
    trained = train(copy.deepcopy(start), images, 2)
    data = list(images.view(2, 8, 784))
    gap = _gap(trained, _reference_training(copy.deepcopy(start), data, 2, loss))
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
        alternative = _reference_training(copy.deepcopy(start), data, 2, loss, **options)
        expect(_gap(trained, alternative) >= 1e-5, message, name=name)
    problem_loss = (
        "the mean squared error" if kind == "autoencoder" else "vae_loss divided by the batch size"
    )
    raise CheckFailed(
        "After two epochs of two batches the weights should be those of four Adam steps, one per "
        "batch, each on that batch's {loss}, with the gradients reset before each step and one "
        "optimiser for the whole run; {name}'s differ from them by up to {gap:.2g}.",
        loss=problem_loss,
        name=name,
        gap=gap,
    )


# ----------------------------------------------------- Problem 5: the latent space as a picture

PROBLEM_5 = "run Problem 5's cell first (it needs `trained_autoencoder`)."


def _tensor(env: Env, name: str, hint: str) -> torch.Tensor:
    value = need(env, name, hint)
    expect(isinstance(value, torch.Tensor), "`{name}` should be a torch tensor.", name=name)
    return value.detach().float()


def grid_shapes(env: Env) -> None:
    """latent_x and latent_y hold 25 values, the grid 625 points, the images 625 x 28 x 28."""
    for name in ("latent_x", "latent_y"):
        axis = _tensor(env, name, PROBLEM_5)
        expect(tuple(axis.shape) == (25,), "{name} should hold 25 values.", name=name)
    expect(
        tuple(_tensor(env, "latent_grid", PROBLEM_5).shape) == (625, 2),
        "latent_grid should have shape [625, 2].",
    )
    expect(
        _tensor(env, "grid_images", PROBLEM_5).numel() == 625 * 784,
        "grid_images should have shape [625, 28, 28].",
    )


def grid_spans_minus_five_to_five(env: Env) -> None:
    """Each axis holds 25 evenly spaced values from -5 to 5; the grid every pair once."""
    expected = torch.linspace(-5, 5, 25)
    for name in ("latent_x", "latent_y"):
        axis = _tensor(env, name, PROBLEM_5)
        expect(
            axis.shape == expected.shape
            and torch.allclose(torch.sort(axis).values, expected, atol=1e-5),
            "{name} should be 25 evenly spaced values from -5 to 5, both included.",
            name=name,
        )
    grid = _tensor(env, "latent_grid", PROBLEM_5)
    points = {(round(a, 4), round(b, 4)) for a, b in grid.reshape(-1, 2).tolist()}
    wanted = {(round(a, 4), round(b, 4)) for a in expected.tolist() for b in expected.tolist()}
    expect(
        points == wanted and len(grid) == 625,
        "latent_grid should hold each of the 25 x 25 combinations of the two axes exactly once.",
    )


def grid_reading_order(env: Env) -> None:
    """Row by row from z2 = 5 down to -5; within a row z1 from -5 to 5."""
    grid = _tensor(env, "latent_grid", PROBLEM_5).reshape(25, 25, 2)
    expect(
        torch.allclose(grid[0, :, 1], torch.full((25,), 5.0))
        and torch.allclose(grid[-1, :, 1], torch.full((25,), -5.0)),
        "Row by row, z2 should go from 5 (first row) down to -5 (last row); each row keeps one "
        'value of z2 (meshgrid with indexing="ij" on latent_y.flip(0) and latent_x).',
    )
    expect(
        torch.allclose(grid[0, :, 0], torch.linspace(-5, 5, 25), atol=1e-5),
        "Within a row, z1 should go from -5 to 5.",
    )


def grid_images_are_decoded_grid_points(env: Env) -> None:
    """grid_images[i] is the trained decoder's output for latent_grid[i]."""
    model = need(env, "trained_autoencoder", TRAINED_AE)
    grid = _tensor(env, "latent_grid", PROBLEM_5).reshape(625, 2)
    with torch.no_grad():
        expected = call("trained_autoencoder.decoder", model.decoder, grid).reshape(625, 28, 28)
    expect(
        torch.allclose(
            _tensor(env, "grid_images", PROBLEM_5).reshape(625, 28, 28), expected, atol=1e-5
        ),
        "grid_images[i] should be the trained decoder's output for latent_grid[i].",
    )


# ------------------------------------------------------ Problem 6: walking through latent space


def extrapolation_signature_and_shape(env: Env) -> None:
    """extrapolate_digits keeps its signature and returns 12 decoded images."""
    extrapolate = need(env, "extrapolate_digits", "run Problem 6's cell first.")
    params = list(inspect.signature(extrapolate).parameters)
    expect(
        params[:5] == ["digit1", "digit2", "dataloader", "encoder", "decoder"],
        "Keep the signature extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, "
        "num_images=12).",
    )
    model = need(env, "trained_autoencoder", TRAINED_AE)
    expect(
        isinstance(getattr(model, "encoder", None), nn.Module)
        and isinstance(getattr(model, "decoder", None), nn.Module),
        "`trained_autoencoder` has no encoder and decoder yet: {hint}",
        hint=TRAINED_AE,
    )
    loader = need(env, "test_loader", PROBLEM_1)
    images = call(
        "extrapolate_digits(1, 7, test_loader, ...)",
        extrapolate,
        1,
        7,
        loader,
        model.encoder,
        model.decoder,
    )
    expect(
        images is not None and torch.as_tensor(images).numel() == 12 * 784,
        "extrapolate_digits should return the 12 decoded images (a tensor of shape [12, 28, 28]).",
    )


class CurveEncoder(nn.Module):
    """Maps an image whose pixels are all d / 10 to the latent (d, -d**2 / 4), on a curve."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.reshape(-1, 784).mean(dim=1, keepdim=True) * 10 * self.scale
        return torch.cat([d, -(d**2) / 4], dim=1).reshape(*x.shape[:-1], 2)


class RecordingDecoder(nn.Module):
    """Records the latent codes it decodes; draws code (d, .) as an image of pixels d / 10."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.received: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.received.append(z.detach().reshape(-1, 2).clone())
        return (z[..., :1] * self.scale / 10).expand(*z.shape[:-1], 784)


def interpolation_path(env: Env) -> None:
    """Decoded codes run in equal steps from encoder(digit1) to encoder(digit2), ends included."""
    extrapolate = need(env, "extrapolate_digits", "run Problem 6's cell first.")
    # One image per digit d, every pixel d / 10: only interpolating the two *encodings* (not the
    # two images) gives a straight path, since the encoder maps the images onto a curve.
    images = torch.arange(10).float().div(10).view(10, 1, 1, 1).expand(10, 1, 28, 28).clone()
    loader = DataLoader(TensorDataset(images, torch.arange(10)), batch_size=10)
    decoder = RecordingDecoder()
    out = call(
        "extrapolate_digits(3, 8, ..., num_images=6)",
        extrapolate,
        3,
        8,
        loader,
        CurveEncoder(),
        decoder,
        num_images=6,
    )
    expect(
        decoder.received, "extrapolate_digits should decode the interpolated codes with `decoder`."
    )
    latents = torch.cat(decoder.received)
    expected = torch.stack([torch.linspace(3, 8, 6), torch.linspace(-2.25, -16, 6)], dim=1)
    expect(
        latents.shape == (6, 2),
        "Decode num_images latent codes (6 here) in one go, not {count}.",
        count=latents.shape[0],
    )
    expect(
        torch.allclose(latents[0], expected[0], atol=1e-4)
        and torch.allclose(latents[-1], expected[-1], atol=1e-4),
        "The path should start exactly at the encoding of digit1 and end exactly at the encoding "
        "of digit2 (t = torch.linspace(0, 1, num_images) includes both ends).",
    )
    expect(
        torch.allclose(latents, expected, atol=1e-4),
        "The latent codes should be equally spaced on the straight line between the two "
        "encodings: interpolate the codes z1 and z2, not the images.",
    )
    out = torch.as_tensor(out) if out is not None else torch.zeros(0)
    expect(
        out.numel() == 6 * 784
        and torch.allclose(out.reshape(6, -1)[:, 0], torch.linspace(0.3, 0.8, 6), atol=1e-4),
        "Return the decoded images, in order from digit1 to digit2.",
    )


# ------------------------------------------------------------ Problem 8: a variational autoencoder


def _vae(env: Env, latent_dim: int) -> nn.Module:
    VAE = need(env, "VAE", "run Problem 8's cell first.")  # noqa: N806
    model = call("VAE", VAE, latent_dim)
    for method in ("encode", "reparameterize", "decode"):
        expect(
            callable(getattr(model, method, None)), "VAE needs a {method} method.", method=method
        )
    return model


def vae_shapes(env: Env) -> None:
    """Forward gives a (10, 784) reconstruction and (10, 2) mu and logvar."""
    model = _vae(env, 2)
    output = call("the VAE's forward", model, torch.rand(10, 784))
    reconstruction, mu, logvar = _pair(output, "VAE's forward", "reconstruction, mu, logvar")
    expect(
        tuple(reconstruction.shape) == (10, 784),
        "The reconstruction should have shape (10, 784), not {shape}.",
        shape=tuple(reconstruction.shape),
    )
    expect(
        tuple(mu.shape) == (10, 2) and tuple(logvar.shape) == (10, 2),
        "mu and logvar should each have shape (10, latent_dim).",
    )


def reparameterize_mean_and_spread(env: Env) -> None:
    """Samples centred on mu with standard deviation exp(logvar / 2)."""
    torch.manual_seed(0)
    model = _vae(env, 2)
    n = 100_000
    mu = torch.tensor([[1.5, -2.0]]).repeat(n, 1)
    logvar = torch.tensor([[math.log(0.25), math.log(4.0)]]).repeat(n, 1)
    z = call("reparameterize(mu, logvar)", model.reparameterize, mu, logvar).detach()
    expect(tuple(z.shape) == (n, 2), "reparameterize should return one sample per row of mu.")
    std, mean = z.std(0), z.mean(0)
    expect(std.min() > 0.1, "reparameterize should add random noise (epsilon ~ N(0, I)) to mu.")
    expect(
        torch.allclose(mean, torch.tensor([1.5, -2.0]), atol=0.05),
        "The samples should be centred on mu (mu = 1.5 and -2 gave means {a:.3f} and {b:.3f}).",
        a=mean[0].item(),
        b=mean[1].item(),
    )
    variance_used = torch.allclose(std, torch.tensor([0.25, 4.0]), atol=0.1)
    expect(
        torch.allclose(std, torch.tensor([0.5, 2.0]), atol=0.05),
        "For logvar = log(0.25) and log(4) the samples' standard deviations should be 0.5 and 2, "
        "not {a:.3f} and {b:.3f}{hint}: sigma = exp(0.5 * logvar).",
        a=std[0].item(),
        b=std[1].item(),
        hint=" (you used the variance exp(logvar) as sigma)" if variance_used else "",
    )


def reparameterize_is_fresh_and_differentiable(env: Env) -> None:
    """Each call draws new noise, and the sample is differentiable in mu and logvar."""
    model = _vae(env, 2)
    mu = torch.zeros(8, 2, requires_grad=True)
    logvar = torch.zeros(8, 2, requires_grad=True)
    first = call("reparameterize(mu, logvar)", model.reparameterize, mu, logvar)
    second = model.reparameterize(mu, logvar)
    expect(
        not torch.allclose(first, torch.zeros_like(first)),
        "With mu = 0 and logvar = 0 (sigma = exp(0) = 1), reparameterize returned mu itself: "
        "add sigma * epsilon, with sigma = exp(0.5 * logvar) and epsilon = torch.randn_like(mu).",
    )
    expect(
        not torch.allclose(first, second),
        "Two calls of reparameterize gave the same sample: draw fresh noise epsilon on each call "
        "(torch.randn_like).",
    )
    expect(first.requires_grad, "The sample should be computed from mu and logvar with torch.")
    (first**2).sum().backward()
    expect(
        mu.grad is not None and logvar.grad is not None and logvar.grad.abs().sum() > 0,
        "The sample should be a differentiable function of mu and logvar (mu + sigma * epsilon).",
    )


def vae_forward(env: Env) -> None:
    """Forward decodes a reparameterised sample of encode(x); every weight gets a gradient."""
    torch.manual_seed(0)
    model = _vae(env, 3)
    x = torch.rand(32, 784)
    reconstruction, mu, logvar = _pair(
        call("the VAE's forward", model, x), "VAE's forward", "reconstruction, mu, logvar"
    )
    with torch.no_grad():
        expected_mu, expected_logvar = _pair(
            call("encode(x)", model.encode, x), "encode", "mu, logvar"
        )
    expect(
        torch.allclose(mu, expected_mu, atol=1e-6)
        and torch.allclose(logvar, expected_logvar, atol=1e-6),
        "forward should return (reconstruction, mu, logvar), with mu and logvar from encode(x).",
    )
    expect(not torch.allclose(mu, logvar), "mu and logvar should come from two separate layers.")
    expect(
        reconstruction.min() >= 0 and reconstruction.max() <= 1,
        "The decoder's output should lie in [0, 1] (Sigmoid).",
    )
    torch.manual_seed(1)
    again = model(x)[0]
    torch.manual_seed(1)
    expected = model.decode(model.reparameterize(mu, logvar))
    expect(
        torch.allclose(again, expected, atol=1e-6),
        "forward should decode a sample drawn with reparameterize(mu, logvar), not mu itself.",
    )
    every_layer_learns(model, x)


def mu_and_logvar_heads_are_linear(env: Env) -> None:
    """Mu and logvar come straight from linear layers: inputs can drive each below 0."""
    torch.manual_seed(0)
    model = _vae(env, 3).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    # Search inputs that push each output down: a linear head can go below 0; a head ending in
    # ReLU, Sigmoid, Softplus or exp cannot.
    x = torch.randn(6, 784, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=0.1)
    for _ in range(61):
        mu, logvar = _pair(call("encode(x)", model.encode, x), "encode", "mu, logvar")
        expect(
            tuple(mu.shape) == (6, 3) and tuple(logvar.shape) == (6, 3),
            "encode should return mu and logvar of size latent_dim.",
        )
        lowest = torch.cat([mu, logvar], dim=1).diagonal()  # input i pushes output i down
        optimizer.zero_grad()
        lowest.sum().backward()
        optimizer.step()
    for head, values in (("mu", lowest[:3]), ("logvar", lowest[3:])):
        expect(
            (values < 0).all(),
            "{head} should come straight from a linear layer, with no activation after it: it "
            "must be able to take negative values, but even for inputs chosen to push it down it "
            "stayed at {values}.",
            head=head,
            values=[round(v, 3) for v in values.tolist()],
        )


# ---------------------------------------------------------- Problem 9: the VAE's loss


def vae_loss_signature(env: Env) -> None:
    """vae_loss returns one number; train_vae keeps its parameters."""
    vae_loss = need(env, "vae_loss", "run Problem 9's cell first.")
    value = call(
        "vae_loss(reconstruction, x, mu, logvar)",
        vae_loss,
        torch.full((2, 784), 0.5),
        torch.zeros(2, 784),
        torch.zeros(2, 2),
        torch.zeros(2, 2),
    )
    expect(
        torch.is_tensor(value) and value.numel() == 1,
        "vae_loss should return a single number (a 0-d tensor).",
    )
    _trainer(env, "vae")


def vae_loss_value(env: Env) -> None:
    """vae_loss = summed squared error + KL(q || N(0, I)), summed over the batch."""
    from torch.distributions import Normal, kl_divergence

    vae_loss = need(env, "vae_loss", "run Problem 9's cell first.")
    torch.manual_seed(0)
    x, reconstruction = torch.rand(6, 784), torch.rand(6, 784)
    mu, logvar = torch.randn(6, 2), torch.randn(6, 2)
    q = Normal(mu, torch.exp(0.5 * logvar))
    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum().item()
    squared = ((reconstruction - x) ** 2).sum().item()
    zero = torch.zeros(6, 2)
    without_kl = float(call("vae_loss", vae_loss, reconstruction, x, zero, zero))
    expect(
        abs(without_kl - squared) < 1e-2,
        "With mu = 0 and logvar = 0 the KL term is 0, so vae_loss should equal the squared "
        "error summed over pixels and images ({expected:.2f}), not {got:.2f}.",
        expected=squared,
        got=without_kl,
    )
    got = float(vae_loss(reconstruction, x, mu, logvar))
    expect(
        abs(got - (squared + kl)) < 1e-2,
        "vae_loss should be the summed squared error plus KL(q || p) = {kl:.3f} for these "
        "inputs, but it gave a KL part of {part:.3f}: check the KL formula and its sign.",
        kl=kl,
        part=got - squared,
    )


# ------------------------------------------------- Problems 10 and 11: sampling from the prior

PROBLEM_10 = "run Problem 10's cell first (it needs `trained_vae`)."
PROBLEM_11 = "run Problem 11's cell first (it needs `trained_vae`)."


def _shape(env: Env, name: str, shape: tuple[int, ...], hint: str) -> None:
    value = _tensor(env, name, hint)
    expect(
        value.numel() == math.prod(shape) and value.shape[0] == shape[0],
        "{name} should have shape {shape}, not {got}.",
        name=name,
        shape=list(shape),
        got=list(value.shape),
    )


def prior_sample_shapes(env: Env) -> None:
    """250 latent samples and their 250 decoded images."""
    _shape(env, "latent_samples", (250, 2), PROBLEM_10)
    _shape(env, "reconstruction", (250, 28, 28), PROBLEM_10)


def _standard_normal(z: torch.Tensor, name: str, mean_tol: float, std_tol: float, far: int):
    expect(z.std(0).min() > 0.01, "{name} should be random draws from N(0, I).", name=name)
    mean, std = z.mean(0), z.std(0)
    expect(
        mean.abs().max() < mean_tol and ((std - 1).abs() < std_tol).all(),
        "Samples from N(0, I) should have mean about 0 and standard deviation about 1 in each "
        "dimension; {name} has means {mean} and standard deviations {std}.",
        name=name,
        mean=[round(v, 2) for v in mean.tolist()],
        std=[round(v, 2) for v in std.tolist()],
    )
    expect(
        (z.abs() > 2).sum() >= far,
        "Too few of {name} lie beyond 2 standard deviations: use the normal distribution "
        "(torch.randn), not a uniform one.",
        name=name,
    )
    expect(
        abs(torch.corrcoef(z.T)[0, 1]) < 0.3,
        "The two coordinates of {name} should be independent draws.",
        name=name,
    )


def latent_samples_are_standard_normal(env: Env) -> None:
    """Problem 10's latent samples come from N(0, I)."""
    z = _tensor(env, "latent_samples", PROBLEM_10).reshape(-1, 2)
    _standard_normal(z, "latent_samples", 0.3, 0.2, 5)


def reconstruction_decodes_the_samples(env: Env) -> None:
    """reconstruction[i] is trained_vae.decode(latent_samples[i])."""
    model = need(env, "trained_vae", TRAINED_VAE)
    samples = _tensor(env, "latent_samples", PROBLEM_10).reshape(-1, 2)
    with torch.no_grad():
        expected = call("trained_vae.decode", model.decode, samples).reshape(-1, 28, 28)
    got = _tensor(env, "reconstruction", PROBLEM_10).reshape(-1, 28, 28)
    expect(
        got.shape == expected.shape and torch.allclose(got, expected, atol=1e-5),
        "reconstruction[i] should be trained_vae.decode(latent_samples[i]).",
    )


def comparison_shapes(env: Env) -> None:
    """500 prior samples and 500 approximate-posterior samples."""
    _shape(env, "prior", (500, 2), PROBLEM_11)
    _shape(env, "approx_posterior", (500, 2), PROBLEM_11)


def prior_is_standard_normal(env: Env) -> None:
    """Problem 11's prior samples come from N(0, I)."""
    _standard_normal(_tensor(env, "prior", PROBLEM_11).reshape(-1, 2), "prior", 0.25, 0.15, 10)


def _log_likelihood(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> float:
    """Log-likelihood (up to a constant) of samples ``z`` under N(mu, sigma^2), elementwise."""
    return float((-0.5 * ((z - mu) / sigma) ** 2 - torch.log(sigma)).sum())


def posterior_uses_the_reparameterisation_trick(env: Env) -> None:
    """approx_posterior = mu + exp(logvar / 2) * fresh standard normal noise."""
    z = _tensor(env, "approx_posterior", PROBLEM_11).reshape(-1, 2)
    mu = _tensor(env, "latent_mu", PROBLEM_11).reshape(-1, 2)
    logvar = _tensor(env, "latent_logvar", PROBLEM_11).reshape(-1, 2)
    expect(z.shape == mu.shape, "approx_posterior should have one sample per row of latent_mu.")
    expect(
        not torch.allclose(z, mu),
        "approx_posterior should be samples (mu + sigma * epsilon), not the means mu.",
    )
    # Each image has its own logvar, so the likelihood of the samples tells which sigma made them.
    right = _log_likelihood(z, mu, torch.exp(0.5 * logvar))
    for sigma, used in (
        (torch.exp(logvar), "exp(logvar), the variance"),
        (torch.ones_like(logvar), "1, whatever logvar is"),
    ):
        expect(
            _log_likelihood(z, mu, sigma) < right + 5,
            "approx_posterior's spread around latent_mu fits sigma = {used} better than "
            "sigma = exp(0.5 * latent_logvar): sample mu + exp(0.5 * logvar) * epsilon.",
            used=used,
        )
    eps = (z - mu) / torch.exp(0.5 * logvar)
    expect(
        abs(float(eps.mean())) < 0.2 and abs(float(eps.std()) - 1) < 0.15,
        "(approx_posterior - mu) / sigma should be standard normal noise, but it has mean "
        "{mean:.2f} and standard deviation {std:.2f}: use sigma = exp(0.5 * logvar) and "
        "epsilon ~ N(0, I).",
        mean=float(eps.mean()),
        std=float(eps.std()),
    )
    prior = _tensor(env, "prior", PROBLEM_11).reshape(-1, 2)
    expect(
        prior.shape != eps.shape or not torch.allclose(eps, prior),
        "Draw fresh noise for the posterior; do not reuse the prior samples.",
    )
