"""The board agent as boards get it: rmtfs-hil cross-built for aarch64 and
linked statically (ci/build.sh aarch64), run here under qemu-user. It runs
the scenarios in the loopback world against this machine's rmtfs and speaks
the same lines as the agent the emulated device runs."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
AARCH64 = pathlib.Path(os.environ.get("RMTFS_HIL_AARCH64_BUILD_DIR", REPO / "build-aarch64")) / "bin" / "rmtfs-hil"
QEMU = shutil.which("qemu-aarch64-static")
RMTFS = "/usr/bin/rmtfs"
UMOCKDEV_PRELOAD = pathlib.Path("/usr/lib/x86_64-linux-gnu/libumockdev-preload.so.0")


def elf_facts(path):
    """(machine, has an interpreter) of an ELF64 little-endian file."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path} is not a 64-bit little-endian ELF"
    machine = int.from_bytes(data[18:20], "little")
    phoff, phentsize, phnum = int.from_bytes(data[32:40], "little"), int.from_bytes(data[54:56], "little"), int.from_bytes(data[56:58], "little")
    interp = any(int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4], "little") == 3 for i in range(phnum))
    return machine, interp


@pytest.fixture
def agent():
    if QEMU is None:
        pytest.skip("qemu-aarch64-static is missing (ci/setup.sh installs qemu-user-static)")
    if not AARCH64.is_file():
        pytest.skip(f"no aarch64 agent at {AARCH64}: build it with `ci/build.sh aarch64` (CI does)")
    if not os.path.exists(RMTFS) or not UMOCKDEV_PRELOAD.exists():
        pytest.skip(f"{RMTFS} or {UMOCKDEV_PRELOAD} is not installed (ci/setup.sh installs both)")
    return AARCH64


def test_the_agent_is_a_static_aarch64_program(agent):
    machine, interpreter = elf_facts(agent)
    assert machine == 183, "EM_AARCH64"
    assert not interpreter, "static: it needs nothing of the board's libraries"


def test_the_aarch64_agent_runs_scenarios_under_qemu(agent, rmtfs_hil, tmp_path):
    steps_write = [
        {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
        {"read": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
        {"expect": {"ledger": "clean"}},
    ]
    steps_dev_error = [{"request": {"message": "GET_DEV_ERROR", "partition": "/boot/modem_fs1", "expect": {"result": 0}}}]
    library = tmp_path / "lib"
    library.mkdir()
    for name, steps in (("writes-land", steps_write), ("dev-error", steps_dev_error)):
        body = {"name": name, "description": name, "targets": ["adb"], "steps": steps}
        (library / f"{name}.json").write_text(json.dumps(body))
    world = pathlib.Path(tempfile.mkdtemp(prefix="qa-", dir="/tmp"))
    # The daemon is this machine's (x86) rmtfs, so the shim it preloads is
    # this build's; the agent itself is aarch64 code under qemu.
    env = dict(os.environ, TMPDIR=str(world), RMTFS_HIL_SHIM_LIBRARY=str(rmtfs_hil.parent.parent / "lib" / "librmtfs_hil_shim.so"),
               RMTFS_HIL_UMOCKDEV_PRELOAD=str(UMOCKDEV_PRELOAD))
    try:
        ran = subprocess.run([QEMU, str(agent), "agent", "--server", RMTFS, str(library)], capture_output=True, text=True,
                             timeout=600, env=env)
    finally:
        shutil.rmtree(world, ignore_errors=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    assert lines[0]["agent"] == "hello" and lines[0]["protocol"] == 1 and lines[0]["transport"] == "loopback"
    assert lines[-1] == {"agent": "done", "interrupted": False}
    verdicts = {line["result"]["name"]: line["result"]["verdict"] for line in lines if line["agent"] == "result"}
    assert verdicts == {"writes-land": "pass", "dev-error": "fail"}, ran.stdout
