"""Shared fixtures: where the built rmtfs-hil lives."""
import importlib
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# The project's pytest plugin (python/pytest_rmtfs_hil.py): make_rig and
# started_rig, as users get them with `-p pytest_rmtfs_hil`. Its
# rmtfs_hil_module is replaced below by one that finds the build under test.
sys.path.insert(0, str(REPO / "python"))
from pytest_rmtfs_hil import make_rig, pytest_addoption, started_rig  # noqa: E402,F401


def build_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("RMTFS_HIL_BUILD_DIR", REPO / "build"))


@pytest.fixture(scope="session")
def rmtfs_hil_module():
    """The rmtfs_hil Python module of the build under test (build/python/).

    Sanitizer builds have none (a sanitized module cannot load into this
    interpreter): the tests that need it are skipped there, and the C++
    suites cover the same code under the sanitizers."""
    python_dir = build_dir() / "python"
    if not any(python_dir.glob("rmtfs_hil*.so")):
        if (build_dir() / "CMakeCache.txt").exists() and "RMTFS_HIL_SANITIZE:BOOL=ON" in (
            build_dir() / "CMakeCache.txt"
        ).read_text():
            pytest.skip("sanitizer build: the Python module is not built under sanitizers")
        pytest.fail(f"no rmtfs_hil module in {python_dir}: build first (ci/build.sh)")
    sys.path.insert(0, str(python_dir))
    return importlib.import_module("rmtfs_hil")


@pytest.fixture(scope="session")
def rmtfs_hil() -> pathlib.Path:
    """The rmtfs-hil executable of the build under test (RMTFS_HIL_BUILD_DIR, default build/)."""
    build = build_dir()
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


@pytest.fixture
def needs_rmtfs():
    """Skips a test that runs the real daemon where Debian's rmtfs is not installed."""
    if not os.path.exists("/usr/bin/rmtfs"):
        pytest.skip("/usr/bin/rmtfs is not installed (ci/setup.sh installs it)")
