"""Problem 8: the VAE's architecture, its reparameterisation and its forward pass."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import Ref, observe

from .common import as_tensor, ask, attr, call, expect, need, pair, reseed
from .doubles import push, sample_twice
from .p02_autoencoder import every_layer_learns

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "vae_shapes": ("VAE",),
    "reparameterize_mean_and_spread": ("VAE",),
    "reparameterize_is_fresh_and_differentiable": ("VAE",),
    "vae_forward": ("VAE",),
    "mu_and_logvar_heads_are_linear": ("VAE",),
}


def new_vae(student: Any, latent_dim: int) -> Ref:
    """The student's ``VAE(latent_dim)``, with its methods."""
    vae = need(student, "VAE", "run Problem 8's cell first.")
    model = call("VAE", vae, latent_dim)
    for method in ("encode", "reparameterize", "decode"):
        found = attr(model, method)
        expect(
            isinstance(found, Ref) and found.is_callable,
            "VAE needs a {method} method.",
            method=method,
        )
    return model


def vae_shapes(env: Any) -> None:
    """Forward gives a (10, 784) reconstruction and (10, 2) mu and logvar."""
    model = new_vae(observe(env), 2)
    output = call("the VAE's forward", model, torch.rand(10, 784))
    reconstruction, mu, logvar = pair(output, "VAE's forward", "reconstruction, mu, logvar")
    expect(
        tuple(reconstruction.shape) == (10, 784),
        "The reconstruction should have shape (10, 784), not {shape}.",
        shape=tuple(reconstruction.shape),
    )
    expect(
        tuple(mu.shape) == (10, 2) and tuple(logvar.shape) == (10, 2),
        "mu and logvar should each have shape (10, latent_dim).",
    )


def reparameterize_mean_and_spread(env: Any) -> None:
    """Samples centred on mu with standard deviation exp(logvar / 2).

    mu and sigma are drawn afresh for each notebook: one sigma below 1, one above (so that
    sigma, the variance and logvar itself all differ).
    """
    student = observe(env)
    reseed(student)
    model = new_vae(student, 2)
    n = 100_000
    centre = torch.empty(2).uniform_(-3, 3)
    sigma = torch.stack([torch.empty(()).uniform_(0.3, 0.6), torch.empty(()).uniform_(1.6, 2.5)])
    logvar = 2 * torch.log(sigma)
    z = call(
        "reparameterize(mu, logvar)",
        attr(model, "reparameterize"),
        centre.repeat(n, 1),
        logvar.repeat(n, 1),
    )
    expect(
        isinstance(z, torch.Tensor) and tuple(z.shape) == (n, 2),
        "reparameterize should return one sample per row of mu.",
    )
    std, mean = z.float().std(0), z.float().mean(0)
    expect(std.min() > 0.1, "reparameterize should add random noise (epsilon ~ N(0, I)) to mu.")
    expect(
        torch.allclose(mean, centre, atol=0.05),
        "The samples should be centred on mu (mu = {mu} gave means {means}).",
        mu=[round(v, 3) for v in centre.tolist()],
        means=[round(v, 3) for v in mean.tolist()],
    )
    variance_used = torch.allclose(std, sigma**2, rtol=0.05)
    expect(
        torch.allclose(std, sigma, rtol=0.025, atol=0.01),
        "For logvar = {logvar} the samples' standard deviations should be {sigma}, not "
        "{std}{hint}: sigma = exp(0.5 * logvar).",
        logvar=[round(v, 3) for v in logvar.tolist()],
        sigma=[round(v, 3) for v in sigma.tolist()],
        std=[round(v, 3) for v in std.tolist()],
        hint=" (you used the variance exp(logvar) as sigma)" if variance_used else "",
    )


