"""The hostile class of canvas_class.py graded in one run, the way a GSI would grade it.

The attacks go after a planted token in the grader's environment, a planted key in the
grader's home and a port listening on the grader's machine; what the run wrote and saw comes
back for the tests to judge (``test_attacks``, and ``test_docker`` for containers).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import canvas_class

from aelab.canvas import read_gradebook
from aelab.grading.pipeline import GradingOptions, grade_submissions
from aelab.grading.runner import RunOptions


def grade_class(out: Path, root: Path, run: RunOptions) -> SimpleNamespace:
    """Grade the class with the autograder built in ``out``, in ``root``, as ``run`` says."""
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
            out / "autograder.zip", workers=2, run=run, groups=canvas_class.GROUPS
        )
        results = root / "grades"
        summary = grade_submissions(download, results, options, gradebook, column, False)
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
