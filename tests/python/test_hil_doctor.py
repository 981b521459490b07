"""`rmtfs-hil hil doctor` through Debian's real adb against the emulated
device: a ready board passes, each thing a board can lack is named with its
fix and fails the exit status, and the doctor leaves the board as it was."""
import json
import pathlib
import subprocess

import pytest
from conftest import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]


def doctor(rmtfs_hil, env, *args):
    return subprocess.run([str(rmtfs_hil), "hil", "doctor", *args], capture_output=True, text=True, timeout=120, env=env)


def checks_of(ran):
    return {c["name"]: c for c in (json.loads(line) for line in ran.stdout.splitlines())}


def test_a_ready_board_passes_and_is_left_as_it_was(rmtfs_hil, adb_env, device):
    ran = doctor(rmtfs_hil, adb_env, "--serial", device["serial"])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "the board is ready" in ran.stdout
    for name in ["adb", "connection", "root", "architecture", "rmtfs service", "rmtfs program", "modem remoteproc",
                 "rmtfs shared memory", "EFS partition modemst1", "EFS partition fsc", "scratch space"]:
        assert f"ok       {name}" in ran.stdout, ran.stdout
    assert "rmtfs.service active: /usr/bin/rmtfs -r -P -s" in ran.stdout
    assert "-s: it drives the modem, so --transport kernel (which stops it for the run and starts it again after) " \
        "stops and starts the modem and needs --allow-modem-restart" in ran.stdout
    log = device["log"].read_text()
    # Nothing started, stopped or written; what it pushed is gone.
    assert "BLOCK DEVICE WRITE" not in log
    assert "service rmtfs.service:" not in log, log
    assert list((device["root"] / "data/local/tmp").iterdir()) == []


def test_on_a_board_with_its_own_qrtr_the_modem_and_the_service_are_as_a_kernel_run_finds_them(
        rmtfs_hil, adb_env, start_device):
    device = start_device("--qrtr")
    ran = doctor(rmtfs_hil, adb_env, "--serial", device["serial"], "--json")
    checks = checks_of(ran)
    # rmtfs.service's rmtfs -s started the world's modem; the agent reads its state there.
    assert checks["modem remoteproc"]["status"] == "ok", checks["modem remoteproc"]
    assert checks["modem remoteproc"]["found"].endswith(": running"), checks["modem remoteproc"]
    assert "needs --allow-modem-restart" in checks["rmtfs service"]["found"], checks["rmtfs service"]
    assert "service rmtfs.service:" not in device["log"].read_text(), "the doctor stops nothing"


def test_json_lines_carry_every_check(rmtfs_hil, adb_env, device):
    ran = doctor(rmtfs_hil, adb_env, "--serial", device["serial"], "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    checks = checks_of(ran)
    assert checks["EFS partition fsg"]["status"] == "ok"
    assert checks["EFS partition fsg"]["found"] == "/dev/disk/by-partlabel/fsg, 2 MiB"
    assert all(c["agent"] == "check" for c in checks.values())


@pytest.mark.parametrize(
    "break_it, name, status, found",
    [
        (lambda root: (root / "dev/disk/by-partlabel/modemst2").unlink(), "EFS partition modemst2", "problem",
         "not found in /dev/disk/by-partlabel"),
        (lambda root: (root / "dev/qcom_rmtfs_mem1").unlink(), "rmtfs shared memory", "problem",
         "/dev/qcom_rmtfs_mem1 is missing"),
        (lambda root: (root / "sys/class/remoteproc/remoteproc0/state").write_text("crashed\n"), "modem remoteproc",
         "warning", ": crashed"),
    ],
    ids=["partition-missing", "shared-memory-missing", "modem-crashed"],
)
def test_what_a_board_lacks_is_named_with_its_fix(rmtfs_hil, adb_env, device, break_it, name, status, found):
    break_it(device["root"])
    ran = doctor(rmtfs_hil, adb_env, "--serial", device["serial"], "--json")
    check = checks_of(ran)[name]
    assert check["status"] == status and found in check["found"], check
    assert check["fix"], check
    assert ran.returncode == (1 if status == "problem" else 0), ran.stdout


def test_a_board_file_of_another_partition_size_is_a_problem(rmtfs_hil, adb_env, device, tmp_path):
    board = json.loads((REPO / "server/boards/sdm845.json").read_text())
    board["name"] = "my-845c"
    board["partitions"][3]["size"] = "0x40000"
    (tmp_path / "my-845c.json").write_text(json.dumps(board))
    ran = doctor(rmtfs_hil, adb_env, "--serial", device["serial"], "--board", str(tmp_path / "my-845c.json"))
    assert ran.returncode == 1, ran.stdout
    assert "PROBLEM  EFS partition fsc" in ran.stdout
    assert "128 KiB; the board profile my-845c says 256 KiB" in ran.stdout


def test_an_unauthorized_board_is_a_problem_with_the_key_fix(rmtfs_hil, adb_env, start_device):
    locked = start_device("--require-auth")
    ran = doctor(rmtfs_hil, adb_env, "--serial", locked["serial"])
    assert ran.returncode == 1, ran.stdout
    assert "PROBLEM  connection" in ran.stdout and "failed to authenticate" in ran.stdout, ran.stdout
    assert "adbkey.pub" in ran.stdout
    assert "  ok       root" not in ran.stdout and "PROBLEM  root" not in ran.stdout, "nothing is checked past the connection"


def test_no_board_at_the_address_is_a_problem(rmtfs_hil, adb_env):
    ran = doctor(rmtfs_hil, adb_env, "--serial", f"127.0.0.1:{free_port()}")
    assert ran.returncode == 1, ran.stdout
    assert "PROBLEM  connection" in ran.stdout and "Connection refused" in ran.stdout, ran.stdout


def test_no_adb_is_a_problem_with_how_to_install_it(rmtfs_hil, adb_env):
    ran = doctor(rmtfs_hil, adb_env, "--adb", "/nonexistent/adb")
    assert ran.returncode == 1, ran.stdout
    assert "PROBLEM  adb" in ran.stdout and "apt install adb" in ran.stdout, ran.stdout
    assert "1 check: 1 problem, 0 warnings: the board is not ready" in ran.stdout


def test_bad_arguments_are_usage_errors(rmtfs_hil, adb_env):
    for args, words in [(["--board", "pdp11"], "pdp11"), (["--frobnicate"], "--frobnicate"),
                        (["--agent", "/nonexistent/agent"], "/nonexistent/agent"), (["--serial"], "--serial")]:
        ran = doctor(rmtfs_hil, adb_env, *args)
        assert ran.returncode == 2, (args, ran.stdout, ran.stderr)
        assert words in ran.stderr, (args, ran.stderr)
