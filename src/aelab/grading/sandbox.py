"""Where a submission's code runs: a bubblewrap sandbox by default, a Docker container, or none.

The bubblewrap sandbox (the one Flatpak uses, Debian/Ubuntu package ``bubblewrap``) gives
each notebook: a read-only view of the system and of Python, its own size-limited ``/tmp``,
``/dev/shm`` and home folder (holding nothing but a read-only MNIST), a read-only ``/dev``, no
network, its own process, IPC and user namespaces, an empty environment but for a few
variables, and no way to outlive its judge (``--die-with-parent``; the whole PID namespace
dies with it). The grader's home, files, environment, other submissions, the gradebook, the
autograder and the checks are not in it: only the worker (``aelab.student_side``).

Limits, where the machine lets the grader make cgroups (cgroup v1 ``memory``, ``pids`` and
``cpu`` controllers, writable as root): the kernel counts all of the sandbox's memory
(processes, tmpfs files, memfd and shared memory alike), its processes and threads, and caps
its CPU time at its share of the cores, so a notebook that forks spinning sessions slows
only itself. Elsewhere a watch from outside adds up every fraction of a second the sandbox's
processes' proportional set size, its tmpfs files and its memfds, and counts its tasks; CPU
is then not capped. Either way a sandbox over a limit is killed and the row says which limit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

STUDENT_SIDE = Path(__file__).parents[1] / "student_side"  # the worker and what it needs
HOME = "/home/student"  # the notebook's folder inside the sandbox
INSIDE = "/opt/aelab"  # where the sandbox finds STUDENT_SIDE (as the package student_side)
WORKER = ["-m", "student_side.worker"]
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CGROUPS = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
_ETC = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one graded notebook."""

    memory_gb: float = 6.0  # all of the sandbox's memory together, files in its tmpfs included
    processes: int = 64  # threads count too: a notebook has ~10, a DataLoader's workers more
    disk_mb: int = 512  # each of /tmp, /dev/shm and the home folder

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
        "PYTHONPATH": INSIDE,  # the worker's package
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
    command += ["--remount-ro", "/dev"]  # a writable /dev would be memory no limit counts
    command += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
    # After the tmpfs mounts: a virtual environment under /tmp (a CI clone) must not be hidden.
    for prefix in sorted({sys.base_prefix, sys.prefix}):  # Python and its virtual environment
        if not prefix.startswith("/usr/"):
            command += ["--ro-bind", prefix, prefix]
    if mnist is not None:
        command += ["--ro-bind", str(mnist), f"{HOME}/data"]
    command += ["--ro-bind", str(STUDENT_SIDE), f"{INSIDE}/student_side"]
    command += ["--remount-ro", "/", "--chdir", HOME]
    command += ["--uid", "65534", "--gid", "65534", "--clearenv"]
    for name, value in sorted(env.items()):
        command += ["--setenv", name, value]
    return [*command, sys.executable, *WORKER]


def docker_command(
    image: str, name: str, mnist: Path | None, env: dict[str, str], limits: Limits, cpus: float
) -> list[str]:
    """``docker run`` for the worker: no network, not root, read-only, capped.

    Memory, processes and CPU are capped. Only frames come back (see ``wire``); nothing from
    the container is unpickled.
    """
    size = f"{limits.disk_mb}m"
    command = ["docker", "run", "--rm", "-i", "--name", name, "--network", "none"]
    command += ["--memory", f"{limits.memory_gb}g", "--memory-swap", f"{limits.memory_gb}g"]
    command += ["--pids-limit", str(limits.processes), "--cpus", f"{cpus:g}"]
    command += ["--read-only", "--user", "65534:65534"]
    command += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    command += ["--tmpfs", f"/tmp:rw,size={size},mode=1777", "--shm-size", size]
    command += ["--tmpfs", f"{HOME}:rw,size={size},uid=65534,gid=65534,mode=700"]
    if mnist is not None:
        command += ["-v", f"{mnist}:{HOME}/data:ro"]
    command += ["-v", f"{STUDENT_SIDE}:{INSIDE}/student_side:ro"]
    command += ["-w", HOME]
    for key, value in sorted(env.items()):
        if key != "PATH":  # the image's own Python
            command += ["-e", f"{key}={value}"]
    return [*command, image, "python", *WORKER]


