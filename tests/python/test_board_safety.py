"""What a board run must never do, shown against the emulated device through
Debian's real adb: start a daemon that would escape the world (and so write
the board's EFS), let a scenario's values reach the board's shell as anything
but plain data, touch the board's own rmtfs service, or leave its agent
running when the run fails, is stopped, or its host is killed."""
import json
import os
import pathlib
import signal
import subprocess
import time

from conftest import ADB, RMTFS, build_dir
from processes import daemon_pids_of

SCENARIO = {
    "name": "writes-land",
    "description": "a write and its read",
    "targets": ["sim", "adb"],
    "steps": [
        {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
        {"read": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
    ],
}


def static_daemon() -> pathlib.Path:
    return build_dir() / "bin" / "static_daemon_stand_in"


def partitions(root: pathlib.Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted((root / "dev/disk/by-partlabel").iterdir())}


def test_a_daemon_the_world_cannot_enter_is_never_started_on_the_board(rmtfs_hil, tmp_path, adb_env, device):
    (tmp_path / "s.json").write_text(json.dumps(SCENARIO))
    before = partitions(device["root"])
    ran = subprocess.run(
        [str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", "--server", str(static_daemon()),
         str(tmp_path / "s.json"), "--json", str(tmp_path / "report.json")],
        capture_output=True, text=True, timeout=300, env=adb_env,
    )
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "the agent on the board cannot run the scenarios" in ran.stderr
    assert "static_daemon_stand_in is statically linked" in ran.stderr, ran.stderr
    # Never started: no mark in the device root, every partition as it was, no write seen.
    assert not list(device["root"].rglob("static-daemon-ran"))
    assert partitions(device["root"]) == before
    assert "BLOCK DEVICE WRITE" not in device["log"].read_text()
    assert list((device["root"] / "data/local/tmp").iterdir()) == [], "the run leaves nothing on the board"


def test_the_same_daemon_is_refused_by_a_simulated_run(rmtfs_hil, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SCENARIO))
    ran = subprocess.run([str(rmtfs_hil), "run", "--server", str(static_daemon()), str(tmp_path / "s.json")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "cannot run inside the emulated world" in ran.stderr and "statically linked" in ran.stderr
    assert not (tmp_path / "static-daemon-ran").exists()


def test_scenario_values_reach_the_board_as_plain_data(rmtfs_hil, tmp_path, adb_env, device):
    hostile = tmp_path / "lib;reboot"
    hostile.mkdir()
    body = dict(SCENARIO, name="quoted")
    (hostile / "$(touch pwned) `touch pwned2`; reboot 'x'.json").write_text(json.dumps(body))
    board = json.loads((pathlib.Path(__file__).resolve().parents[2] / "server/boards/sdm845.json").read_text())
    board_file = tmp_path / "board $(touch pwned3);reboot.json"
    board_file.write_text(json.dumps(board))
    ran = subprocess.run(
        [str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", "--board", str(board_file), str(hostile),
         "--json", str(tmp_path / "report.json")],
        capture_output=True, text=True, timeout=300, env=adb_env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(s["name"], s["verdict"]) for s in report["scenarios"]] == [("quoted", "pass")]
    assert report["scenarios"][0]["file"].endswith("$(touch pwned) `touch pwned2`; reboot 'x'.json")
    log = device["log"].read_text()
    assert "reboot (" not in log, "nothing rebooted the board"
    assert "refused" not in log.split("listening on")[1], "every command line was plain words"
    for name in ["pwned", "pwned2", "pwned3"]:
        assert not list(device["root"].rglob(name)) and not (tmp_path / name).exists()


# A scenario that waits a minute for a line the daemon never writes.
SLOW = {
    "name": "slow",
    "description": "waits for what never comes",
    "targets": ["sim", "adb"],
    "timeout_ms": 120000,
    "steps": [{"wait_for": {"event": "log", "text": "a line the daemon never writes"}, "timeout_ms": 60000}],
}


def agents_running() -> bool:
    return "rmtfs-hil agent" in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


def test_the_agent_stops_at_once_when_its_host_goes_away(rmtfs_hil, tmp_path):
    (tmp_path / "slow.json").write_text(json.dumps(SLOW))
    agent = subprocess.Popen([str(rmtfs_hil), "agent", "--server", RMTFS, str(tmp_path / "slow.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        hello = json.loads(agent.stdout.readline())
        assert hello["agent"] == "hello"
        assert wait_until(lambda: daemon_pids_of(agent.pid), 30), "the scenario's daemon started"
        daemons = daemon_pids_of(agent.pid)
        agent.stdout.close()  # the host is gone; the scenario would wait a minute more
        assert agent.wait(timeout=20) == 130
        for pid in daemons:
            assert not pathlib.Path(f"/proc/{pid}").exists(), "the daemon ended with its agent"
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def service_untouched(device, env):
    # The run ended the adb server it started: connect again to ask.
    subprocess.run([ADB, "connect", device["serial"]], capture_output=True, timeout=30, env=env)
    subprocess.run([ADB, "-s", device["serial"], "wait-for-device"], capture_output=True, timeout=30, env=env)
    active = subprocess.run([ADB, "-s", device["serial"], "shell", "systemctl", "is-active", "rmtfs"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert active.stdout.strip() == "active", active
    log = device["log"].read_text()
    assert "service rmtfs.service:" not in log, "a board run never stops or starts the board's rmtfs"
    assert "BLOCK DEVICE WRITE" not in log


def test_a_failing_scenario_leaves_the_board_as_it_was(rmtfs_hil, tmp_path, adb_env, device):
    wrong = dict(SCENARIO, name="wrong", steps=SCENARIO["steps"][:1] + [
        {"read": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "b"}}}])
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    ran = subprocess.run([str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", str(tmp_path / "wrong.json")],
                         capture_output=True, text=True, timeout=300, env=adb_env)
    assert ran.returncode == 1 and "FAIL" in ran.stdout, ran.stdout + ran.stderr
    service_untouched(device, adb_env)
    assert not agents_running()
    assert list((device["root"] / "data/local/tmp").iterdir()) == []


def test_a_killed_host_leaves_no_agent_and_the_board_as_it_was(rmtfs_hil, tmp_path, adb_env, device):
    (tmp_path / "slow.json").write_text(json.dumps(SLOW))
    run = subprocess.Popen([str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", str(tmp_path / "slow.json")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=adb_env)
    assert wait_until(agents_running, 60), "the agent started on the board"
    time.sleep(1)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert wait_until(lambda: not agents_running(), 15), "the agent ends when its host is killed"
    service_untouched(device, adb_env)
