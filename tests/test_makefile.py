"""make installs into .venv only when what it would install changed."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["make", "-n", *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_an_existing_environment_is_reinstalled_only_when_its_requirements_change(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "aelab").touch()
    installed = re.search(r"^INSTALLED := (\S+)", _make(tmp_path, "-p", "test-fast"), re.M)[1]
    (tmp_path / installed).touch()  # what make wrote when it last installed
    pyproject = tmp_path / "pyproject.toml"
    pyproject.touch()  # a fresh clone: every file newer than the environment
    assert "pip install" not in _make(tmp_path, "test-fast")
    text = pyproject.read_text()
    pyproject.write_text(text.replace("an autograded PyTorch lab", "a PyTorch lab"))
    assert "pip install" not in _make(tmp_path, "test-fast")  # not a requirement
    assert "pip install" in _make(tmp_path, "test-fast", "TORCH_SPEC=torch torchvision")
    pyproject.write_text(text.replace('"numpy>=1.24",', '"numpy>=1.26",'))
    assert "pip install" in _make(tmp_path, "test-fast")
