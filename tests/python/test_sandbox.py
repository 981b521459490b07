"""`rmtfs-hil sandbox` with the real, unmodified rmtfs, qrtr-lookup and python3.

Each test runs the world the way a person would from a shell, and checks what
the real tools print. Waiting is bounded polling inside the sandboxed shell
(the tools themselves have no event to wait on).
"""
import os
import re
import shutil
import subprocess

import pytest

RMTFS = shutil.which("rmtfs") or "/usr/bin/rmtfs"
QRTR_LOOKUP = shutil.which("qrtr-lookup") or "/usr/bin/qrtr-lookup"

needs_tools = pytest.mark.skipif(
    not (os.path.exists(RMTFS) and os.path.exists(QRTR_LOOKUP)),
    reason="Debian's rmtfs and qrtr-tools are not installed (ci/setup.sh installs them)",
)

# Polls (bounded, 10 s) until qrtr-lookup lists service 14.
WAIT_FOR_RMTFS = (
    'i=0; until qrtr-lookup | grep -Eq "^ +14 +1 +0 +1 +14"; do '
    'i=$((i+1)); [ $i -gt 100 ] && { echo "service 14 never appeared" >&2; exit 99; }; sleep 0.1; done'
)
# Polls (bounded, 10 s) until the modem remoteproc reads `$1`.
WAIT_FOR_STATE = (
    'wait_state() { i=0; until [ "$(cat /sys/class/remoteproc/remoteproc0/state)" = "$1" ]; do '
    'i=$((i+1)); [ $i -gt 100 ] && { echo "state never became $1" >&2; exit 98; }; sleep 0.1; done; }'
)


def sandbox(rmtfs_hil, script, *extra, timeout=60):
    return subprocess.run(
        [str(rmtfs_hil), "sandbox", *extra, "--", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@needs_tools
def test_issue_example_lists_the_rmtfs_service(rmtfs_hil):
    # Exactly the command a new user tries first.
    result = sandbox(rmtfs_hil, 'rmtfs -v -o "$RMTFS_HIL_STORAGE" -s & sleep 1; qrtr-lookup')
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s+14\s+1\s+0\s+1\s+14\b", result.stdout, re.M), result.stdout + result.stderr


@needs_tools
def test_lookup_waits_for_the_service_without_a_fixed_sleep(rmtfs_hil):
    result = sandbox(rmtfs_hil, f'rmtfs -o "$RMTFS_HIL_STORAGE" & {WAIT_FOR_RMTFS}; qrtr-lookup 14')
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if re.match(r"^\s+14\s", line)]
    assert len(lines) == 1, result.stdout
    assert lines[0].split()[:5] == ["14", "1", "0", "1", "14"]


def test_python_socket_module_gets_node_1_port_0(rmtfs_hil):
    script = (
        "/usr/bin/python3 -c 'import socket; s=socket.socket(42, socket.SOCK_DGRAM); print(s.getsockname())'"
    )
    result = sandbox(rmtfs_hil, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 0)"


def test_python_socket_autobinds_on_first_send(rmtfs_hil):
    code = (
        "import socket\n"
        "a = socket.socket(42, socket.SOCK_DGRAM); b = socket.socket(42, socket.SOCK_DGRAM)\n"
        "b.bind((1, 0x5000))\n"
        "a.sendto(b'hello', (1, 0x5000))\n"
        "data, source = b.recvfrom(100)\n"
        "print(a.getsockname(), data, source)\n"
    )
    result = sandbox(rmtfs_hil, f"/usr/bin/python3 -c \"{code}\"")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 16384) b'hello' (1, 16384)"


