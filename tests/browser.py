"""Headless Chromium for the tests that look at pages as a person would: a screenshot and
the DOM after scripts ran. Where CI is set, a missing Chromium fails the test instead of
skipping it (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def chromium() -> str:
    """The Chromium binary; skips the test without one, or fails it under CI."""
    found = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    found = found or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must run the browser tests")
    pytest.skip("chromium not installed")


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dump_dom(url: str, profile: Path) -> str:
    """The page's DOM as Chromium built it."""
    done = _run(["--dump-dom", "--virtual-time-budget=3000", url], profile)
    assert done.stdout.strip(), f"chromium dumped no DOM for {url}: {done.stderr[-1500:]}"
    return done.stdout


def screenshot(url: str, out: Path, profile: Path, size: str = "1280,1400") -> Path:
    """A PNG of the page, checked to be a rendered page and not a blank one."""
    done = _run([f"--screenshot={out}", f"--window-size={size}", url], profile)
    assert out.exists(), f"chromium wrote no screenshot of {url}: {done.stderr[-1500:]}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 15_000, "the screenshot looks blank"
    return out
