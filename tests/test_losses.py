import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from aelab.losses import kl_to_standard_normal, vae_loss


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(7, 3), torch.randn(7, 3)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(kl_to_standard_normal(mu, logvar), kl_divergence(q, p).sum(), rtol=1e-5)


def test_kl_is_zero_only_at_the_prior():
    assert kl_to_standard_normal(torch.zeros(4, 2), torch.zeros(4, 2)) == 0
    assert kl_to_standard_normal(torch.full((4, 2), 0.1), torch.zeros(4, 2)) > 0


def test_vae_loss_is_summed_squared_error_plus_kl():
    x, reconstruction = torch.rand(6, 784), torch.rand(6, 784)
    mu, logvar = torch.randn(6, 2), torch.randn(6, 2)
    expected = ((reconstruction - x) ** 2).sum() + kl_to_standard_normal(mu, logvar)
    assert torch.allclose(vae_loss(reconstruction, x, mu, logvar), expected)
    weighted = vae_loss(reconstruction, x, mu, logvar, kl_weight=0.5)
    assert torch.allclose(
        weighted,
        F.mse_loss(reconstruction, x, reduction="sum") + 0.5 * kl_to_standard_normal(mu, logvar),
    )
