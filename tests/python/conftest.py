"""Shared fixtures: where the built rmtfs-hil lives; emulated boards behind a private adb server."""
import importlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# The project's pytest plugin (python/pytest_rmtfs_hil.py) is loaded by the
# checkout's conftest.py: make_rig and started_rig, as users get them. Its
# rmtfs_hil_module is replaced below by one that finds the build under test.


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


# ---------------------------------------------------------------------------
# Boards through Debian's real adb, against the emulated device.

RMTFS = "/usr/bin/rmtfs"
ADB = shutil.which("adb") or "/usr/bin/adb"


def free_port() -> int:
    """A free TCP port on 127.0.0.1, never one of 5555-5585 (the adb server probes those as emulators)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not 5555 <= port <= 5585:
            return port


@pytest.fixture
def adb_env(tmp_path):
    """A private adb server (its own port, HOME for its key, TMPDIR for its log), killed at the end."""
    if not os.path.exists(ADB):
        pytest.skip("Debian's adb is not installed (ci/setup.sh installs it)")
    if not os.path.exists(RMTFS):
        pytest.skip(f"{RMTFS} is not installed (ci/setup.sh installs it)")
    home = tmp_path / "adb-home"
    home.mkdir()
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT=str(free_port()), HOME=str(home), TMPDIR=str(tmp_path))
    yield env
    subprocess.run([ADB, "kill-server"], env=env, capture_output=True, timeout=30)


@pytest.fixture
def start_device(rmtfs_hil, tmp_path, adb_env):
    """Starts emulated devices (`rmtfs-hil hil emulate ARGS...`) on free ports;
    each is a dict: serial, root, log, process. All are stopped at the end."""
    started = []

    def _start(*args):
        # Short: the agent's worlds go under its /data/local/tmp, and their
        # sockets' paths must fit 107 bytes.
        root = pathlib.Path(tempfile.mkdtemp(prefix="dr-", dir="/tmp"))
        log = tmp_path / f"device-{len(started)}.log"
        # Its log goes to the file (and to stderr, which nobody reads here: not a pipe).
        process = subprocess.Popen(
            [str(rmtfs_hil), "hil", "emulate", "--port", "0", "--root", str(root), "--log", str(log), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=adb_env,
        )
        device = {"serial": None, "root": root, "log": log, "process": process}
        started.append(device)
        line = process.stdout.readline()
        match = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        assert match, f"the emulated device said {line!r}: {log.read_text() if log.exists() else ''}"
        device["serial"] = match.group(1)
        return device

    yield _start
    hung = []
    for device in started:
        device["process"].send_signal(signal.SIGINT)
        try:
            device["process"].wait(timeout=30)
        except subprocess.TimeoutExpired:
            hung.append(device["serial"])
            device["process"].kill()
            device["process"].wait()
        shutil.rmtree(device["root"], ignore_errors=True)
    assert not hung, f"emulated devices {hung} did not stop on SIGINT within 30 s"


@pytest.fixture
def device(start_device):
    """An emulated device (sdm845) listening on a free port."""
    return start_device()
