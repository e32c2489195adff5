import torch
from torch.utils.data import TensorDataset

from aelab.data import InMemoryLoader
from aelab.evaluation import pca_reconstruction_mse, reconstruction_mse, stack_images
from aelab.models import VAE, AutoEncoder


def test_pca_matches_svd():
    data = torch.randn(500, 6) @ torch.randn(6, 6)
    train, test = data[:400], data[400:]
    mean = train.mean(0)
    _, _, vt = torch.linalg.svd(train - mean, full_matrices=False)
    axes = vt[:2].T
    expected = torch.mean((((test - mean) @ axes @ axes.T + mean) - test) ** 2)
    assert abs(pca_reconstruction_mse(train, test, 2) - expected.item()) < 1e-5
    assert pca_reconstruction_mse(train, test, 6) < 1e-8


def test_reconstruction_mse_by_hand():
    images = torch.rand(40, 1, 28, 28)
    loader = InMemoryLoader(TensorDataset(images, torch.zeros(40)), batch_size=16)
    assert torch.equal(stack_images(loader), images.view(40, -1))
    model = AutoEncoder(2)
    with torch.no_grad():
        expected = torch.mean((model(images.view(40, -1))[0] - images.view(40, -1)) ** 2)
    assert abs(reconstruction_mse(model, loader) - expected.item()) < 1e-6
    vae = VAE(2)
    with torch.no_grad():
        flat = images.view(40, -1)
        expected = torch.mean((vae.decode(vae.encode(flat)[0]) - flat) ** 2)
    assert abs(reconstruction_mse(vae, loader) - expected.item()) < 1e-6
