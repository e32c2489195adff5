"""A sandbox's resource limits, and the two ways they are counted: cgroups or a watch from outside.

Where the machine lets the grader make cgroups (cgroup v1 ``memory``, ``pids`` and ``cpu``
controllers, writable as root) the kernel counts everything a sandbox holds; elsewhere the
watch adds up its processes' proportional set size, tmpfs files and memfds, and its tasks.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CGROUPS = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    """Resource limits for one graded notebook."""

    memory_gb: float = 6.0  # all of the sandbox's memory together, files in its tmpfs included
    processes: int = 64  # threads count too: a notebook has ~10, a DataLoader's workers more
    disk_mb: int = 512  # each of /tmp, /dev/shm and the home folder

    def rlimits(self, per_user: bool = True) -> dict[str, int]:
        """What the worker sets on itself before the notebook runs (inherited by its children).

        ``per_user=False`` leaves out the process limit, which the kernel counts per user (in
        bubblewrap's user namespace, the sandbox's own): in containers, whose user 65534 is
        the same in all of them, it would count the neighbours' processes too (the engine's
        ``--pids-limit`` counts the container's alone), and without a sandbox every process
        and thread of the grader's own user (a desktop has hundreds).
        """
        limits = {
            "RLIMIT_AS": int(self.memory_gb * 2**30),
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_FSIZE": self.disk_mb * 2**20,
            "RLIMIT_CORE": 0,
        }
        if not per_user:
            del limits["RLIMIT_NPROC"]
        return limits


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
        memory = self.folders["memory"]  # cgroup v1's file, or v2's (a container's)
        if max(_field(memory / "memory.oom_control", "oom_kill"),
               _field(memory / "memory.events", "oom_kill")) > 0:  # fmt: skip
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


def _tmpfs_used(pid: int, mounts: tuple[str, ...]) -> int:
    """Bytes in the sandbox's own tmpfs mounts, seen through ``pid``'s root."""
    used = 0
    for mount in mounts:
        try:
            stats = os.statvfs(f"/proc/{pid}/root/{mount}")
            used += (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        except OSError:
            continue
    return used


def tree_usage(root: int, mounts: tuple[str, ...] = ()) -> tuple[int, int]:
    """Memory (bytes) and tasks (threads) of ``root`` and all its descendants.

    Memory is the proportional set size (pages that forked processes share, as a DataLoader's
    workers share the notebook's, count once, split between them), plus what no process
    maps: the sandbox's tmpfs files (its ``mounts``, relative to its root) and its memfds.
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
                tmpfs = _tmpfs_used(pid, mounts)
        except (OSError, IndexError, ValueError):
            continue
    return memory + sum(memfds.values()) + tmpfs, tasks
