"""Where a submission's code runs: a bubblewrap sandbox by default, a Docker container, or none.

The bubblewrap sandbox (the one Flatpak uses, Debian/Ubuntu package ``bubblewrap``) gives
each notebook: a read-only view of the system and of Python, its own size-limited ``/tmp``,
``/dev/shm`` and home folder (holding nothing but a read-only MNIST), a read-only ``/dev``, no
network, its own process, IPC and user namespaces, an empty environment but for a few
variables, and no way to outlive its judge (``--die-with-parent``; the whole PID namespace
dies with it). The grader's home, files, environment, other submissions, the gradebook, the
autograder and the checks are not in it: only the worker (``aelab.student_side``). A Docker
container (``container``) gives the same worker the same, for graders without bubblewrap.

Limits (``limits``), where the machine lets the grader make cgroups (cgroup v1 ``memory``,
``pids`` and ``cpu`` controllers, writable as root): the kernel counts all of the sandbox's
memory (processes, tmpfs files, memfd and shared memory alike), its processes and threads,
and caps its CPU time at its share of the cores, so a notebook that forks spinning sessions
slows only itself. Elsewhere a watch from outside adds up every fraction of a second the
sandbox's processes' proportional set size, its tmpfs files and its memfds, and counts its
tasks; CPU is then not capped. A container's limits are the engine's. Either way a sandbox
over a limit is killed and the row says which limit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from aelab.grading import container
from aelab.grading.inside import HOME, INSIDE, STUDENT_SIDE, WORKER
from aelab.grading.limits import Cgroup, Limits, tree_usage

_ETC = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime")
TMPFS = ("tmp", "dev/shm", HOME.lstrip("/"))  # the sandbox's own tmpfs mounts, from its root
CONTAINER_START_S = 60.0  # for the engine to start a container (its cgroups are found then)
CONTAINER_EXIT_S = 2.0  # for a container whose input ended to stop by itself


def bwrap_available() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here (user namespaces allowed)."""
    if shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(
        ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"],
        capture_output=True,
    )
    return probe.returncode == 0


def bwrap_missing_message() -> str:
    """How to get the sandbox, for the error that refuses to grade without it."""
    return (
        "Grading runs each notebook in a bubblewrap sandbox, and bwrap is not available here. "
        "Install it (Debian/Ubuntu: sudo apt-get install -y bubblewrap; Fedora: sudo dnf "
        "install bubblewrap) and make sure unprivileged user namespaces are allowed. "
        "On macOS or Windows use Docker: make docker-image, then --docker aelab-grader. "
        "--unsafe-no-sandbox grades without isolation: "
        "students' code then runs as you, with your files and network."
    )


def bwrap_command(data: Path | None, env: dict[str, str], limits: Limits) -> list[str]:
    """The ``bwrap`` command line that runs the worker, with ``data`` (unpacked) if given."""
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    command += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    for path in _ETC:
        command += ["--ro-bind-try", path, path]
    size = str(limits.disk_mb * 2**20)
    command += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm"]
    command += ["--remount-ro", "/dev"]  # a writable /dev would be memory no limit counts
    command += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
    # After the tmpfs mounts: a virtual environment under /tmp (a CI clone) must not be hidden.
    for prefix in sorted({sys.base_prefix, sys.prefix}):  # Python and its virtual environment
        if not prefix.startswith("/usr/"):
            command += ["--ro-bind", prefix, prefix]
    if data is not None:
        command += ["--ro-bind", str(data), f"{HOME}/data"]
    command += ["--ro-bind", str(STUDENT_SIDE), f"{INSIDE}/student_side"]
    command += ["--remount-ro", "/", "--chdir", HOME]
    command += ["--uid", "65534", "--gid", "65534", "--clearenv"]
    for name, value in sorted(env.items()):
        command += ["--setenv", name, value]
    return [*command, sys.executable, *WORKER]


class Sandbox:
    """One running worker: its process, its limits, and a way to end it."""

    def __init__(
        self,
        isolation: str,
        data: Path | None,
        env: dict[str, str],
        limits: Limits,
        image: str = "",
    ) -> None:
        self.isolation, self.limits = isolation, limits
        self.name = f"aelab-{uuid.uuid4().hex[:12]}"
        self.over_limit = ""  # the limit it ran into, if it was stopped for one
        self.cgroup: Cgroup | None = None  # the grader's own, for a bubblewrap sandbox
        self._counter: Cgroup | None = None  # the cgroups the watch reads
        self._folder: Path | None = None
        cpus = max(1, int(env.get("OMP_NUM_THREADS", "1")))
        if isolation == "bwrap":
            command, cwd = bwrap_command(data, env, limits), None
            launch = {"PATH": os.environ.get("PATH", "")}  # bwrap sets the worker's own
            self.cgroup = Cgroup.make(self.name, limits, cpus)
            if self.cgroup is not None:
                command = self.cgroup.enter(command)
        elif isolation == "docker":
            command = container.docker_command(image, self.name, data, env, limits, cpus)
            cwd, launch = None, container.client_env()  # the docker command's, not the worker's
        else:  # no isolation: a folder of its own and the same worker
            self._folder = Path(tempfile.mkdtemp(prefix="aelab-unsafe-"))
            env = {**env, "HOME": str(self._folder), "TMPDIR": str(self._folder)}
            env["PYTHONPATH"] = str(STUDENT_SIDE.parent)
            if data is not None:
                (self._folder / "data").symlink_to(data)
                env["AELAB_DATA_ROOT"] = str(self._folder / "data")
            command, cwd, launch = [sys.executable, *WORKER], self._folder, env
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=launch,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        memory_limit = self.limits.memory_gb * 2**30
        self._counter = self.cgroup
        if self.isolation == "docker":  # the engine's cgroups, where this machine can read them
            self._counter = container.cgroup_when_running(self.name, self._stop, CONTAINER_START_S)
        while not self._stop.wait(0.2) and self.process.poll() is None:
            if self._counter is not None:
                self.over_limit = self._counter.over(self.limits)
            elif self.isolation != "docker" and os.path.isdir("/proc"):  # no /proc: macOS
                memory, tasks = tree_usage(self.process.pid, TMPFS)
                if tasks > self.limits.processes:
                    self.over_limit = f"ran more than {self.limits.processes} processes or threads"
                elif memory > memory_limit:
                    self.over_limit = f"used more than {self.limits.memory_gb:g} GB of memory"
            if self.over_limit:
                self.kill()
                return

    def kill(self) -> None:
        """End the worker and everything it started."""
        if self.isolation == "docker":
            container.kill(self.name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill what is left, wait for it, and remove its cgroups, container or folder."""
        self._stop.set()
        if self.isolation == "docker":
            self._close_container()
        else:
            self.kill()
        self.process.wait()
        if self.cgroup is not None:
            self.over_limit = self.over_limit or self.cgroup.over(self.limits)
            self.cgroup.remove()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _close_container(self) -> None:
        """Let the container stop on its own (its input ended), read its fate, remove it.

        Removing it also ends the ``docker run`` attached to it.
        """
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(CONTAINER_EXIT_S)
        if self.process.poll() is None:
            self.kill()
        # Where the watch read the container's cgroups it saw any kill; elsewhere, ask the engine.
        if not self.over_limit and self._counter is None and container.oom_killed(self.name):
            self.over_limit = f"used more than {self.limits.memory_gb:g} GB of memory"
        container.remove(self.name)
