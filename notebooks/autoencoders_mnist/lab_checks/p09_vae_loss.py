"""Problem 9: the VAE's loss, and train_vae learning with it.

train_vae's early stopping, best weights and Adam steps are Problem 3's checks, run on it
(see ``p03_training``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributions import Normal, kl_divergence

from aelab.student_side.objects import observe

from .common import ask, call, expect, need
from .doubles import GrayVAE, SmallVAE, constant_loader, loss_gradients, tensor_loader
from .p03_training import mnist_loaders, showing, train, trained_here, trainer

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "vae_loss_signature": ("vae_loss", "train_vae"),
    "vae_loss_value": ("vae_loss",),
    "vae_learns_with_vae_loss": ("vae_loss", "train_vae"),
    "vae_prints_the_validation_loss": ("train_vae", "vae_loss"),
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


def vae_prints_the_validation_loss(env: Any) -> None:
    """Each epoch's line shows the validation loss per image: vae_loss over val_loader / images.

    What the student's own vae_loss gives for each validation batch is asked (a slip in it
    costs points in its own test only), on a model that always answers gray and validation
    images of a gray drawn afresh for each notebook.
    """
    student = observe(env)
    function, name = trainer(student, "vae")
    vae_loss = need(student, "vae_loss", PROBLEM_9)
    wanted = [20.5, 30.5, 40.5, 50.5, 60.5, 70.5][int(torch.randint(0, 6, ()))]
    light = 0.5 + ((wanted - 0.25) / 392) ** 0.5  # 0.25: the KL term of mu = 0.5, logvar = 0
    images = torch.cat([torch.full((4, 1, 28, 28), light), torch.full((4, 1, 28, 28), 0.5)])
    batches = [images[:4].reshape(4, 784), images[4:].reshape(4, 784)]
    gray, codes = torch.full((4, 784), 0.5), (torch.full((4, 2), 0.5), torch.zeros(4, 2))
    total = sum(
        float(ask("vae_loss", student.double, loss_gradients, vae_loss, gray, x, *codes)[0])
        for x in batches
    )
    expected = total / len(images)
    _, lines, _ = train(
        function,
        name,
        student.double(GrayVAE),
        student.double(constant_loader, 0.25),
        student.double(tensor_loader, images, torch.zeros(8), 4),
        num_epochs=3,
        early_stopping_patience=5,
    )
    shown = showing(lines, expected, max(6e-3, 1e-4 * abs(expected)))
    expect(
        shown >= 3,
        "Each epoch's line should show the validation loss per image: vae_loss summed over "
        "val_loader, divided by the number of validation images ({expected:.4f} for this "
        "check's model and data); {count} of 3 epochs showed it. Divide by the batch size "
        "once, not twice.",
        expected=expected,
        count=shown,
    )
