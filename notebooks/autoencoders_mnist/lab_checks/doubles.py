"""Test doubles and probes: the only code of the checks that runs beside the student's.

The checks build these where the student's code runs (``student.double``): models whose
behaviour is scripted, decoders that record what they were given, loaders of data the check
chose, and probes that measure what only that process can (gradients through the student's
model). Grading sends this module, and nothing else of the checks, into the sandbox: it holds
no expectation and no verdict, only what the doubles observed, which the checks read back as
data and judge themselves. It imports only torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset

# ---------------------------------------------------------------- data


def constant_loader(value: float, count: int = 4, batch_size: int = 4) -> DataLoader:
    """A loader of ``count`` images whose every pixel is ``value``."""
    images = torch.full((count, 1, 28, 28), value)
    return DataLoader(TensorDataset(images, torch.zeros(count)), batch_size=batch_size)


def tensor_loader(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool = False
) -> DataLoader:
    """A loader of the given images and labels."""
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=shuffle)


def subset_loader(dataset: Any, count: int, batch_size: int) -> DataLoader:
    """A loader of the first ``count`` items of the student's ``dataset``."""
    return DataLoader(Subset(dataset, range(count)), batch_size=batch_size)


_FIRST_ITEMS: dict[tuple[int, int], TensorDataset] = {}


def first_items(dataset: Any, count: int) -> TensorDataset:
    """The first ``count`` items of the student's dataset, turned into tensors once."""
    key = (id(dataset), count)
    if key not in _FIRST_ITEMS:
        items = [dataset[i] for i in range(count)]
        images = torch.stack([torch.as_tensor(image) for image, _ in items])
        _FIRST_ITEMS[key] = TensorDataset(images, torch.as_tensor([int(y) for _, y in items]))
    return _FIRST_ITEMS[key]


def loader(dataset: Any, batch_size: int, shuffle: bool = False) -> DataLoader:
    """A loader of ``dataset`` (in a new order each pass if ``shuffle``)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


# ---------------------------------------------------------------- models


class ScriptedModel(nn.Module):
    """A model whose validation loss follows ``losses``; training steps move its one weight.

    Validation batches are images of 0.75 (training batches 0.25): each validation pass gets
    the next scripted mean squared error, and records the weight it saw. ``outputs`` is 2 for
    an autoencoder ``(reconstruction, latent)``, 3 for a VAE ``(reconstruction, mu, logvar)``
    with ``mu = logvar = 0`` (no KL term), so ``vae_loss / 784`` is the scripted error too.
    ``modes`` records, for each pass, whether it validated, in training mode, with gradients.
    """

    def __init__(self, losses: list[float], outputs: int = 2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.losses, self.outputs = losses, outputs
        self.weights_at_validation: list[float] = []
        self.modes: list[list[bool]] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros(len(x), 2) + 0 * self.weight
        validating = float(x.mean()) > 0.5
        self.modes.append([validating, self.training, torch.is_grad_enabled()])
        if validating:
            epoch = min(len(self.weights_at_validation), len(self.losses) - 1)
            self.weights_at_validation.append(self.weight.item())
            out = x - self.losses[epoch] ** 0.5 + 0 * self.weight
        else:
            out = torch.sigmoid(self.weight).expand_as(x) + 0 * x
        return (out, zeros) if self.outputs == 2 else (out, zeros, zeros)


class SmallAutoEncoder(nn.Module):
    """A small, correct autoencoder, so that a training check does not hang on the student's."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(x)
        return self.decoder(latent), latent


