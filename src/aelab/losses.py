"""Training objectives: reconstruction error and the negative ELBO."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent dimensions and the batch.

    Closed form for Gaussians: -1/2 * sum(1 + log sigma^2 - mu^2 - sigma^2).
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss(
    reconstruction: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_weight: float = 1.0,
) -> torch.Tensor:
    """Negative ELBO of a batch: summed squared error plus ``kl_weight`` times the KL term.

    With a Gaussian decoder of fixed variance, -E_q[log p(x|z)] is the squared error
    up to constants, so minimising this maximises ELBO = E_q[log p(x|z)] - KL(q || p).
    """
    squared_error = F.mse_loss(reconstruction, x, reduction="sum")
    return squared_error + kl_weight * kl_to_standard_normal(mu, logvar)
