"""Problem 6: walking through the latent space from one digit's code to another's."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import observe

from .common import PROBLEM_1, TRAINED_AE, as_tensor, ask, attr, call, expect, is_module, need
from .doubles import CurveEncoder, RecordingDecoder, tensor_loader

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "extrapolation_signature_and_shape": (
        "extrapolate_digits",
        "trained_autoencoder",
        "test_loader",
    ),
    "interpolation_path": ("extrapolate_digits",),
}

PROBLEM_6 = "run Problem 6's cell first."


def extrapolation_signature_and_shape(env: Any) -> None:
    """extrapolate_digits keeps its signature and returns 12 decoded images."""
    student = observe(env)
    extrapolate = need(student, "extrapolate_digits", PROBLEM_6)
    params = ask("extrapolate_digits", extrapolate.parameters)
    expect(
        params[:5] == ["digit1", "digit2", "dataloader", "encoder", "decoder"],
        "Keep the signature extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, "
        "num_images=12).",
    )
    model = need(student, "trained_autoencoder", TRAINED_AE)
    encoder, decoder = attr(model, "encoder"), attr(model, "decoder")
    expect(
        is_module(encoder) and is_module(decoder),
        "`trained_autoencoder` has no encoder and decoder yet: {hint}",
        hint=TRAINED_AE,
    )
    loader = need(student, "test_loader", PROBLEM_1)
    images = call(
        "extrapolate_digits(1, 7, test_loader, ...)", extrapolate, 1, 7, loader, encoder, decoder
    )
    images = as_tensor(images)
    expect(
        images is not None and tuple(images.shape) == (12, 28, 28),
        "extrapolate_digits should return the 12 decoded images as a tensor of shape [12, 28, 28].",
    )


def interpolation_path(env: Any) -> None:
    """Decoded codes run in equal steps from encoder(digit1) to encoder(digit2), ends included.

    The two digits and the number of images are drawn afresh for each notebook.
    """
    student = observe(env)
    extrapolate = need(student, "extrapolate_digits", PROBLEM_6)
    first, last = torch.randperm(10)[:2].tolist()
    count = int(torch.randint(4, 11, ()))
    # One image per digit d, every pixel d / 10: only interpolating the two *encodings* (not the
    # two images) gives a straight path, since the encoder maps the images onto a curve. No
    # digit is stored at its own index: an image *of* each digit is wanted, not the d-th one.
    labels = (torch.arange(10) + int(torch.randint(1, 10, ()))) % 10
    images = labels.float().div(10).view(10, 1, 1, 1).expand(10, 1, 28, 28).clone()
    loader = student.double(tensor_loader, images, labels, 10)
    decoder = student.double(RecordingDecoder)
    out = call(
        "extrapolate_digits(digit1, digit2, ..., num_images)",
        extrapolate,
        first,
        last,
        loader,
        student.double(CurveEncoder),
        decoder,
        num_images=count,
    )
    received = attr(decoder, "received")
    expect(received, "extrapolate_digits should decode the interpolated codes with `decoder`.")
    latents = torch.cat(received)
    curve = torch.linspace(-(first**2) / 4, -(last**2) / 4, count)  # CurveEncoder's second axis
    expected = torch.stack([torch.linspace(first, last, count), curve], dim=1)
    expect(
        latents.shape == (count, 2),
        "Decode num_images latent codes ({wanted} here), not {count}.",
        wanted=count,
        count=latents.shape[0],
    )
    expect(
        torch.allclose(latents[0], expected[0], atol=1e-4)
        and torch.allclose(latents[-1], expected[-1], atol=1e-4),
        "The path should start exactly at the encoding of an image of digit1 and end exactly at "
        "the encoding of an image of digit2 (take them with get_test_digit; t = "
        "torch.linspace(0, 1, num_images) includes both ends).",
    )
    expect(
        torch.allclose(latents, expected, atol=1e-4),
        "The latent codes should be equally spaced on the straight line between the two "
        "encodings: interpolate the codes z1 and z2, not the images.",
    )
    out = as_tensor(out) if as_tensor(out) is not None else torch.zeros(0)
    shades = torch.linspace(first / 10, last / 10, count)  # what the recording decoder draws
    expect(
        out.numel() == count * 784
        and torch.allclose(out.reshape(count, -1)[:, 0].float(), shades, atol=1e-4),
        "Return the decoded images, in order from digit1 to digit2.",
    )
