"""Where a submission's code runs: a bubblewrap sandbox by default, a Docker container, or none.

The bubblewrap sandbox (the one Flatpak uses, Debian/Ubuntu package ``bubblewrap``) gives
each notebook: a read-only view of the system and of Python, its own size-limited ``/tmp``
and home folder (holding nothing but a read-only MNIST), no network, its own process, IPC
and user namespaces, an empty environment but for a few variables, and no way to outlive the
grader (``--die-with-parent``; the whole PID namespace dies with it). The grader's home,
files, environment, other submissions, the gradebook and the autograder are not in it.

Limits: memory per process (``RLIMIT_AS``) and in total for the sandbox, processes (the
worker's ``RLIMIT_NPROC``, and a count of the sandbox's processes), disk (the tmpfs sizes).
The totals are watched from outside every fraction of a second; a sandbox over a limit is
killed and the row says which limit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
HOME = "/home/student"  # the notebook's folder inside the sandbox
WORKER_INSIDE = "/opt/aelab/worker.py"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_ETC = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime")
_live: set[Sandbox] = set()  # running sandboxes, for stop_all
_live_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """Resource limits for one graded notebook."""

    memory_gb: float = 6.0  # all of the sandbox's processes together
    processes: int = 64  # threads count too: a notebook has ~10, a DataLoader's workers more
    disk_mb: int = 512  # each of /tmp and the home folder

    def rlimits(self) -> dict[str, int]:
        """What the worker sets on itself before the notebook runs (inherited by its children)."""
        memory = int(self.memory_gb * 2**30)
        return {
            "RLIMIT_AS": memory,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_FSIZE": self.disk_mb * 2**20,
            "RLIMIT_CORE": 0,
        }


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
        "On macOS or Windows use --docker IMAGE. --unsafe-no-sandbox grades without isolation: "
        "students' code then runs as you, with your files and network."
    )


def environment(epoch_cap: int | None, threads: int, data_root: str | None) -> dict[str, str]:
    """The only variables a graded notebook sees: no token, key or path of the grader's."""
    env = {
        "HOME": HOME,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CUDA_VISIBLE_DEVICES": "",  # the same device, and so the same numbers, everywhere
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
    }
    if data_root is not None:
        env["AELAB_DATA_ROOT"] = data_root
    if epoch_cap is not None:
        env["AELAB_EPOCH_CAP"] = str(epoch_cap)
    return env


def bwrap_command(mnist: Path | None, env: dict[str, str], limits: Limits) -> list[str]:
    """The ``bwrap`` command line that runs the worker, with ``mnist`` (unpacked) if given."""
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
    command += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
    # After the tmpfs mounts: a virtual environment under /tmp (a CI clone) must not be hidden.
    for prefix in sorted({sys.base_prefix, sys.prefix}):  # Python and its virtual environment
        if not prefix.startswith("/usr/"):
            command += ["--ro-bind", prefix, prefix]
    if mnist is not None:
        command += ["--ro-bind", str(mnist), f"{HOME}/data"]
    command += ["--ro-bind", str(WORKER), WORKER_INSIDE, "--remount-ro", "/", "--chdir", HOME]
    command += ["--uid", "65534", "--gid", "65534", "--clearenv"]
    for name, value in sorted(env.items()):
        command += ["--setenv", name, value]
    return [*command, sys.executable, WORKER_INSIDE]


def docker_command(
    image: str, name: str, mnist: Path | None, env: dict[str, str], limits: Limits
) -> list[str]:
    """``docker run`` for the worker: no network, not root, read-only, memory and process caps.

    Only JSON lines come back (the worker's events); nothing from the container is unpickled.
    """
    size = f"{limits.disk_mb}m"
    command = ["docker", "run", "--rm", "-i", "--name", name, "--network", "none"]
    command += ["--memory", f"{limits.memory_gb}g", "--memory-swap", f"{limits.memory_gb}g"]
    command += ["--pids-limit", str(limits.processes), "--read-only", "--user", "65534:65534"]
    command += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    command += ["--tmpfs", f"/tmp:rw,size={size},mode=1777", "--shm-size", size]
    command += ["--tmpfs", f"{HOME}:rw,size={size},uid=65534,gid=65534,mode=700"]
    if mnist is not None:
        command += ["-v", f"{mnist}:{HOME}/data:ro"]
    command += ["-v", f"{WORKER}:{WORKER_INSIDE}:ro"]
    command += ["-w", HOME]
    for key, value in sorted(env.items()):
        if key != "PATH":  # the image's own Python
            command += ["-e", f"{key}={value}"]
    return [*command, image, "python", WORKER_INSIDE]


class Sandbox:
    """One running worker: its process, a watch on its resources, and a way to end it."""

    def __init__(
        self,
        isolation: str,
        mnist: Path | None,
        env: dict[str, str],
        limits: Limits,
        image: str = "",
    ) -> None:
        self.isolation, self.limits = isolation, limits
        self.name = f"aelab-{uuid.uuid4().hex[:12]}"
        self.over_limit = ""  # what the watch found, if it killed the sandbox
        self._folder: Path | None = None
        if isolation == "bwrap":
            command, cwd = bwrap_command(mnist, env, limits), None
        elif isolation == "docker":
            command, cwd = docker_command(image, self.name, mnist, env, limits), None
        else:  # no isolation: a folder of its own and the same worker
            import tempfile

            self._folder = Path(tempfile.mkdtemp(prefix="aelab-unsafe-"))
            env = {**env, "HOME": str(self._folder), "TMPDIR": str(self._folder)}
            if mnist is not None:
                (self._folder / "data").symlink_to(mnist)
                env["AELAB_DATA_ROOT"] = str(self._folder / "data")
            command, cwd = [sys.executable, str(WORKER)], self._folder
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env if isolation == "none" else {"PATH": os.environ.get("PATH", "")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._stop = threading.Event()
        with _live_lock:
            _live.add(self)
        if isolation != "docker":  # Docker enforces its own limits
            threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        memory_limit = self.limits.memory_gb * 2**30
        while not self._stop.wait(0.2) and self.process.poll() is None:
            memory, tasks = _tree_usage(self.process.pid)
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
            subprocess.run(["docker", "kill", self.name], capture_output=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill what is left, wait for it, and remove the unsafe mode's folder."""
        self._stop.set()
        self.kill()
        self.process.wait()
        with _live_lock:
            _live.discard(self)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _pss(pid: int) -> int:
    """The proportional set size of ``pid`` in bytes (its resident size where not available)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    with open(f"/proc/{pid}/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def stop_all() -> None:
    """Kill every running sandbox (on Ctrl-C: the run stops at once)."""
    with _live_lock:
        running = list(_live)
    for sandbox in running:
        sandbox.kill()


def _tree_usage(root: int) -> tuple[int, int]:
    """Memory (bytes) and tasks (threads) of ``root`` and all its descendants.

    Memory is the proportional set size: pages that forked processes share (a DataLoader's
    workers share the notebook's) count once, split between them, not once per process.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    memory = tasks = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
            memory += _pss(pid)
        except (OSError, IndexError, ValueError):
            continue
    return memory, tasks
