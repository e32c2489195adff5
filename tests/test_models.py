import torch
from torch import nn

from aelab.models import VAE, AutoEncoder


def _linear_layers(module):
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def test_autoencoder_interface():
    model = AutoEncoder(latent_dim=3)
    x = torch.rand(10, 784)
    reconstruction, latent = model(x)
    assert reconstruction.shape == (10, 784) and latent.shape == (10, 3)
    assert torch.allclose(latent, model.encoder(x))
    assert torch.allclose(reconstruction, model.decoder(latent))
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1
    assert len(_linear_layers(model.encoder)) >= 4  # at least 3 hidden layers
    assert isinstance(model.decoder[-1], nn.Sigmoid)


def test_vae_interface():
    model = VAE(latent_dim=2)
    x = torch.rand(10, 784)
    reconstruction, mu, logvar = model(x)
    assert reconstruction.shape == (10, 784) and mu.shape == logvar.shape == (10, 2)
    expected_mu, expected_logvar = model.encode(x)
    assert torch.allclose(mu, expected_mu) and torch.allclose(logvar, expected_logvar)
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1
    assert model.decode(torch.zeros(4, 2)).shape == (4, 784)


def test_reparameterize_statistics():
    model = VAE(latent_dim=2)
    mu = torch.tensor([[1.5, -2.0]]).expand(200_000, 2)
    logvar = torch.tensor([[0.0, 2 * torch.log(torch.tensor(0.3)).item()]]).expand(200_000, 2)
    z = model.reparameterize(mu, logvar)
    assert torch.allclose(z.mean(0), torch.tensor([1.5, -2.0]), atol=0.01)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 0.3]), atol=0.01)


def test_reparameterize_is_random_and_differentiable():
    model = VAE(latent_dim=2)
    mu = torch.zeros(5, 2, requires_grad=True)
    logvar = torch.zeros(5, 2, requires_grad=True)
    first, second = model.reparameterize(mu, logvar), model.reparameterize(mu, logvar)
    assert not torch.allclose(first, second)
    first.sum().backward()
    assert mu.grad is not None and logvar.grad is not None and logvar.grad.abs().sum() > 0
