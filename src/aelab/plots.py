"""The lab's figures. Each function returns a matplotlib ``Figure`` and shows nothing itself."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox, OffsetImage

from aelab.latent import tile_images


def plot_latent_grid(images: torch.Tensor, low: float = -5.0, high: float = 5.0) -> Figure:
    """Decoded mesh ``[side**2, 28, 28]`` (from :func:`aelab.latent.latent_grid`) as one picture.

    One tiled image instead of one axes per digit: 625 axes take seconds to draw.
    """
    side = round(len(images) ** 0.5)
    fig, ax = plt.subplots(figsize=(9, 9))
    ax.imshow(tile_images(images, side).numpy(), cmap="gray", extent=(low, high, low, high))
    ax.set_xlabel("latent dimension 1 ($z_1$)")
    ax.set_ylabel("latent dimension 2 ($z_2$)")
    ax.set_title(f"Decoder output over a {side}x{side} grid of latent values")
    return fig


def plot_interpolation(images: torch.Tensor, title: str) -> Figure:
    """A row of decoded images ``[n, 28, 28]`` walking through latent space."""
    fig, ax = plt.subplots(figsize=(len(images), 1.4))
    ax.imshow(tile_images(images, 1).numpy(), cmap="gray")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def plot_prior_samples(latents: torch.Tensor, images: torch.Tensor) -> Figure:
    """Each decoded prior sample drawn at its latent position ``latents[i]``."""
    points = latents.numpy()
    fig, ax = plt.subplots(figsize=(10, 10))
    ax.scatter(points[:, 0], points[:, 1], alpha=0.2)
    for point, image in zip(points, images.numpy(), strict=True):
        box = OffsetImage(image, zoom=0.5, cmap="gray")
        ax.add_artist(AnnotationBbox(box, point, frameon=False))
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.05 * (high - low)
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
    ax.set_xlabel("latent dimension 1 ($z_1$)")
    ax.set_ylabel("latent dimension 2 ($z_2$)")
    ax.set_title("Decoded samples from the prior N(0, I)")
    return fig


def plot_prior_vs_posterior(prior: torch.Tensor, posterior: torch.Tensor) -> Figure:
    """Samples of the prior (red) and of the approximate posterior (blue) in latent space."""
    prior, posterior = prior.numpy(), posterior.numpy()
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(prior[:, 0], prior[:, 1], c="red", alpha=0.5, label="prior p(z)")
    ax.scatter(
        posterior[:, 0], posterior[:, 1], c="blue", alpha=0.5, label="approximate posterior q(z|x)"
    )
    ax.set_aspect("equal")
    ax.legend()
    ax.set_xlabel("latent dimension 1 ($z_1$)")
    ax.set_ylabel("latent dimension 2 ($z_2$)")
    ax.set_title("Prior vs approximate posterior")
    return fig
