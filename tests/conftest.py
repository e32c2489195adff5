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
def mnist(tmp_path_factory):
    """MNIST unpacked once, as a grading run mounts it into each sandbox."""
    from aelab.data import unpack_mnist

    return unpack_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The assignment built once for the session: (output folder, build report)."""
    from lab_env import LAB

    from aelab.build import build_assignment

    out = tmp_path_factory.mktemp("build") / "autograder"
    return out, build_assignment(out, LAB)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def graded_class(built, tmp_path_factory):
    """The class of tests/canvas_class.py graded in one run with bubblewrap (see hostile_run)."""
    from hostile_run import grade_class

    from aelab.grading.runner import RunOptions

    out, _ = built
    return grade_class(out, tmp_path_factory.mktemp("class"), RunOptions(cell_timeout=45.0))


@pytest.fixture(autouse=True)
def _every_import_is_what_changes_csv_says(request):
    """After each test: every gradebook_import.csv it wrote, imported by the model of Canvas
    (canvas_model.py), stores exactly what its changes.csv says, clearing nothing."""
    yield
    tmp_path = request.node.funcargs.get("tmp_path")
    passed = getattr(request.node, "rep_call", None) and request.node.rep_call.passed
    if tmp_path is None or not passed:
        return
    from canvas_model import check_import

    for path in tmp_path.rglob("gradebook_import.csv"):
        check_import(path.parent)
