"""Problem 11: samples of the prior beside samples of the approximate posterior."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import observe

from .common import TRAINED_VAE, attr, call, expect, need, need_tensor
from .p10_prior_samples import has_shape, standard_normal

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "comparison_shapes": ("prior", "approx_posterior"),
    "prior_is_standard_normal": ("prior",),
    "posterior_uses_the_reparameterisation_trick": (
        "approx_posterior",
        "latent_mu",
        "latent_logvar",
        "test_samples",
        "trained_vae",
        "prior",
    ),
}
GIVEN = ("test_samples", "latent_mu", "latent_logvar")  # the handout's Problem 11 cell binds them

PROBLEM_11 = "run Problem 11's cell first (it needs `trained_vae`)."


def comparison_shapes(env: Any) -> None:
    """500 prior samples and 500 approximate-posterior samples."""
    student = observe(env)
    has_shape(student, "prior", (500, 2), PROBLEM_11)
    has_shape(student, "approx_posterior", (500, 2), PROBLEM_11)


def prior_is_standard_normal(env: Any) -> None:
    """Problem 11's prior samples come from N(0, I)."""
    z = need_tensor(observe(env), "prior", PROBLEM_11).reshape(-1, 2)
    standard_normal(z, "prior", 0.25, 0.15, 10)


def _log_likelihood(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> float:
    """Log-likelihood (up to a constant) of samples ``z`` under N(mu, sigma^2), elementwise."""
    return float((-0.5 * ((z - mu) / sigma) ** 2 - torch.log(sigma)).sum())


def posterior_uses_the_reparameterisation_trick(env: Any) -> None:
    """approx_posterior = mu + exp(logvar / 2) * fresh standard normal noise."""
    student = observe(env)
    z = need_tensor(student, "approx_posterior", PROBLEM_11).reshape(-1, 2)
    mu = need_tensor(student, "latent_mu", PROBLEM_11).reshape(-1, 2)
    logvar = need_tensor(student, "latent_logvar", PROBLEM_11).reshape(-1, 2)
    expect(z.shape == mu.shape, "approx_posterior should have one sample per row of latent_mu.")
    samples = need_tensor(student, "test_samples", PROBLEM_11)
    encoded = call(
        "trained_vae.encode", attr(need(student, "trained_vae", TRAINED_VAE), "encode"),
        samples.reshape(len(samples), -1),
    )  # fmt: skip
    expect(
        isinstance(encoded, (tuple, list))
        and len(encoded) == 2
        and all(isinstance(part, torch.Tensor) for part in encoded)
        and torch.allclose(encoded[0].float().reshape(mu.shape), mu, atol=1e-4)
        and torch.allclose(encoded[1].float().reshape(logvar.shape), logvar, atol=1e-4),
        "latent_mu and latent_logvar should be what the given code makes them: trained_vae's "
        "encoding of test_samples.",
    )
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
    prior = need_tensor(student, "prior", PROBLEM_11).reshape(-1, 2)
    expect(
        prior.shape != eps.shape or not torch.allclose(eps, prior),
        "Draw fresh noise for the posterior; do not reuse the prior samples.",
    )
