"""The master notebook's reference code and the aelab package must not drift apart."""

import ast
import contextlib
import io

import nbformat
import pytest
import torch
import torch.nn.functional as F
from lab_env import MASTER
from torch import nn, optim
from torch.utils.data import DataLoader, Subset

from aelab import latent, losses, models, training


def _only_definitions(source):
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics
        return False
    kinds = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return bool(body) and all(isinstance(node, kinds) for node in body)


@pytest.fixture(scope="module")
def notebook():
    """Namespace holding the master's classes and functions (its solution code)."""
    namespace = {"torch": torch, "nn": nn, "F": F, "optim": optim, "DataLoader": DataLoader}
    for cell in nbformat.read(MASTER, as_version=4).cells:
        if cell.cell_type == "code" and _only_definitions(cell.source):
            exec(cell.source, namespace)
    return namespace


@pytest.mark.parametrize("name", ["AutoEncoder", "VAE"])
def test_models_match(notebook, name):
    torch.manual_seed(0)
    ours = getattr(models, name)(2)
    torch.manual_seed(0)
    theirs = notebook[name](2)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(
        torch.equal(a, b)
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True)
    )
    x = torch.rand(5, 784)
    torch.manual_seed(1)
    expected = ours(x)
    torch.manual_seed(1)
    assert all(torch.allclose(a, b) for a, b in zip(expected, theirs(x), strict=True))


def test_vae_loss_matches(notebook):
    args = torch.rand(4, 784), torch.rand(4, 784), torch.randn(4, 2), torch.randn(4, 2)
    assert torch.allclose(notebook["vae_loss"](*args), losses.vae_loss(*args))


def test_get_test_digit_matches(notebook, splits):
    torch.manual_seed(3)
    theirs = notebook["get_test_digit"](splits.test_loader, 4)
    torch.manual_seed(3)
    assert torch.equal(theirs, latent.get_test_digit(splits.test_loader, 4))
    with pytest.raises(ValueError, match="digit 12"):
        notebook["get_test_digit"](splits.test_loader, 12)


@pytest.mark.parametrize(
    ("ours", "theirs", "model"),
    [
        (training.train_autoencoder, "train_autoencoder", "AutoEncoder"),
        (training.train_vae, "train_vae", "VAE"),
    ],
)
def test_training_matches(notebook, splits, ours, theirs, model):
    train = Subset(splits.train_dataset, range(1024))
    val = Subset(splits.val_dataset, range(512))

    def run(train_function, **options):
        torch.manual_seed(5)
        start = notebook[model](2)
        loaders = (
            DataLoader(train, 256, shuffle=True, generator=torch.Generator().manual_seed(1)),
            DataLoader(val, 256),
        )
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            torch.manual_seed(6)
            trained = train_function(*loaders, model=start, num_epochs=3, **options)
        return trained.state_dict(), printed.getvalue().splitlines()

    expected_state, expected_lines = run(ours, device="cpu", progress=False)
    state, lines = run(notebook[theirs])
    assert lines == expected_lines
    for key, value in expected_state.items():
        assert torch.allclose(state[key], value, atol=1e-5), key