@needs_tools
def test_rmtfs_dash_s_starts_and_stops_the_modem(rmtfs_hil):
    script = (
        f"{WAIT_FOR_STATE}; "
        'echo "before: $(cat /sys/class/remoteproc/remoteproc0/state)"; '
        'rmtfs -o "$RMTFS_HIL_STORAGE" -s & pid=$!; '
        "wait_state running; echo started; "
        "kill -TERM $pid; wait $pid; echo \"exit=$?\"; "
        'echo "after: $(cat /sys/class/remoteproc/remoteproc0/state)"'
    )
    result = sandbox(rmtfs_hil, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["before: offline", "started", "exit=0", "after: offline"], (
        result.stdout + result.stderr
    )


def test_sandbox_without_a_command_is_a_usage_error(rmtfs_hil):
    result = subprocess.run([str(rmtfs_hil), "sandbox"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--" in result.stderr


def test_sandbox_unknown_board_is_named(rmtfs_hil):
    result = subprocess.run(
        [str(rmtfs_hil), "sandbox", "--board", "sdm999", "--", "true"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "sdm999" in result.stderr
    assert "sdm845" in result.stderr, "the error lists the boards there are"


def test_sandbox_passes_the_exit_status_through(rmtfs_hil):
    assert sandbox(rmtfs_hil, "exit 7").returncode == 7


def test_sandbox_leaves_nothing_behind(rmtfs_hil, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    result = subprocess.run(
        [str(rmtfs_hil), "sandbox", "--", "sh", "-c", 'echo "$RMTFS_HIL_WORLD"'],
        capture_output=True, text=True, timeout=30, env=env,
    )
    assert result.returncode == 0, result.stderr
    world = result.stdout.strip()
    assert world.startswith(str(tmp_path)), world
    assert not os.path.exists(world), "the world directory is removed after the run"


def test_user_storage_directory_is_used_and_kept(rmtfs_hil, tmp_path):
    storage = tmp_path / "efs"
    storage.mkdir()
    (storage / "modem_fs1").write_bytes(b"\x5a" * 4096)
    result = sandbox(rmtfs_hil, 'ls "$RMTFS_HIL_STORAGE"', "--storage", str(storage))
    assert result.returncode == 0, result.stderr
    assert "modem_fs1" in result.stdout
    assert (storage / "modem_fs1").read_bytes() == b"\x5a" * 4096, "a user's storage is never rewritten"


def test_the_rmtfs_mem_device_ends_where_its_region_ends(rmtfs_hil):
    # As the kernel's qcom_rmtfs_mem driver: a read or write past the region
    # moves nothing, one across its end only what fits; the region never grows.
    script = (
        "import os; fd = os.open('/dev/qcom_rmtfs_mem1', os.O_RDWR); "
        "print(os.pwrite(fd, b'x' * 512, 0x200000), os.pwrite(fd, b'y' * 512, 0x1fff00), "
        "len(os.pread(fd, 512, 0x200000)), os.pread(fd, 512, 0x1fff00) == b'y' * 256, "
        "os.lseek(fd, 0, os.SEEK_END))"
    )
    result = subprocess.run(
        [str(rmtfs_hil), "sandbox", "-q", "--", "/usr/bin/python3", "-c", script],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "256", "0", "True", str(0x200000)], result.stdout


def test_a_program_that_spawns_children_with_vfork_keeps_its_sockets(rmtfs_hil):
    # Python's subprocess spawns with vfork and closes every descriptor in the
    # child: the child runs in the parent's memory, so the shim must not take
    # its closes for the parent's.
    code = (
        "import socket, subprocess\n"
        "a = socket.socket(42, socket.SOCK_DGRAM); a.bind((1, 0x5001))\n"
        "b = socket.socket(42, socket.SOCK_DGRAM); b.bind((1, 0x5002))\n"
        "subprocess.run(['true'], check=True, close_fds=True)\n"
        "subprocess.run(['true'], check=True, close_fds=True)\n"
        "b.sendto(b'still', (1, 0x5001))\n"
        "a.settimeout(5)\n"
        "print(a.getsockname(), a.recvfrom(100))\n"
    )
    result = sandbox(rmtfs_hil, f"/usr/bin/python3 -c \"{code}\"")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 20481) (b'still', (1, 20482))", result.stdout
