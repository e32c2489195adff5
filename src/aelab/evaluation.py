"""Reconstruction quality on held-out data, and the PCA baseline it is judged against."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader


@torch.no_grad()
def reconstruction_mse(model: nn.Module, loader: DataLoader) -> float:
    """Mean squared error per pixel of ``model``'s reconstructions over ``loader``.

    A VAE is scored on the decoding of its posterior mean, which is deterministic.
    """
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for images, _labels in loader:
        flat = images.reshape(len(images), -1).to(device)
        if hasattr(model, "encode"):
            reconstruction = model.decode(model.encode(flat)[0])
        else:
            reconstruction = model(flat)[0]
        total += torch.sum((reconstruction - flat) ** 2).item()
        count += flat.numel()
    return total / count


def stack_images(loader: DataLoader) -> torch.Tensor:
    """All of ``loader``'s images as one ``[N, 784]`` tensor."""
    return torch.cat([images.reshape(len(images), -1) for images, _labels in loader])


def pca_reconstruction_mse(train: torch.Tensor, test: torch.Tensor, components: int = 2) -> float:
    """Per-pixel MSE of ``test`` rebuilt from its projection on ``train``'s top principal axes."""
    train, test = train.double(), test.double()
    mean = train.mean(dim=0)
    centered = train - mean
    _eigenvalues, eigenvectors = torch.linalg.eigh(centered.T @ centered)
    axes = eigenvectors[:, -components:]  # eigh sorts ascending: the last are the largest
    reconstruction = (test - mean) @ axes @ axes.T + mean
    return torch.mean((reconstruction - test) ** 2).item()
