import pytest
import torch
from torch import nn

from aelab import latent
from aelab.models import AutoEncoder


def test_latent_grid_spans_the_square_in_reading_order():
    grid = latent.latent_grid(25, -5, 5)
    assert grid.shape == (625, 2)
    axis = torch.linspace(-5, 5, 25)
    assert torch.equal(grid[:25, 0], axis)  # first row: z1 left to right
    assert torch.all(grid[:25, 1] == 5)  # ... at the top (largest z2)
    assert torch.all(grid[-25:, 1] == -5)
    assert len({tuple(p) for p in grid.tolist()}) == 625


def test_tile_images_layout():
    images = torch.arange(6).float().view(6, 1, 1).expand(6, 2, 3)
    tiled = latent.tile_images(images, rows=2)
    assert tiled.shape == (4, 9)
    assert tiled[0, 0] == 0 and tiled[0, 3] == 1 and tiled[0, 8] == 2 and tiled[2, 0] == 3
    assert tiled[3, 8] == 5


def test_decode_images_shape():
    model = AutoEncoder(2)
    assert latent.decode_images(model.decoder, torch.zeros(5, 2)).shape == (5, 28, 28)


def test_get_test_digit_returns_that_digit(splits):
    for digit in (0, 5, 9):
        image = latent.get_test_digit(splits.test_loader, digit)
        assert image.shape == (1, 28, 28)
        labels = splits.test_dataset.tensors[1]
        matches = (splits.test_dataset.tensors[0] == image).flatten(1).all(1)
        assert labels[matches].unique().tolist() == [digit]


def test_get_test_digit_raises_for_a_missing_digit(splits):
    with pytest.raises(ValueError, match="no image of digit 11"):
        latent.get_test_digit(splits.test_loader, 11)


def test_interpolation_starts_and_ends_at_the_encodings():
    start, end = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 4.0])
    path = latent.interpolate_latents(start, end, 12)
    assert path.shape == (12, 2)
    assert torch.equal(path[0], start) and torch.allclose(path[-1], end)
    steps = path.diff(dim=0)
    assert torch.allclose(steps, steps[0].expand_as(steps))


def test_interpolate_digits_decodes_the_path(splits):
    model = AutoEncoder(2)
    generator = torch.Generator().manual_seed(0)
    images = latent.interpolate_digits(
        3, 6, splits.test_loader, model.encoder, model.decoder, generator=generator
    )
    assert images.shape == (12, 28, 28)
    generator.manual_seed(0)
    three = latent.get_test_digit(splits.test_loader, 3, generator)
    with torch.no_grad():
        expected_first = model.decoder(model.encoder(three.view(1, -1))).view(28, 28)
    assert torch.allclose(images[0], expected_first, atol=1e-6)


def test_prior_samples_are_standard_normal():
    z = latent.sample_prior(100_000, 2)
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=0.02)
    assert torch.allclose(z.std(0), torch.ones(2), atol=0.02)
    assert abs(torch.corrcoef(z.T)[0, 1]) < 0.02


def test_posterior_samples_follow_mu_and_sigma():
    mu = torch.tensor([[2.0, -1.0]]).expand(100_000, 2)
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).expand(100_000, 2)
    z = latent.sample_posterior(mu, logvar)
    assert torch.allclose(z.mean(0), torch.tensor([2.0, -1.0]), atol=0.03)
    assert torch.allclose(z.std(0), torch.tensor([0.5, 2.0]), atol=0.03)


def test_posterior_sampling_is_reproducible_with_a_generator():
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    first = latent.sample_posterior(mu, logvar, torch.Generator().manual_seed(7))
    second = latent.sample_posterior(mu, logvar, torch.Generator().manual_seed(7))
    assert torch.equal(first, second)


def test_interpolation_uses_the_models_device():
    encoder, decoder = nn.Linear(784, 2), nn.Linear(2, 784)
    start, end = encoder(torch.zeros(1, 784)), encoder(torch.ones(1, 784))
    assert latent.decode_images(decoder, latent.interpolate_latents(start[0], end[0])).shape == (
        12,
        28,
        28,
    )
