"""Problem 5: a grid of latent codes in reading order, and the images it decodes to."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import observe

from .common import TRAINED_AE, as_tensor, attr, call, expect, need, need_tensor

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "grid_shapes": ("latent_x", "latent_y", "latent_grid", "grid_images"),
    "grid_spans_minus_five_to_five": ("latent_x", "latent_y", "latent_grid"),
    "grid_reading_order": ("latent_grid",),
    "grid_images_are_decoded_grid_points": ("trained_autoencoder", "latent_grid", "grid_images"),
}

PROBLEM_5 = "run Problem 5's cell first (it needs `trained_autoencoder`)."


def grid_shapes(env: Any) -> None:
    """latent_x and latent_y hold 25 values, the grid 625 points, the images 625 x 28 x 28."""
    student = observe(env)
    for name in ("latent_x", "latent_y"):
        axis = need_tensor(student, name, PROBLEM_5)
        expect(tuple(axis.shape) == (25,), "{name} should hold 25 values.", name=name)
    expect(
        tuple(need_tensor(student, "latent_grid", PROBLEM_5).shape) == (625, 2),
        "latent_grid should have shape [625, 2].",
    )
    images = need_tensor(student, "grid_images", PROBLEM_5)
    expect(
        tuple(images.shape) == (625, 28, 28),
        "grid_images should have shape [625, 28, 28] (one 28 x 28 image per grid point), not "
        "{shape}: the cell after yours tiles them as images.",
        shape=list(images.shape),
    )


def grid_spans_minus_five_to_five(env: Any) -> None:
    """Each axis holds 25 evenly spaced values from -5 to 5; the grid every pair once."""
    student = observe(env)
    expected = torch.linspace(-5, 5, 25)
    for name in ("latent_x", "latent_y"):
        axis = need_tensor(student, name, PROBLEM_5)
        expect(
            axis.shape == expected.shape
            and torch.allclose(torch.sort(axis).values, expected, atol=1e-5),
            "{name} should be 25 evenly spaced values from -5 to 5, both included.",
            name=name,
        )
    grid = need_tensor(student, "latent_grid", PROBLEM_5)
    expect(grid.numel() == 1250, "latent_grid should have shape [625, 2].")
    points = {(round(a, 4), round(b, 4)) for a, b in grid.reshape(-1, 2).tolist()}
    wanted = {(round(a, 4), round(b, 4)) for a in expected.tolist() for b in expected.tolist()}
    expect(
        points == wanted and len(grid) == 625,
        "latent_grid should hold each of the 25 x 25 combinations of the two axes exactly once.",
    )


def grid_reading_order(env: Any) -> None:
    """Row by row from z2 = 5 down to -5; within a row z1 from -5 to 5."""
    grid = need_tensor(observe(env), "latent_grid", PROBLEM_5)
    expect(grid.numel() == 1250, "latent_grid should have shape [625, 2].")
    grid = grid.reshape(25, 25, 2)
    expect(
        torch.allclose(grid[0, :, 1], torch.full((25,), 5.0))
        and torch.allclose(grid[-1, :, 1], torch.full((25,), -5.0)),
        "Row by row, z2 should go from 5 (first row) down to -5 (last row); each row keeps one "
        'value of z2 (meshgrid with indexing="ij" on latent_y.flip(0) and latent_x).',
    )
    expect(
        torch.allclose(grid[0, :, 0], torch.linspace(-5, 5, 25), atol=1e-5),
        "Within a row, z1 should go from -5 to 5.",
    )


def grid_images_are_decoded_grid_points(env: Any) -> None:
    """grid_images[i] is the trained decoder's output for latent_grid[i]."""
    student = observe(env)
    model = need(student, "trained_autoencoder", TRAINED_AE)
    grid = need_tensor(student, "latent_grid", PROBLEM_5).reshape(625, 2)
    decoder = attr(model, "decoder")
    expected = as_tensor(call("trained_autoencoder.decoder", decoder, grid))
    expect(
        expected is not None
        and expected.numel() == 625 * 784
        and torch.allclose(
            need_tensor(student, "grid_images", PROBLEM_5).reshape(625, 28, 28),
            expected.reshape(625, 28, 28).float(),
            atol=1e-5,
        ),
        "grid_images[i] should be the trained decoder's output for latent_grid[i].",
    )
