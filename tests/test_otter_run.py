import pytest
from otter.grade import containers
from otter.grade.utils import TimeoutException
from otter.test_files import GradingResults

from aelab.otter_run import GradingError, grade_notebook_in_docker, grading_environment


def test_grading_environment_is_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("CANVAS_API_TOKEN", "secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = grading_environment(tmp_path, tmp_path / "data", epoch_cap=1, threads=1)
    assert "secret" not in env.values()
    assert env["HOME"] == str(tmp_path / "home") and env["TMPDIR"] == str(tmp_path / "tmp")
    assert (tmp_path / "home").is_dir() and (tmp_path / "tmp").is_dir()
    assert env["AELAB_DATA_ROOT"] == str(tmp_path / "data") and env["AELAB_EPOCH_CAP"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"
    full = grading_environment(tmp_path, None, epoch_cap=None)
    assert "AELAB_EPOCH_CAP" not in full and "AELAB_DATA_ROOT" not in full


@pytest.mark.parametrize(
    ("error", "timed_out", "reason"),
    [
        (TimeoutException("took too long"), True, "timed out after 90 s"),
        (Exception("exit code 137"), False, "container failed: exit code 137"),
    ],
)
def test_docker_failures_become_grading_errors(monkeypatch, tmp_path, error, timed_out, reason):
    calls = []

    def fake_grade_submission(path, image, timeout, network):
        calls.append((path, image, timeout, network))
        return GradingResults.without_results(error)

    monkeypatch.setattr(containers, "grade_submission", fake_grade_submission)
    with pytest.raises(GradingError) as caught:
        grade_notebook_in_docker("otter-grade:aelab-x", tmp_path / "nb.ipynb", timeout=90)
    assert caught.value.timed_out is timed_out and str(caught.value) == reason
    assert calls == [(str(tmp_path / "nb.ipynb"), "otter-grade:aelab-x", 90, False)]
