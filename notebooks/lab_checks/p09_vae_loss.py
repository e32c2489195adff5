"""Problem 9: the VAE's loss, and train_vae learning with it.

train_vae's early stopping, best weights and Adam steps are Problem 3's checks, run on it
(see ``p03_training``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributions import Normal, kl_divergence

from aelab.student_side.objects import observe

from .common import call, expect, need
from .doubles import SmallVAE
from .p03_training import mnist_loaders, trained_here, trainer

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; README: Add a check).
READS = {
    "vae_loss_signature": ("vae_loss", "train_vae"),
    "vae_loss_value": ("vae_loss",),
    "vae_learns_with_vae_loss": ("vae_loss", "train_vae"),
}

PROBLEM_9 = "run Problem 9's cell first."


def vae_loss_signature(env: Any) -> None:
    """vae_loss returns one number; train_vae keeps its parameters."""
    student = observe(env)
    vae_loss = need(student, "vae_loss", PROBLEM_9)
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
    trainer(student, "vae")


def vae_loss_value(env: Any) -> None:
    """vae_loss = summed squared error + KL(q || N(0, I)), summed over the batch."""
    student = observe(env)
    vae_loss = need(student, "vae_loss", PROBLEM_9)
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
    got = float(call("vae_loss", vae_loss, reconstruction, x, mu, logvar))
    expect(
        abs(got - (squared + kl)) < 1e-2,
        "vae_loss should be the summed squared error plus KL(q || p) = {kl:.3f} for these "
        "inputs, but it gave a KL part of {part:.3f}: check the KL formula and its sign.",
        kl=kl,
        part=got - squared,
    )


def vae_learns_with_vae_loss(env: Any) -> None:
    """train_vae computes its loss with vae_loss, and two epochs lower the reconstruction error.

    The model is a small VAE of the check's (a slip in Problem 8 costs points there only),
    with weights it chose; it judges the weights train_vae leaves with its own copy.
    """
    student = observe(env)
    need(student, "vae_loss", PROBLEM_9)
    train_loader, val_loader, x = mnist_loaders(student)

    def error(model: SmallVAE) -> float:
        with torch.no_grad():
            return torch.mean((model.decode(model.encode(x)[0]) - x) ** 2).item()

    start, after, (_, calls) = trained_here(
        student, "vae", SmallVAE, train_loader, val_loader, num_epochs=2, spy=("vae_loss",)
    )
    expect(calls.get("vae_loss"), "train_vae should compute its loss with vae_loss.")
    before, after = error(start), error(after)
    expect(
        after < 0.8 * before,
        "Two epochs on 2,048 MNIST images should lower the validation reconstruction error "
        "clearly (it went from {before:.4f} to {after:.4f}): check zero_grad/backward/step and "
        "the learning rate.",
        before=before,
        after=after,
    )
