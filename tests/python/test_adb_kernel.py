"""`rmtfs-hil run --target adb:SERIAL --transport kernel` end to end through
Debian's real adb, against an emulated device with its own QRTR (`hil emulate
--qrtr`): its rmtfs.service runs the real rmtfs (`-r -P -s`) in the device's
world, the agent stops it through the board's systemctl, runs each scenario
with its own daemon on the board's QRTR, and a guardian starts the service
again — after a failing scenario, Ctrl-C on the host, the host killed."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

from conftest import ADB

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def qrtr_device(start_device):
    return start_device("--qrtr")


def service_state(device, adb_env):
    """`systemctl is-active rmtfs` on the board, through adb (whose server a
    run may have stopped: connected afresh)."""
    subprocess.run([ADB, "connect", device["serial"]], capture_output=True, timeout=30, env=adb_env)
    ran = subprocess.run([ADB, "-s", device["serial"], "shell", "systemctl", "is-active", "rmtfs"],
                         capture_output=True, text=True, timeout=30, env=adb_env)
    return ran.stdout.strip()


def service_log(device):
    """The board's rmtfs.service transitions, as the device logged them."""
    return [line.split("service rmtfs.service: ", 1)[1] for line in device["log"].read_text().splitlines()
            if "service rmtfs.service: " in line]


def await_service(device, adb_env, state, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and service_state(device, adb_env) != state:
        time.sleep(0.2)
    return service_state(device, adb_env)


def board_run(rmtfs_hil, device, *args, **popen):
    return [str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", "--transport", "kernel", *map(str, args)]


def test_the_library_on_the_boards_qrtr_gives_the_simulations_verdicts(rmtfs_hil, tmp_path, adb_env, qrtr_device):
    report = tmp_path / "kernel.json"
    ran = subprocess.run(board_run(rmtfs_hil, qrtr_device, "--allow-modem-restart", LIBRARY, "--json", report, "-q"),
                         capture_output=True, text=True, timeout=900, env=adb_env)
    assert ran.returncode == 0, ran.stdout + ran.stderr  # known issues only
    board = {s["name"]: s for s in json.loads(report.read_text())["scenarios"]}
    ran_there = sorted(name for name, s in board.items() if s["verdict"] != "skip")
    assert len(ran_there) >= 20, ran_there
    for name, s in board.items():
        if s["verdict"] == "skip":
            assert "the target cannot do what the scenario needs" in s["reason"] or "for board" in s["reason"] \
                or "not for target" in s["reason"], (name, s["reason"])

    sim_report = tmp_path / "sim.json"
    sim = subprocess.run([str(rmtfs_hil), "run", "--jobs", "2", *[str(LIBRARY / f"{n}.json") for n in ran_there],
                          "--json", str(sim_report), "-q"], capture_output=True, text=True, timeout=900)
    assert sim.returncode == 0, sim.stdout + sim.stderr
    for s in json.loads(sim_report.read_text())["scenarios"]:
        got = board[s["name"]]
        assert (got["verdict"], got["known_status"]) == (s["verdict"], s["known_status"]), (s["name"], got["reason"])
    assert any(board[n]["verdict"] == "fail" for n in ran_there), "the known issues fail on the board's QRTR too"

    # Stopped once for the run, by the agent through the board's systemctl, and back.
    assert service_log(qrtr_device) == ["active -> inactive (systemctl stop rmtfs.service)",
                                        "inactive -> active (systemctl start rmtfs.service)"]
    assert service_state(qrtr_device, adb_env) == "active"
    assert "BLOCK DEVICE WRITE" not in qrtr_device["log"].read_text()


def test_a_service_that_drives_the_modem_is_left_alone_without_the_flag(rmtfs_hil, adb_env, qrtr_device):
    """The board's unit is Debian's `rmtfs -r -P -s`: stopping it stops the
    modem. Refused as the board's lack (exit 3), the service untouched."""
    ran = subprocess.run(board_run(rmtfs_hil, qrtr_device, LIBRARY / "cold-boot.json"),
                         capture_output=True, text=True, timeout=300, env=adb_env)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "stopping it stops the board's modem" in ran.stderr and "--allow-modem-restart" in ran.stderr
    assert service_log(qrtr_device) == []
    assert service_state(qrtr_device, adb_env) == "active"


def slow_library(tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    body = json.loads((LIBRARY / "cold-boot.json").read_text())
    body.update(name="slow", timeout_ms=120000)
    body["steps"] = [{"wait_for": {"event": "log", "text": "a line the daemon never writes"}, "timeout_ms": 60000}]
    (library / "slow.json").write_text(json.dumps(body))
    return library


def await_agent_running(seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "rmtfs-hil agent" in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout:
            return
        time.sleep(0.1)
    raise AssertionError("the agent never started on the device")


@pytest.mark.parametrize("how", ["ctrl-c", "host-killed"])
def test_the_service_is_back_after_ctrl_c_and_after_the_host_is_killed(rmtfs_hil, tmp_path, adb_env, qrtr_device, how):
    report = tmp_path / "r.json"
    run = subprocess.Popen(board_run(rmtfs_hil, qrtr_device, "--allow-modem-restart", slow_library(tmp_path),
                                     "--json", report),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=adb_env,
                           start_new_session=True)
    try:
        await_agent_running()
        assert await_service(qrtr_device, adb_env, "inactive", seconds=30) == "inactive", \
            "the system service ran beside the run's daemon"
        if how == "ctrl-c":
            run.send_signal(signal.SIGINT)
            out, err = run.communicate(timeout=60)
            assert run.returncode == 130, out + err
            assert json.loads(report.read_text())["interrupted"]
        else:
            # The host and its adb client gone at once: the adb server closes
            # the stream, the device ends the agent, its guardian acts.
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert await_service(qrtr_device, adb_env, "active") == "active", qrtr_device["log"].read_text()[-3000:]
    assert service_log(qrtr_device) == ["active -> inactive (systemctl stop rmtfs.service)",
                                        "inactive -> active (systemctl start rmtfs.service)"]


def test_the_matrix_on_the_boards_qrtr_says_what_it_could_not_run(rmtfs_hil, tmp_path, adb_env, qrtr_device):
    """The kernel transport has no coupling policies but the board's own: the
    matrix holds the manual row, and names the runs it skipped."""
    report = tmp_path / "m.json"
    ran = subprocess.run([str(rmtfs_hil), "matrix", "--target", f"adb:{qrtr_device['serial']}", "--transport", "kernel",
                          "--allow-modem-restart", "--filter", "sigkill", str(LIBRARY), "--json", str(report)],
                         capture_output=True, text=True, timeout=900, env=adb_env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    runs = json.loads(report.read_text())["scenarios"]
    ran_cells = {(s["name"], s["coupling"]) for s in runs if s["verdict"] != "skip"}
    assert ran_cells and {c for _, c in ran_cells} == {"manual"}, ran_cells
    table = ran.stdout.split("Coupling policy x faults")[1]
    assert "not in the matrix:" in table and " under " in table and "service-watch" in table, table
    # The service was stopped and started once per policy's agent run.
    assert service_log(qrtr_device).count("active -> inactive (systemctl stop rmtfs.service)") == 4
    assert service_state(qrtr_device, adb_env) == "active"
