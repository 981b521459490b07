"""Shared fixtures: where the built rmtfs-hil lives."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rmtfs_hil() -> pathlib.Path:
    """The rmtfs-hil executable of the build under test (RMTFS_HIL_BUILD_DIR, default build/)."""
    build = pathlib.Path(os.environ.get("RMTFS_HIL_BUILD_DIR", REPO / "build"))
    exe = build / "bin" / "rmtfs-hil"
    if not exe.is_file():
        pytest.fail(f"{exe} does not exist: build first (ci/build.sh) or set RMTFS_HIL_BUILD_DIR")
    return exe


@pytest.fixture
def run(rmtfs_hil):
    """Runs rmtfs-hil with arguments; returns the CompletedProcess (text mode)."""

    def _run(*args, timeout=30):
        return subprocess.run([str(rmtfs_hil), *args], capture_output=True, text=True, timeout=timeout)

    return _run
