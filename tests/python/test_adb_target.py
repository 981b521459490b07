"""`rmtfs-hil run --target adb:HOST:PORT` through Debian's real adb client and
server, against the emulated device (`rmtfs-hil hil emulate`): the agent and
the scenarios are pushed, run on the "board", and reported here with the
same verdicts as `--target sim`."""
import json
import pathlib
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

from conftest import ADB, free_port


def scenario(name, steps, **extra):
    body = {"name": name, "description": f"test scenario {name}", "targets": ["sim", "adb"], "steps": steps}
    body.update(extra)
    return body


LIBRARY = [
    scenario(
        "writes-land",
        [
            {"write": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
            {"read": {"partition": "/boot/modem_fs1", "sector": 8, "sectors": 4, "data": {"pattern": "a"}}},
            {"expect": {"ledger": "clean"}},
        ],
    ),
    # rmtfs 1.0 answers GET_DEV_ERROR for an open handle with a failure.
    scenario(
        "dev-error-of-an-open-handle",
        [{"request": {"message": "GET_DEV_ERROR", "partition": "/boot/modem_fs1", "expect": {"result": 0}}}],
    ),
    scenario(
        "survives-sigkill",
        [
            {"write": {"partition": "/boot/modem_fs2", "sector": 0, "sectors": 2, "data": {"pattern": "k"}}},
            {"daemon": "kill"},
            {"daemon": "start"},
            {"read": {"partition": "/boot/modem_fs2", "sector": 0, "sectors": 2, "data": {"pattern": "k"}}},
        ],
    ),
    {**scenario("sim-only", [{"expect": {"service": True}}]), "targets": ["sim"]},
]


def write_library(directory):
    directory.mkdir()
    for body in LIBRARY:
        (directory / f"{body['name']}.json").write_text(json.dumps(body, indent=2))
    return directory


def verdicts(report_path):
    report = json.loads(report_path.read_text())
    return {s["name"]: (s["verdict"], s["reason"]) for s in report["scenarios"]}


def test_the_same_verdicts_on_the_emulated_board_as_in_the_simulation(rmtfs_hil, tmp_path, adb_env, device):
    library = write_library(tmp_path / "lib")
    sim = subprocess.run(
        [str(rmtfs_hil), "run", str(library), "--json", str(tmp_path / "sim.json")],
        capture_output=True, text=True, timeout=300, env=adb_env,
    )
    board = subprocess.run(
        [str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", str(library),
         "--json", str(tmp_path / "adb.json"), "--junit", str(tmp_path / "adb.xml")],
        capture_output=True, text=True, timeout=300, env=adb_env,
    )
    assert board.returncode == sim.returncode == 1, board.stdout + board.stderr
    on_sim, on_board = verdicts(tmp_path / "sim.json"), verdicts(tmp_path / "adb.json")
    assert on_sim["sim-only"][0] == "pass"
    assert on_board["sim-only"] == ("skip", "not for target adb (the scenario's targets: sim)")
    for name in ("writes-land", "dev-error-of-an-open-handle", "survives-sigkill"):
        assert on_board[name] == on_sim[name], name
    assert on_board["dev-error-of-an-open-handle"][0] == "fail", "a check that fails on the board fails here"

    report = json.loads((tmp_path / "adb.json").read_text())
    failed = next(s for s in report["scenarios"] if s["name"] == "dev-error-of-an-open-handle")
    assert failed["file"] == str(library / "dev-error-of-an-open-handle.json"), "reported with its file on this host"
    assert f"--target adb:{device['serial']}" in failed["reproduce"]
    assert failed["trace"] and failed["daemon_log"], "the board's evidence came back"
    assert ET.parse(tmp_path / "adb.xml").getroot().find(".//failure") is not None
    # Nothing of the run is left on the board.
    assert not (device["root"] / "data/local/tmp/rmtfs-hil").exists()


def test_an_unreachable_board_is_an_environment_error(rmtfs_hil, tmp_path, adb_env):
    library = write_library(tmp_path / "lib")
    result = subprocess.run(
        [str(rmtfs_hil), "run", "--target", f"adb:127.0.0.1:{free_port()}", str(library)],
        capture_output=True, text=True, timeout=120, env=adb_env,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "adb connect 127.0.0.1:" in result.stderr, result.stderr


def test_ctrl_c_on_the_host_ends_the_agent_on_the_board_and_writes_the_reports(rmtfs_hil, tmp_path, adb_env, device):
    library = tmp_path / "lib"
    library.mkdir()
    never = {"wait_for": {"event": "log", "text": "a line the daemon never writes"}, "timeout_ms": 60000}
    slow = scenario("slow", [never], timeout_ms=120000)
    (library / "slow.json").write_text(json.dumps(slow))
    run = subprocess.Popen(
        [str(rmtfs_hil), "run", "--target", f"adb:{device['serial']}", str(library), "--json", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=adb_env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "rmtfs-hil agent" not in subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True
    ).stdout:
        time.sleep(0.1)
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, out + err
    assert json.loads((tmp_path / "r.json").read_text())["interrupted"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "rmtfs-hil agent" in subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True
    ).stdout:
        time.sleep(0.1)
    assert "rmtfs-hil agent" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_the_library_gives_the_same_verdicts_on_the_emulated_board(rmtfs_hil, tmp_path, adb_env, device):
    library = pathlib.Path(__file__).resolve().parents[2] / "scenarios"
    reports = {}
    for target in ("sim", f"adb:{device['serial']}"):
        report = tmp_path / f"{target.split(':')[0]}.json"
        ran = subprocess.run([str(rmtfs_hil), "run", "--target", target, "--jobs", "2", str(library), "--json", str(report)],
                             capture_output=True, text=True, timeout=900, env=adb_env)
        assert ran.returncode == 0, ran.stdout + ran.stderr  # known issues only
        reports[target.split(":")[0]] = {s["name"]: s for s in json.loads(report.read_text())["scenarios"]}
    sim, board = reports["sim"], reports["adb"]
    assert sim.keys() == board.keys() and len(sim) >= 50
    for name, result in sim.items():
        assert (board[name]["verdict"], board[name]["known_status"]) == (result["verdict"], result["known_status"]), name
    assert any(s["verdict"] == "fail" for s in board.values()), "the known issues fail on the board too"


def test_an_unread_stderr_never_stalls_the_emulated_device(rmtfs_hil, adb_env):
    """Its log goes to stderr; a pipe nobody reads fills after 64 KiB, and the device must go on."""
    device = subprocess.Popen([str(rmtfs_hil), "hil", "emulate", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=adb_env)
    try:
        serial = device.stdout.readline().split("listening on ")[1].split()[0]
        subprocess.run([ADB, "connect", serial], capture_output=True, timeout=30, env=adb_env)
        for _ in range(60):  # each logs its 8 KiB command line: far past what the pipe holds
            echoed = subprocess.run([ADB, "-s", serial, "shell", "echo", "x" * 8000], capture_output=True, text=True,
                                    timeout=30, env=adb_env)
            assert echoed.returncode == 0 and echoed.stdout == "x" * 8000 + "\n", echoed.stderr
        device.send_signal(signal.SIGINT)
        assert device.wait(timeout=15) == 0
    finally:
        if device.poll() is None:
            device.kill()
            device.wait()


def test_the_matrix_on_the_emulated_board_is_the_simulations(rmtfs_hil, tmp_path, adb_env, device):
    """`matrix --target adb`: the agent runs the fault scenarios once per
    coupling policy; every cell as in the simulation."""
    library = pathlib.Path(__file__).resolve().parents[2] / "scenarios"
    cells = {}
    for target in ("sim", f"adb:{device['serial']}"):
        report = tmp_path / f"{target.split(':')[0]}.json"
        ran = subprocess.run([str(rmtfs_hil), "matrix", "--target", target, "--filter", "sigkill", str(library),
                              "--json", str(report)], capture_output=True, text=True, timeout=900, env=adb_env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        for policy in ("manual", "rmtfs-sysfs", "mem-open", "service-watch"):
            assert f"== coupling policy {policy}" in ran.stdout
        cells[target.split(":")[0]] = {(s["name"], s["coupling"]): (s["verdict"], s["modem_up_at_end"], s["data_lost"])
                                       for s in json.loads(report.read_text())["scenarios"]}
    assert len(cells["sim"]) >= 8 and {c for _, c in cells["sim"]} == {"manual", "rmtfs-sysfs", "mem-open",
                                                                        "service-watch"}
    assert cells["adb"] == cells["sim"]
