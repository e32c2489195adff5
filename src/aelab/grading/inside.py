"""What the worker sees inside any sandbox, bubblewrap or a container.

Where its package lives, its home, its command, and the only environment variables it gets.
"""

from __future__ import annotations

import sys
from pathlib import Path

STUDENT_SIDE = Path(__file__).parents[1] / "student_side"  # the worker and what it needs
HOME = "/home/student"  # the notebook's folder inside the sandbox
INSIDE = "/opt/aelab"  # where the sandbox finds STUDENT_SIDE (as the package student_side)
WORKER = ["-m", "student_side.worker"]


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