class SmallVAE(nn.Module):
    """A correct VAE of one hidden layer, so that a training check does not need the student's.

    As wide as Problem 8's first layer: on it, two epochs of even plain SGD (a known mistake,
    which the Adam check catches) lower the error clearly, as they should.
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU())
        self.mu, self.logvar = nn.Linear(512, 2), nn.Linear(512, 2)
        self.decoder = nn.Sequential(
            nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid()
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x)
        return self.mu(hidden), self.logvar(hidden)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


class TinyAutoEncoder(SmallAutoEncoder):
    """A one-layer autoencoder whose training is deterministic.

    Started so that on bright images (pixels 0.7 to 1) every gradient is far above Adam's eps
    (1e-8): codes are positive, decoder weights too and every output darker than its pixel.
    Adam's steps then do not depend on the loss's scale, so a loss that is a constant times
    the mean squared error (a sum divided by the batch size) trains it the same.
    """

    def __init__(self) -> None:
        nn.Module.__init__(self)
        self.encoder = nn.Linear(784, 2)
        self.decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid())
        with torch.no_grad():
            self.encoder.weight.uniform_(-0.005, 0.005)
            self.encoder.bias.uniform_(1.5, 2.5)
            self.decoder[0].weight.uniform_(0.05, 0.3)
            self.decoder[0].bias.fill_(-2.0)


class TinyVAE(SmallVAE):
    """A one-layer VAE with fixed noise (epsilon = 0.5), so that its training is deterministic.

    Started, as the tiny autoencoder, with every gradient far above Adam's eps.
    """

    def __init__(self) -> None:
        nn.Module.__init__(self)
        self.encoder = nn.Linear(784, 4)
        self.decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid())
        with torch.no_grad():
            self.encoder.weight.uniform_(-0.005, 0.005)
            self.encoder.bias[:2].uniform_(1.5, 2.5)  # mu
            self.encoder.bias[2:].uniform_(-1.5, -0.5)  # logvar
            self.decoder[0].weight.uniform_(0.05, 0.3)
            self.decoder[0].bias.fill_(-2.0)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * 0.5


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


class Gray(nn.Module):
    """Reconstructs every image as plain 0.5 gray, however it is trained."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zero = 0 * self.weight
        return torch.full_like(x, 0.5) + zero, torch.zeros(len(x), 2) + zero


class GrayVAE(Gray):
    """A VAE that decodes every image as plain 0.5 gray, with mu = 0.5 and logvar = 0."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        reconstruction, latent = super().forward(x)
        return reconstruction, latent + 0.5, latent


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


# ---------------------------------------------------------------- probes


def evaluate(model: nn.Module, x: torch.Tensor) -> Any:
    """``model(x)`` in eval mode (no dropout, running statistics), without gradients."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(training)


def layer_gradients(model: nn.Module, batches: list[torch.Tensor]) -> list[bool]:
    """For each weight tensor of ``model``, whether the reconstruction error reaches it.

    Over several ``batches``: a unit that no input of one batch happens to reach is not unused.
    """
    reached = [False] * len(list(model.parameters()))
    for x in batches:
        model.zero_grad()
        ((model(x)[0] - x) ** 2).sum().backward()
        for index, p in enumerate(model.parameters()):
            reached[index] |= p.grad is not None and bool(p.grad.abs().sum() > 0)
    return reached


def sample_twice(reparameterize: Any, mu: torch.Tensor, logvar: torch.Tensor) -> tuple:
    """Two samples from ``reparameterize``, and how the first depends on ``mu`` and ``logvar``.

    Returns both samples, whether the first carries a gradient, and the gradients of its sum
    of squares with respect to ``mu`` and ``logvar``.
    """
    mu, logvar = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    first = reparameterize(mu, logvar)
    second = reparameterize(mu, logvar)
    tracked = bool(getattr(first, "requires_grad", False))
    if tracked:
        (first**2).sum().backward()
    return first, second, tracked, mu.grad, logvar.grad


def push(model: nn.Module, part: str, x: torch.Tensor, steps: int, sign: float = 1) -> Any:
    """Search inputs that push the outputs of ``model.<part>`` down (up, for ``sign`` -1).

    Input i moves output i (outputs side by side, a tuple's joined). Returns each output's
    value at the last step: how far down (or up) it could go. A linear layer goes anywhere;
    one ending in ReLU, Sigmoid, Tanh, Softplus or exp cannot go below 0 (or above 1).
    """
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    x = x.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=0.1)
    reached = torch.zeros(0)
    for _ in range(steps):
        out = getattr(model, part)(x)
        joined = torch.cat(list(out), dim=1) if isinstance(out, (tuple, list)) else out
        reached = joined.diagonal()
        optimizer.zero_grad()
        (sign * reached).sum().backward()
        optimizer.step()
    return reached


def loss_gradients(loss: Any, reconstruction: torch.Tensor, x: torch.Tensor, *codes: Any) -> tuple:
    """``loss(reconstruction, x, *codes)`` and its gradients, where the student's loss runs.

    Returns the value, then its gradients with respect to the reconstruction and each code.
    """
    inputs = [reconstruction.clone().requires_grad_(True)]
    inputs += [code.clone().requires_grad_(True) for code in codes]
    value = loss(inputs[0], x, *inputs[1:])
    value.backward()
    return (float(value.detach()), *(tensor.grad for tensor in inputs))
