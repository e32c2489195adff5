import pytest
import torch
from torch import nn
from torch.utils.data import Subset, TensorDataset

from aelab.data import InMemoryLoader
from aelab.models import VAE, AutoEncoder
from aelab.training import (
    EarlyStopping,
    autoencoder_loss,
    fit,
    resolve_device,
    train_autoencoder,
    train_vae,
)


class ScriptedModel(nn.Module):
    """Its validation loss follows ``losses``; each training step moves its one weight."""

    def __init__(self, losses):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.losses = losses
        self.weights_at_eval = []

    def forward(self, x):
        if self.training:
            return x + self.weight, x[:, :2]
        epoch = len(self.weights_at_eval)
        self.weights_at_eval.append(self.weight.item())
        return x + self.losses[epoch] ** 0.5 + 0 * self.weight, x[:, :2]


def _one_batch_loader(value=0.5):
    images = torch.full((4, 1, 28, 28), value)
    return InMemoryLoader(TensorDataset(images, torch.zeros(4, dtype=torch.long)), batch_size=4)


SCRIPT = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 3.9, 2.0, 1.0, 0.5, 0.4]


def test_early_stopping_on_scripted_sequence():
    stopper, model = EarlyStopping(patience=5), nn.Linear(1, 1)
    for epoch, loss in enumerate(SCRIPT):
        if stopper.update(epoch, loss, model):
            break
    assert epoch == 7  # best at epoch 2, then 5 epochs without improvement
    assert stopper.best_epoch == 2 and stopper.best_loss == 3.0


def test_equal_loss_is_not_an_improvement():
    stopper, model = EarlyStopping(patience=2), nn.Linear(1, 1)
    assert [stopper.update(e, 1.0, model) for e in range(3)] == [False, False, True]


def test_fit_stops_after_patience_and_restores_best_weights(capsys):
    model = ScriptedModel(SCRIPT)
    result = fit(
        model,
        autoencoder_loss,
        _one_batch_loader(),
        _one_batch_loader(),
        num_epochs=12,
        early_stopping_patience=5,
        device="cpu",
        progress=False,
    )
    assert len(result.val_losses) == 8
    assert result.val_losses == pytest.approx(SCRIPT[:8])
    assert result.best_epoch == 2
    assert model.weight.item() == pytest.approx(model.weights_at_eval[2])
    assert model.weight.item() != pytest.approx(model.weights_at_eval[-1])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 8  # the stopping epoch is printed too
    assert lines[-1] == "Epoch [8/12], Validation Loss: 3.9000, Patience Count: 5"


def test_fit_runs_all_epochs_while_improving():
    model = ScriptedModel([10.0 - e for e in range(6)])
    result = fit(
        model,
        autoencoder_loss,
        _one_batch_loader(),
        _one_batch_loader(),
        num_epochs=6,
        early_stopping_patience=2,
        device="cpu",
        progress=False,
    )
    assert len(result.val_losses) == 6 and result.best_epoch == 5


@pytest.fixture(scope="module")
def small_loaders(splits):
    train = Subset(splits.train_dataset.dataset, splits.train_dataset.indices[:4096])
    val = Subset(splits.val_dataset.dataset, splits.val_dataset.indices[:1024])
    return (
        InMemoryLoader(train, 256, shuffle=True, generator=torch.Generator().manual_seed(0)),
        InMemoryLoader(val, 512),
    )


def test_autoencoder_training_reduces_loss_on_real_data(small_loaders):
    result = fit(
        AutoEncoder(2), autoencoder_loss, *small_loaders, num_epochs=3, device="cpu", progress=False
    )
    assert result.val_losses[-1] < result.val_losses[0] < 0.12


def test_train_functions_keep_the_course_signatures(small_loaders, capsys):
    ae = train_autoencoder(*small_loaders, num_epochs=1, device="cpu", progress=False)
    vae = train_vae(*small_loaders, num_epochs=2, device="cpu", progress=False)
    assert isinstance(ae, AutoEncoder) and ae.latent_dim == 2
    assert isinstance(vae, VAE) and vae.latent_dim == 2
    vae_losses = [
        float(line.split("Validation Loss: ")[1].split(",")[0])
        for line in capsys.readouterr().out.splitlines()
        if "Validation" in line
    ][1:]
    assert vae_losses[1] < vae_losses[0]


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert resolve_device().type == expected
