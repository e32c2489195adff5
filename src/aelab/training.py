"""Training with early stopping (Problems 3 and 9).

``train_autoencoder`` and ``train_vae`` keep the course's signatures; both run the
same loop (:func:`fit`), which differs only in the loss each model is trained on.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from aelab.losses import vae_loss
from aelab.models import VAE, AutoEncoder

LEARNING_RATE = 1e-3
BatchLoss = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU; anything else is used as given."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autoencoder_loss(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error per pixel of a batch of flattened images."""
    reconstruction, _latent = model(images)
    return F.mse_loss(reconstruction, images)


def vae_batch_loss(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per image (summed over pixels and latent dimensions, averaged over images)."""
    reconstruction, mu, logvar = model(images)
    return vae_loss(reconstruction, images, mu, logvar) / len(images)


class EarlyStopping:
    """Tracks validation losses, keeps the best weights, and says when to stop.

    Training stops once the loss has failed to improve (strictly decrease) for
    ``patience`` epochs in a row.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss = float("inf")
        self.best_epoch = -1
        self.epochs_without_improvement = 0
        self._best_state: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, val_loss: float, model: nn.Module) -> bool:
        """Record one epoch's validation loss; return True when training should stop."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, epoch
            self.epochs_without_improvement = 0
            self._best_state = copy.deepcopy(model.state_dict())
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore_best(self, model: nn.Module) -> None:
        """Load the weights of the best epoch seen (no-op if no epoch was recorded)."""
        if self._best_state is not None:
            model.load_state_dict(self._best_state)


@dataclass
class FitResult:
    """A trained model and how its training went."""

    model: nn.Module
    val_losses: list[float] = field(default_factory=list)
    best_epoch: int = -1
    epoch_seconds: list[float] = field(default_factory=list)


def _flat(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images.reshape(len(images), -1).to(device, non_blocking=True)


def evaluate(
    model: nn.Module, loader: DataLoader, batch_loss: BatchLoss, device: torch.device
) -> float:
    """Average ``batch_loss`` over every sample of ``loader``, in eval mode, without gradients."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for images, _labels in loader:
            total += batch_loss(model, _flat(images, device)).item() * len(images)
            count += len(images)
    return total / count


def fit(
    model: nn.Module,
    batch_loss: BatchLoss,
    train_loader: DataLoader,
    val_loader: DataLoader,
    num_epochs: int = 100,
    early_stopping_patience: int = 5,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> FitResult:
    """Train ``model`` with Adam (lr 1e-3) on ``batch_loss`` and early stopping.

    Prints one line per epoch (epoch, validation loss, patience counter) and returns
    the model with the weights of its best validation epoch.
    """
    device = resolve_device(device)
    model.to(device)
    # The fused kernel updates all parameters at once: on small CPU models the
    # per-parameter Python loop of plain Adam costs as much as a fifth of an epoch.
    fused = device.type in ("cpu", "cuda")
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=fused)
    stopper = EarlyStopping(early_stopping_patience)
    result = FitResult(model)
    epochs = tqdm(range(num_epochs), desc=type(model).__name__, unit="epoch", disable=not progress)
    for epoch in epochs:
        start = time.perf_counter()
        model.train()
        for images, _labels in train_loader:
            loss = batch_loss(model, _flat(images, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        val_loss = evaluate(model, val_loader, batch_loss, device)
        result.epoch_seconds.append(time.perf_counter() - start)
        result.val_losses.append(val_loss)
        stop = stopper.update(epoch, val_loss, model)
        epochs.set_postfix(val_loss=f"{val_loss:.4f}")
        tqdm.write(
            f"Epoch [{epoch + 1}/{num_epochs}], Validation Loss: {val_loss:.4f}, "
            f"Patience Count: {stopper.epochs_without_improvement}"
        )
        if stop:
            break
    stopper.restore_best(model)
    result.best_epoch = stopper.best_epoch
    return result


def train_autoencoder(
    train_loader: DataLoader,
    val_loader: DataLoader,
    model: nn.Module | None = None,
    num_epochs: int = 100,
    early_stopping_patience: int = 5,
    *,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> nn.Module:
    """Train an autoencoder (default ``AutoEncoder(2)``) on mean squared error (Problem 3)."""
    model = AutoEncoder(latent_dim=2) if model is None else model
    return fit(
        model,
        autoencoder_loss,
        train_loader,
        val_loader,
        num_epochs,
        early_stopping_patience,
        device,
        progress,
    ).model


def train_vae(
    train_loader: DataLoader,
    val_loader: DataLoader,
    model: nn.Module | None = None,
    num_epochs: int = 100,
    early_stopping_patience: int = 5,
    *,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> nn.Module:
    """Train a VAE (default ``VAE(2)``) on the negative ELBO (Problem 9)."""
    model = VAE(latent_dim=2) if model is None else model
    return fit(
        model,
        vae_batch_loss,
        train_loader,
        val_loader,
        num_epochs,
        early_stopping_patience,
        device,
        progress,
    ).model
