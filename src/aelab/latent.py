"""Latent-space tools: decoder grids, interpolation, prior and posterior samples.

They serve Problems 5, 6, 10 and 11 of the lab.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

IMAGE_SIDE = 28


def latent_grid(side_length: int = 25, low: float = -5.0, high: float = 5.0) -> torch.Tensor:
    """Points of a uniform ``side_length`` x ``side_length`` mesh over ``[low, high]^2``.

    Returned as ``[side_length**2, 2]`` in reading order: row ``r`` holds the highest
    z2 first (top of a picture), column ``c`` increases z1 (left to right).
    """
    axis = torch.linspace(low, high, side_length)
    z2, z1 = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return torch.stack([z1.flatten(), z2.flatten()], dim=1)


@torch.no_grad()
def decode_images(decoder: nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """Decode latent codes ``[N, d]`` to images ``[N, 28, 28]`` on the CPU."""
    device = next(decoder.parameters()).device
    return decoder(latents.to(device)).cpu().view(-1, IMAGE_SIDE, IMAGE_SIDE)


def tile_images(images: torch.Tensor, rows: int) -> torch.Tensor:
    """Tile ``[rows * cols, H, W]`` images into one ``[rows * H, cols * W]`` picture, row-major."""
    count, height, width = images.shape
    cols = count // rows
    return images.view(rows, cols, height, width).permute(0, 2, 1, 3).reshape(rows * height, -1)


def get_test_digit(
    loader: DataLoader, digit_val: int = 0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random image ``[1, 28, 28]`` of digit ``digit_val`` from ``loader``'s dataset.

    Raises ``ValueError`` if the dataset holds no such digit.
    """
    dataset: Dataset = loader.dataset
    for index in torch.randperm(len(dataset), generator=generator).tolist():
        image, label = dataset[index]
        if int(label) == digit_val:
            return image
    raise ValueError(f"The dataset contains no image of digit {digit_val}.")


def interpolate_latents(
    start: torch.Tensor, end: torch.Tensor, num_images: int = 12
) -> torch.Tensor:
    """``num_images`` equally spaced points from ``start`` to ``end``, both included."""
    weights = torch.linspace(0, 1, num_images).unsqueeze(1)
    return (1 - weights) * start.reshape(1, -1) + weights * end.reshape(1, -1)


@torch.no_grad()
def interpolate_digits(
    digit1: int,
    digit2: int,
    loader: DataLoader,
    encoder: nn.Module,
    decoder: nn.Module,
    num_images: int = 12,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decoded images ``[num_images, 28, 28]`` on the latent path from ``digit1`` to ``digit2``."""
    device = next(encoder.parameters()).device
    images = torch.stack([get_test_digit(loader, d, generator) for d in (digit1, digit2)])
    start, end = encoder(images.view(2, -1).to(device)).cpu()
    return decode_images(decoder, interpolate_latents(start, end, num_images))


def sample_prior(
    num_samples: int, latent_dim: int = 2, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``num_samples`` draws from the prior p(z) = N(0, I)."""
    return torch.randn(num_samples, latent_dim, generator=generator)


def sample_posterior(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One draw per row from q(z|x) = N(mu, exp(logvar)) by reparameterisation."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
