"""The Docker path: each notebook's worker in a container (for macOS and Windows graders).

The container runs the same worker as the bubblewrap sandbox (``aelab.student_side``,
mounted read-only) in an image with the lab's requirements (``docker/Dockerfile``): no
network, a read-only root, user 65534, no capabilities, memory, process and CPU limits, and
nothing of the grader's but MNIST (read-only). The notebook's cells and the checks' test
doubles reach it on its standard input; only frames come back. Checks and verdicts stay in
the judge, on the grader's side.

Limits are the engine's own (``--memory``, ``--pids-limit``, ``--cpus``). Which one a
container ran into is read from its cgroups where the engine runs on this machine (Docker on
Linux), and otherwise from the engine's record of an out-of-memory kill (Docker Desktop,
whose containers run in a virtual machine): there a notebook stopped at the process limit
is not named as such, its forks simply fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from aelab.grading.inside import HOME, INSIDE, STUDENT_SIDE, WORKER
from aelab.grading.limits import CGROUPS, Cgroup, Limits

USER = "65534:65534"  # nobody: no file of the image's is its own
LABEL = "aelab.judge"  # each container names the judge process that started it
ENGINE_S = 30.0  # for a `docker` command that only asks the engine something


def docker_command(
    image: str, name: str, data: Path | None, env: dict[str, str], limits: Limits, cpus: float
) -> list[str]:
    """``docker run`` for the worker: no network, not root, read-only, capped.

    Memory, processes and CPU are capped by the engine; its log is off (a notebook writing
    to its standard error would otherwise fill the engine's disk).
    """
    size = f"{limits.disk_mb}m"
    command = ["docker", "run", "-i", "--name", name, "--label", f"{LABEL}={os.getpid()}"]
    command += ["--network", "none", "--log-driver", "none"]
    command += ["--memory", f"{limits.memory_gb}g", "--memory-swap", f"{limits.memory_gb}g"]
    command += ["--pids-limit", str(limits.processes), "--cpus", f"{cpus:g}"]
    command += ["--read-only", "--user", USER]
    command += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    command += ["--tmpfs", f"/tmp:rw,size={size},mode=1777", "--shm-size", size]
    command += ["--tmpfs", f"{HOME}:rw,size={size},uid=65534,gid=65534,mode=700"]
    if data is not None:
        command += ["-v", f"{data}:{HOME}/data:ro"]
    command += ["-v", f"{STUDENT_SIDE}:{INSIDE}/student_side:ro"]
    command += ["-w", HOME]
    for key, value in sorted(env.items()):
        if key != "PATH":  # the image's own Python
            command += ["-e", f"{key}={value}"]
    return [*command, image, "python", *WORKER]


def client_env() -> dict[str, str]:
    """What the ``docker`` command needs of the grader's environment to find its engine.

    Only the command sees it (Docker Desktop's context, podman's socket): a container gets
    the variables ``docker_command`` names and no others.
    """
    wanted = ("PATH", "HOME", "XDG_RUNTIME_DIR", "CONTAINER_HOST")
    return {
        key: value
        for key, value in os.environ.items()
        if key in wanted or key.startswith("DOCKER_")
    }


def image_problem(image: str) -> str:
    """Why ``image`` cannot grade here (no ``docker``, no engine, no such image), or ""."""
    build = "docker build -t aelab-grader -f docker/Dockerfile . (see docs/grading.md)"
    if shutil.which("docker") is None:
        return f"--docker needs Docker (Docker Desktop on macOS and Windows), then: {build}"
    found = _docker("image", "inspect", "--format", "{{.Os}}", image)
    if found.returncode == 0:
        return ""
    if "No such image" in found.stderr or "No such object" in found.stderr:
        return f"There is no Docker image {image!r} here. Build it first: {build}"
    reason = found.stderr.strip().splitlines()[-1] if found.stderr.strip() else "no answer"
    return f"The Docker engine cannot be reached ({reason}). Start Docker, then try again."


def cgroup_when_running(name: str, stop: threading.Event, seconds: float) -> Cgroup | None:
    """The container's own cgroups once it runs, read from this machine.

    None where they cannot be read (the engine runs in a virtual machine), or if the container
    does not start within ``seconds``.
    """
    until = time.monotonic() + seconds
    while not stop.wait(0.25) and time.monotonic() < until:  # each look is a `docker` command
        found = _docker("inspect", "--format", "{{.Id}} {{.State.Pid}}", name)
        fields = found.stdout.split()
        if found.returncode == 0 and len(fields) == 2 and fields[1] != "0":
            return _cgroup_of(*fields)
    return None


def _cgroup_of(ident: str, pid: str) -> Cgroup | None:
    """The cgroups of process ``pid``, if they are container ``ident``'s.

    The engine's process id is only trusted when that process's cgroups name the container:
    under Docker Desktop the id is one of another machine's.
    """
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    return cgroup_in(lines, ident)


def cgroup_in(lines: list[str], ident: str) -> Cgroup | None:
    """Container ``ident``'s cgroups in a process's ``/proc/PID/cgroup`` lines (v1, v2, hybrid)."""
    folders: dict[str, Path] = {}
    unified = None  # cgroup v2's one folder; only where no v1 controller is (hybrid machines)
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if ident not in path:
            continue
        if controllers == "":
            unified = CGROUPS / path.lstrip("/")
        for controller in controllers.split(","):
            if controller in Cgroup.CONTROLLERS:
                folders[controller] = CGROUPS / controller / path.lstrip("/")
    if not folders and unified is not None:
        folders = dict.fromkeys(Cgroup.CONTROLLERS, unified)
    return Cgroup(folders) if {"memory", "pids"} <= set(folders) else None


def oom_killed(name: str) -> bool:
    """Whether the engine killed a process of the container for its memory limit."""
    found = _docker("inspect", "--format", "{{json .State.OOMKilled}}", name)
    return found.returncode == 0 and json.loads(found.stdout or "false") is True


def kill(name: str) -> None:
    """Stop the container now (its processes are the engine's, not the grader's children)."""
    _docker("kill", name)


def remove(name: str) -> None:
    """Remove the container, running or not."""
    _docker("rm", "--force", name)


def started(judge_pid: int | None = None) -> list[str]:
    """The ids of the containers, running or not, that a judge (or any judge) started."""
    label = LABEL if judge_pid is None else f"{LABEL}={judge_pid}"
    found = _docker("ps", "--all", "--quiet", "--filter", f"label={label}")
    return found.stdout.split() if found.returncode == 0 else []


def remove_started_by(judge_pid: int) -> None:
    """Remove every container a judge process started (after that judge was stopped)."""
    left = started(judge_pid)
    if left:
        _docker("rm", "--force", *left)


def _docker(*args: str) -> subprocess.CompletedProcess:
    """A ``docker`` command that asks or tells the engine something; never raises."""
    try:
        return subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            timeout=ENGINE_S,
            check=False,
            env=client_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(args, 1, "", str(error))