def reparameterize_is_fresh_and_differentiable(env: Any) -> None:
    """Each call draws new noise, and the sample is differentiable in mu and logvar."""
    student = observe(env)
    reparameterize = attr(new_vae(student, 2), "reparameterize")
    first, second, tracked, mu_grad, logvar_grad = ask(
        "reparameterize(mu, logvar)",
        student.double,
        sample_twice,
        reparameterize,
        torch.zeros(8, 2),
        torch.zeros(8, 2),
    )
    expect(
        isinstance(first, torch.Tensor) and not torch.allclose(first, torch.zeros_like(first)),
        "With mu = 0 and logvar = 0 (sigma = exp(0) = 1), reparameterize returned mu itself: "
        "add sigma * epsilon, with sigma = exp(0.5 * logvar) and epsilon = torch.randn_like(mu).",
    )
    expect(
        not torch.allclose(first, second),
        "Two calls of reparameterize gave the same sample: draw fresh noise epsilon on each call "
        "(torch.randn_like).",
    )
    expect(tracked, "The sample should be computed from mu and logvar with torch.")
    expect(
        mu_grad is not None and logvar_grad is not None and logvar_grad.abs().sum() > 0,
        "The sample should be a differentiable function of mu and logvar (mu + sigma * epsilon).",
    )


def vae_forward(env: Any) -> None:
    """Forward decodes a reparameterised sample of encode(x); every weight gets a gradient."""
    student = observe(env)
    reseed(student)
    model = new_vae(student, 3)
    x = torch.rand(32, 784)
    reconstruction, mu, logvar = pair(
        call("the VAE's forward", model, x), "VAE's forward", "reconstruction, mu, logvar"
    )
    expected_mu, expected_logvar = pair(
        call("encode(x)", attr(model, "encode"), x), "encode", "mu, logvar"
    )
    expect(
        torch.allclose(mu, expected_mu, atol=1e-6)
        and torch.allclose(logvar, expected_logvar, atol=1e-6),
        "forward should return (reconstruction, mu, logvar), with mu and logvar from encode(x).",
    )
    expect(not torch.allclose(mu, logvar), "mu and logvar should come from two separate layers.")
    expect(
        reconstruction.min() >= 0 and reconstruction.max() <= 1,
        "The decoder's output should lie in [0, 1] (Sigmoid).",
    )
    # Far-out codes drive a decoder ending in Linear + Sigmoid to pixels near 0 and near 1; a
    # ReLU (or any activation) before the Sigmoid keeps every pixel at 0.5 or above.
    far = as_tensor(call("decode(z)", attr(model, "decode"), 50 * torch.randn(256, 3)))
    expect(
        far is not None and far.numel() > 0 and far.min() < 0.4,
        "The decoder should end with a Linear layer followed directly by a Sigmoid: for latent "
        "codes far from 0 no pixel came out darker than 0.4 (is there a ReLU before the "
        "Sigmoid?).",
    )
    noise = int(torch.randint(0, 2**31 - 1, ()))
    student.seed(noise)
    again = call("the VAE's forward", model, x)[0]
    student.seed(noise)
    sample = call("reparameterize(mu, logvar)", attr(model, "reparameterize"), mu, logvar)
    expected = call("decode(z)", attr(model, "decode"), sample)
    expect(
        torch.allclose(again, expected, atol=1e-6),
        "forward should decode a sample drawn with reparameterize(mu, logvar), not mu itself.",
    )
    every_layer_learns(student, model, x)


def mu_and_logvar_heads_are_linear(env: Any) -> None:
    """Mu and logvar come straight from linear layers: inputs can drive each below 0."""
    student = observe(env)
    reseed(student)
    model = new_vae(student, 3)
    x = torch.randn(6, 784)
    mu, logvar = pair(call("encode(x)", attr(model, "encode"), x), "encode", "mu, logvar")
    expect(
        tuple(mu.shape) == (6, 3) and tuple(logvar.shape) == (6, 3),
        "encode should return mu and logvar of size latent_dim.",
    )
    # Search inputs that push each output down (where the model runs): a linear head can go
    # below 0; a head ending in ReLU, Sigmoid, Softplus or exp cannot.
    lowest = ask("encode(x)", student.double, push, model, "encode", x, 61)
    for head, values in (("mu", lowest[:3]), ("logvar", lowest[3:])):
        expect(
            (values < 0).all(),
            "{head} should come straight from a linear layer, with no activation after it: it "
            "must be able to take negative values, but even for inputs chosen to push it down it "
            "stayed at {values}.",
            head=head,
            values=[round(v, 3) for v in values.tolist()],
        )
