import pytest
import torch

from aelab.data import make_splits


@pytest.fixture(scope="session")
def splits():
    """The real MNIST split, loaded once per test session (under a second)."""
    return make_splits()


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(1234)
