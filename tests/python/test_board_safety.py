"""What a board run must never do, shown against the emulated device through
Debian's real adb: start a daemon that would escape the world (and so write
the board's EFS), or let a scenario's values reach the board's shell as
anything but plain data."""
import json
import pathlib
import subprocess

from conftest import build_dir

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
