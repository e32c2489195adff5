"""The Docker path's guards, checked without an engine (the real thing: test_docker.py)."""

import os

from aelab.cli import main
from aelab.grading import container


def test_grading_with_an_image_that_is_not_there_is_refused_before_anything(tmp_path, capsys):
    autograder, submissions = tmp_path / "autograder.zip", tmp_path / "download"
    autograder.write_bytes(b"")
    submissions.mkdir()
    image = "aelab-no-such-image-3f9c"
    argv = ["grade", str(submissions), "--autograder", str(autograder), "--docker", image]
    assert main([*argv, "--out", str(tmp_path / "grades")]) == 1
    said = capsys.readouterr().err
    assert said == container.image_problem(image) + "\nNothing was written.\n"
    assert not (tmp_path / "grades").exists()


def test_without_docker_the_refusal_says_what_to_install(monkeypatch):
    monkeypatch.setattr(container.shutil, "which", lambda name: None)
    said = container.image_problem("aelab-grader")
    assert "Docker Desktop" in said and "docker build -t aelab-grader -f docker/Dockerfile" in said


def test_an_engine_process_id_counts_only_where_its_cgroups_name_the_container():
    """Under Docker Desktop the engine's process id is another machine's: never read here."""
    assert container._cgroup_of("0" * 64, str(os.getpid())) is None
    assert container._cgroup_of("0" * 64, "999999999") is None


def test_the_docker_command_finds_its_engine_and_nothing_else_of_the_graders(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/podman/podman.sock")
    monkeypatch.setenv("CANVAS_API_TOKEN", "token-sentinel")
    env = container.client_env()
    assert env["DOCKER_HOST"].endswith("podman.sock") and "PATH" in env
    assert "CANVAS_API_TOKEN" not in env


def test_mnist_is_unpacked_readable_by_a_containers_user(tmp_path):
    """A container's user 65534 reads the mounted folder as "others", whatever the umask."""
    from aelab.data import unpack_mnist

    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o700)
    old = os.umask(0o077)
    try:
        dest = unpack_mnist(scratch)
    finally:
        os.umask(old)
    for path in [dest, *dest.rglob("*")]:
        wanted = 0o755 if path.is_dir() else 0o644
        assert path.stat().st_mode & 0o777 == wanted, path


def test_a_containers_cgroups_are_found_on_cgroup_v1_v2_and_hybrid_machines():
    ident = "3bf1d5e6" * 8
    v1 = [f"8:pids:/docker/{ident}", f"4:memory:/docker/{ident}", f"1:cpu,cpuacct:/docker/{ident}"]
    hybrid = [*v1, f"0::/docker/{ident}"]  # v2's line holds no controller there
    v2 = [f"0::/system.slice/docker-{ident}.scope"]
    for lines, pids in (
        (v1, f"/sys/fs/cgroup/pids/docker/{ident}"),
        (hybrid, f"/sys/fs/cgroup/pids/docker/{ident}"),
        (v2, f"/sys/fs/cgroup/system.slice/docker-{ident}.scope"),
    ):
        found = container.cgroup_in(lines, ident)
        assert found is not None and str(found.folders["pids"]) == pids, lines
    assert container.cgroup_in(["8:pids:/user.slice"], ident) is None  # another process's
