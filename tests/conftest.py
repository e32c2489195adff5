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
    """The class of tests/canvas_class.py graded in one run, with a planted token, home file
    and listening port the attacks go after; what the run wrote and saw."""
    import hashlib
    import os
    import socket
    import threading
    from types import SimpleNamespace

    import canvas_class

    from aelab.canvas import read_gradebook
    from aelab.grading import GradingOptions, grade_submissions
    from aelab.grading.runner import RunOptions
    from aelab.report.class_report import write_report

    out, _ = built
    root = tmp_path_factory.mktemp("class")
    home = root / "grader-home"
    (home / ".ssh").mkdir(parents=True)
    planted = home / ".ssh" / "id_rsa"
    planted.write_text(canvas_class.SSH_KEY)
    server, connections = socket.socket(), []
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    threading.Thread(target=lambda: connections.append(server.accept()), daemon=True).start()
    download, gradebook_path = canvas_class.build_class(out, root / "download", port, planted)
    watched = [out / "autograder.zip", download, gradebook_path, planted]
    before = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in watched}
    gradebook = read_gradebook(gradebook_path)
    column = gradebook.assignment_column("Autoencoders")
    saved = {name: os.environ.get(name) for name in ("HOME", "CANVAS_API_TOKEN")}
    os.environ.update(HOME=str(home), CANVAS_API_TOKEN=canvas_class.TOKEN)
    try:
        options = GradingOptions(
            out / "autograder.zip",
            workers=2,
            run=RunOptions(cell_timeout=45.0),
            groups=canvas_class.GROUPS,
        )
        results = root / "grades"
        summary = grade_submissions(download, results, options, gradebook, column, False)
        write_report(results)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    server.close()
    changed = [p for p in watched if hashlib.sha256(p.read_bytes()).hexdigest() != before[p]]
    return SimpleNamespace(
        results=results, summary=summary, options=options, gradebook=gradebook, column=column,
        download=download, connections=connections, changed=changed, port=port, planted=planted,
    )  # fmt: skip


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
