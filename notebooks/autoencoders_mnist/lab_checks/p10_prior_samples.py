"""Problem 10: samples from the prior, and what the trained VAE decodes them to."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import observe

from .common import TRAINED_VAE, as_tensor, attr, call, expect, need, need_tensor

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "prior_sample_shapes": ("latent_samples", "reconstruction"),
    "latent_samples_are_standard_normal": ("latent_samples",),
    "reconstruction_decodes_the_samples": ("trained_vae", "latent_samples", "reconstruction"),
}

PROBLEM_10 = "run Problem 10's cell first (it needs `trained_vae`)."


def has_shape(student: Any, name: str, shape: tuple[int, ...], hint: str) -> None:
    """The notebook's tensor ``name`` has ``shape``."""
    value = need_tensor(student, name, hint)
    expect(
        tuple(value.shape) == shape,
        "{name} should have shape {shape}, not {got}.",
        name=name,
        shape=list(shape),
        got=list(value.shape),
    )


def prior_sample_shapes(env: Any) -> None:
    """250 latent samples and their 250 decoded images."""
    student = observe(env)
    has_shape(student, "latent_samples", (250, 2), PROBLEM_10)
    has_shape(student, "reconstruction", (250, 28, 28), PROBLEM_10)


def standard_normal(z: torch.Tensor, name: str, mean_tol: float, std_tol: float, far: int):
    """``z`` (one sample per row) looks like independent draws from N(0, I)."""
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


def latent_samples_are_standard_normal(env: Any) -> None:
    """Problem 10's latent samples come from N(0, I)."""
    z = need_tensor(observe(env), "latent_samples", PROBLEM_10).reshape(-1, 2)
    standard_normal(z, "latent_samples", 0.3, 0.2, 5)


def reconstruction_decodes_the_samples(env: Any) -> None:
    """reconstruction[i] is trained_vae.decode(latent_samples[i])."""
    student = observe(env)
    model = need(student, "trained_vae", TRAINED_VAE)
    samples = need_tensor(student, "latent_samples", PROBLEM_10).reshape(-1, 2)
    decoded = as_tensor(call("trained_vae.decode", attr(model, "decode"), samples))
    got = need_tensor(student, "reconstruction", PROBLEM_10).reshape(-1, 28, 28)
    expect(
        decoded is not None
        and decoded.numel() == got.numel()
        and torch.allclose(got, decoded.reshape(-1, 28, 28).float(), atol=1e-5),
        "reconstruction[i] should be trained_vae.decode(latent_samples[i]).",
    )
