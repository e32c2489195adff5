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


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The assignment built once for the session: (output folder, build report)."""
    from aelab.build import build_assignment

    out = tmp_path_factory.mktemp("build") / "autograder"
    return out, build_assignment(out)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
