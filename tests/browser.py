"""Debian's Chromium, driven by Playwright for Python (no browser download), for page tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "browser-test"
# Chromium as the probe of this machine starts it: no background network, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """Headless Chromium, or a failed test that says how to install it."""
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