class Cgroup:
    """The sandbox's own cgroups (v1 ``memory``, ``pids`` and ``cpu``), made under the grader's.

    The kernel then counts everything the sandbox holds in memory (tmpfs files, memfd and
    shared memory too), refuses its processes past the limit, and gives it at most ``cpus``
    cores. ``make`` returns None where this machine does not let the grader make them.
    """

    CONTROLLERS = ("memory", "pids", "cpu")

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders

    @classmethod
    def make(cls, name: str, limits: Limits, cpus: float) -> Cgroup | None:
        """New cgroups for one sandbox, with ``limits`` set; None if they cannot be made."""
        folders: dict[str, Path] = {}
        try:
            for controller in cls.CONTROLLERS:
                folders[controller] = _own_cgroup(controller) / name
                folders[controller].mkdir()
            group = cls(folders)
            memory = str(int(limits.memory_gb * 2**30))
            group._set("memory", "memory.limit_in_bytes", memory)
            group._set("memory", "memory.memsw.limit_in_bytes", memory, optional=True)
            group._set("pids", "pids.max", str(limits.processes))
            group._set("cpu", "cpu.cfs_period_us", str(CPU_PERIOD_US))
            group._set("cpu", "cpu.cfs_quota_us", str(int(cpus * CPU_PERIOD_US)))
        except OSError:
            cls(folders).remove()
            return None
        return group

    def enter(self, command: list[str]) -> list[str]:
        """``command``, run inside these cgroups (or not at all, if it cannot enter them)."""
        script = 'for procs; do [ "$procs" = -- ] && break; echo $$ > "$procs" || exit 125; done'
        procs = [str(folder / "cgroup.procs") for folder in self.folders.values()]
        return ["/bin/sh", "-c", f'{script}; shift {len(procs) + 1}; exec "$@"', "sh", *procs,
                "--", *command]  # fmt: skip

    def over(self, limits: Limits) -> str:
        """Which limit the sandbox ran into, if any."""
        if _field(self.folders["memory"] / "memory.oom_control", "oom_kill") > 0:
            return f"used more than {limits.memory_gb:g} GB of memory"
        if _field(self.folders["pids"] / "pids.events", "max") > 0:
            return f"ran more than {limits.processes} processes or threads"
        return ""

    def remove(self) -> None:
        """Remove the cgroups (once their processes are gone)."""
        for folder in self.folders.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still leaving
                    time.sleep(0.02)

    def _set(self, controller: str, name: str, value: str, optional: bool = False) -> None:
        path = self.folders[controller] / name
        if optional and not path.exists():
            return
        path.write_text(value)


def _own_cgroup(controller: str) -> Path:
    """The grader's own cgroup folder for a v1 ``controller``."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUPS / controller / path.lstrip("/")
            if (folder / "cgroup.procs").exists():
                return folder
    raise FileNotFoundError(f"no {controller} cgroup (v1) here")


def _field(path: Path, name: str) -> int:
    """The number after ``name`` in a cgroup file of ``name value`` lines (0 if absent)."""
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


class Sandbox:
    """One running worker: its process, its limits, and a way to end it."""

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
        self.over_limit = ""  # the limit it ran into, if it was stopped for one
        self.cgroup: Cgroup | None = None
        self._folder: Path | None = None
        cpus = max(1, int(env.get("OMP_NUM_THREADS", "1")))
        if isolation == "bwrap":
            command, cwd = bwrap_command(mnist, env, limits), None
            self.cgroup = Cgroup.make(self.name, limits, cpus)
            if self.cgroup is not None:
                command = self.cgroup.enter(command)
        elif isolation == "docker":
            command, cwd = docker_command(image, self.name, mnist, env, limits, cpus), None
        else:  # no isolation: a folder of its own and the same worker
            import tempfile

            self._folder = Path(tempfile.mkdtemp(prefix="aelab-unsafe-"))
            env = {**env, "HOME": str(self._folder), "TMPDIR": str(self._folder)}
            env["PYTHONPATH"] = str(STUDENT_SIDE.parent)
            if mnist is not None:
                (self._folder / "data").symlink_to(mnist)
                env["AELAB_DATA_ROOT"] = str(self._folder / "data")
            command, cwd = [sys.executable, *WORKER], self._folder
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
        if isolation != "docker":  # Docker enforces its own limits
            threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        memory_limit = self.limits.memory_gb * 2**30
        while not self._stop.wait(0.2) and self.process.poll() is None:
            if self.cgroup is not None:
                self.over_limit = self.cgroup.over(self.limits)
            else:
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
        """Kill what is left, wait for it, and remove its cgroups or the unsafe mode's folder."""
        self._stop.set()
        self.kill()
        self.process.wait()
        if self.cgroup is not None:
            self.over_limit = self.over_limit or self.cgroup.over(self.limits)
            self.cgroup.remove()
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


def _memfds(pid: int) -> dict[tuple[int, int], int]:
    """The memfds ``pid`` holds open (memory no process maps need show): (dev, inode) → bytes."""
    found = {}
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            if os.readlink(f"{folder}/{fd}").startswith("/memfd:"):
                status = os.stat(f"{folder}/{fd}")
                found[(status.st_dev, status.st_ino)] = status.st_blocks * 512
        except OSError:
            continue
    return found


def _tmpfs_used(pid: int) -> int:
    """Bytes in the sandbox's own tmpfs mounts, seen through ``pid``'s root."""
    used = 0
    for mount in ("tmp", "dev/shm", HOME.lstrip("/")):
        try:
            stats = os.statvfs(f"/proc/{pid}/root/{mount}")
            used += (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        except OSError:
            continue
    return used


def _tree_usage(root: int) -> tuple[int, int]:
    """Memory (bytes) and tasks (threads) of ``root`` and all its descendants.

    Memory is the proportional set size (pages that forked processes share, as a DataLoader's
    workers share the notebook's, count once, split between them), plus what no process
    maps: the sandbox's tmpfs files and its memfds.
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
    memory = tasks = tmpfs = 0
    memfds: dict[tuple[int, int], int] = {}
    pending, host = [root], os.stat("/").st_dev
    while pending:
        pid = pending.pop(0)
        pending += children.get(pid, [])
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
            memory += _pss(pid)
            memfds.update(_memfds(pid))
            if not tmpfs and os.stat(f"/proc/{pid}/root").st_dev != host:  # inside the sandbox
                tmpfs = _tmpfs_used(pid)
        except (OSError, IndexError, ValueError):
            continue
    return memory + sum(memfds.values()) + tmpfs, tasks
